"""Write a compiled operation's response from what the owners sent, with no waiting.

Once the waves are in, every value is a lookup in a record: the shaper walks
the compiled tree once, synchronously, and writes the response as
graphql-core's executor would: aliases, `__typename`, lists, the scalars'
and enums' output coercion, a field's error at its path with its field
nodes' locations, null propagated to the nearest nullable parent. Each kind
of step reads its value with the same functions the resolvers use
(`record_now` is `load_record` without the await), so both paths answer
alike; the differential tests hold them to it.

Two things differ, both allowed by the GraphQL spec: errors come in document
order (graphql-core's follow the order its awaits finish), and a subtree
nulled by a non-null field's error reports that error alone (graphql-core
also keeps the errors of siblings that happened to finish first).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLError, located_error
from graphql.pyutils import Path

from .compiled import Kind, Output, Selection, Step
from .context import Context, NotLoaded
from .errors import Forbidden
from .owned import EntityRef, fresh, linked_now, record_now, settled_or_error
from .plan import Record
from .roots import existing
from .waves import Waves


class Shaper:
    """Shapes one request's response from its waves' loads."""

    def __init__(self, context: Context, waves: Waves) -> None:
        self.context = context
        self.waves = waves
        self.errors: list[tuple[GraphQLError, tuple[Any, ...]]] = []

    # Each kind's value function takes the step, its source and the path of the
    # object the step belongs to (None at the root).

    def response(self, root: Selection) -> dict[str, Any] | None:
        """The operation's `data` (None when an error nulled it whole); errors in `self.errors`."""
        try:
            return self.object(root, None, None)
        except GraphQLError as error:
            self._add(error, ())
            return None

    def object(self, selection: Selection, source: Any, path: Path | None) -> dict[str, Any]:
        """The fields of one object; `path` is the object's, each step's made only if needed."""
        out: dict[str, Any] = {}
        values = _VALUES
        for step in selection.steps:
            try:
                value = values[step.kind](self, step, source, path)
                output = step.output
                fast = output.fast
                if fast is not None and type(value) is fast:
                    out[step.key] = value  # a string or a flag: nothing to complete
                else:
                    out[step.key] = self.complete(output, step, value, path, step.key)
            except NotLoaded:
                raise
            except Exception as raw:
                at = Path(path, step.key, step.parent)
                out[step.key] = self.field_error(raw, step.output, step, at)
        return out

    def field_error(self, raw: Exception, output: Output, step: Step, path: Path) -> Any:
        """Null for the field, its error recorded; raised on when the field may not be null."""
        error = located_error(raw, list(step.nodes), path.as_list())
        if output.non_null:
            raise error
        self._add(error, tuple(path.as_list()))
        return None

    def _add(self, error: GraphQLError, at: tuple[Any, ...]) -> None:
        # A position nulled by a non-null field's error: what its subtree said is moot.
        if self.errors and error.path is not None and len(error.path) > len(at):
            depth = len(at)
            self.errors = [
                (known, where)
                for known, where in self.errors
                if len(where) <= depth or where[:depth] != at
            ]
        self.errors.append((error, at))

    def complete(
        self, output: Output, step: Step, value: Any, parent: Path | None, key: str | int
    ) -> Any:
        """`value` completed as `output` says, at `key` under `parent`."""
        if value is None:
            if output.non_null:
                raise TypeError(
                    f"Cannot return null for non-nullable field {step.parent}.{step.name}."
                )
            return None
        fast = output.fast
        if fast is not None and type(value) is fast:
            return value
        if output.leaf is not None:
            coerced = output.leaf.coerce_output_value(value)
            if coerced is None:
                raise TypeError(
                    f"Expected `{output.leaf}.coerce_output_value({value!r})` to return "
                    "non-nullable value, returned: None"
                )
            return coerced
        path = Path(parent, key, step.parent if isinstance(key, str) else None)
        item = output.list_of
        if item is None:
            assert output.selection is not None
            return self.object(output.selection, value, path)
        if isinstance(value, str | bytes | dict) or not hasattr(value, "__iter__"):
            raise GraphQLError(
                f"Expected Iterable, but did not find one for field '{step.parent}.{step.name}'."
            )
        completed = []
        fast = item.fast
        for index, entry in enumerate(value):
            if fast is not None and type(entry) is fast:
                completed.append(entry)
                continue
            try:
                completed.append(self.complete(item, step, entry, path, index))
            except NotLoaded:
                raise
            except Exception as raw:
                completed.append(self.field_error(raw, item, step, path.add_key(index, None)))
        return completed

    # -- each kind's value -------------------------------------------------------------

    def _typename(self, step: Step, source: Any, path: Path | None) -> Any:
        return step.parent

    def _key(self, step: Step, source: EntityRef, path: Path | None) -> Any:
        plan = step.plan
        assert plan is not None
        if not plan.allowed:
            raise Forbidden(plan.ownership.coordinate)
        return source.key

    def _owned(self, step: Step, source: EntityRef, path: Path | None) -> Any:
        # `owned_value`, from what the waves loaded.
        plan = step.plan
        assert plan is not None
        if not plan.allowed:
            raise Forbidden(plan.ownership.coordinate)
        if step.own_key:
            record = self.waves.loader(step).settled(source.key)
        else:
            record = record_now(self.context, plan, source, self.waves.params(step))
        if type(record) is not dict:
            record = fresh(self.context, plan, Path(path, step.key, step.parent).as_list, record)
            if record is None:
                return None
        value = plan.value(record)
        if plan.size_arg is not None and isinstance(value, list):
            size = self.waves.arguments(step).get(plan.size_arg)
            if size is not None:
                value = value[:size]
        if plan.link is None:
            return value
        return linked_now(self.context, plan.link, value)

    def _composed(self, step: Step, source: EntityRef, path: Path | None) -> Any:
        plan = step.plan
        assert plan is not None
        if not plan.allowed:
            raise Forbidden(plan.ownership.coordinate)
        found = self.waves.composed.get((step.index, source.key))
        if found is None:
            raise NotLoaded(plan.owner, plan.ownership.coordinate, source.key)
        if isinstance(found, Exception):
            raise found
        return found

    def _value(self, step: Step, source: Record, path: Path | None) -> Any:
        assert step.getter is not None
        return step.getter(source.raw)

    def _part(self, step: Step, source: Any, path: Path | None) -> Any:
        return getattr(source, step.attribute)

    def _root(self, step: Step) -> Any:
        outcome = self.waves.roots.get(step.index)
        if outcome is None:
            raise NotLoaded("root", step.name, "")
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def _root_one(self, step: Step, source: Any, path: Path | None) -> Any:
        return self._found(step)[0]

    def _root_many(self, step: Step, source: Any, path: Path | None) -> Any:
        return self._found(step)

    def _found(self, step: Step) -> list[EntityRef | None]:
        # `_find`'s answer: each key's entity if its identity owner knows it (or cannot say).
        keys, refs = self._root(step)
        if not refs:
            return [None] * len(keys)
        spec = step.spec
        assert spec is not None and spec.root.entity is not None
        identity = self.context.plan.field(
            spec.root.entity, self.context.gateway.ownership.types[spec.root.entity].key
        )
        loader = self.context.loader(identity)
        found = {ref.key: existing(ref, settled_or_error(loader, ref.key)) for ref in refs}
        return [found.get(key) for key in keys]

    def _root_lookup(self, step: Step, source: Any, path: Path | None) -> Any:
        result = self._root(step)
        spec = step.spec
        assert spec is not None and spec.shape is not None
        shape = spec.shape.value
        if shape == "answer":
            return result
        if shape == "matches":
            return result.matches
        if shape == "best":
            return result.best
        return [match.entity for match in result.matches]


# Each kind's value function, indexed by `Kind`: plain functions of the class, not
# bound methods kept on the instance, which would make every shaper a cycle that
# only the garbage collector frees.
_VALUES: tuple[Callable[[Shaper, Step, Any, Path | None], Any], ...] = (
    Shaper._typename,
    Shaper._key,
    Shaper._owned,
    Shaper._composed,
    Shaper._value,
    Shaper._part,
    Shaper._root_one,
    Shaper._root_many,
    Shaper._root_lookup,
)
assert len(_VALUES) == len(Kind)
