"""Start every owner call a compiled operation needs, wave by wave, and say when all are in.

The first wave is known from the request alone: the roots' keys, every owner
keyed by the entities' own keys. Every later one is known from an answer (a
crosswalk code, the keys a link holds, what a lookup found) and starts from
the callback of that answer, the moment it arrives, so a query costs one
request per owner per wave however deep its dependencies go (the same calls
the resolvers' `Prefetch` starts, through the same per-request loaders).

Unlike the prefetch, this is exact, not a head start: the shaper reads
every value it needs from the loaders without waiting, so the waves start
every load it will read and `wait()` returns once the last is in.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

from graphql.execution.values import VariableValues, get_argument_values

from ownergraph.ownership import Lookup

from .absence import QUIET
from .compiled import Kind, Output, Selection, Step
from .context import Context, OwnerLoader, Params
from .errors import BadUserInput
from .lookups import answer, ask, match_value, normalised
from .matching import Evidence, merge
from .owned import EntityRef, fresh, key_now, params_for, record_now
from .plan import FieldPlan
from .roots import checked_key, identity_plan

logger = logging.getLogger("ownergraph")

_UNSET: Any = object()


class Waves:
    """The owner calls of one compiled operation for one request, and their answers.

    Per-request values the waves and the shaper share live here: each step's
    arguments and owner parameters (or the error computing them raised), each
    root's outcome, each composed field's matches.
    """

    def __init__(self, context: Context, steps: int, variables: VariableValues) -> None:
        self.context = context
        self.ownership = context.gateway.ownership
        self.plan = context.plan
        self.variables = variables
        self._args: list[Any] = [_UNSET] * steps
        self._params: list[Any] = [_UNSET] * steps
        self._loaders: list[OwnerLoader | None] = [None] * steps
        self.roots: dict[int, Any] = {}
        """Per root step: the keys asked and the refs found, a lookup's answer, or an error."""
        self.composed: dict[tuple[int, str], Any] = {}
        """Per composed step and entity key: the matches, or the error that stopped them."""
        self._pending = 0
        self._dirty: dict[OwnerLoader, None] = {}
        self._done: asyncio.Future[None] | None = None
        self.broken: BaseException | None = None
        """An unexpected error in a callback: the shaper cannot trust what is loaded."""

    # -- what the shaper shares --------------------------------------------------------

    def arguments(self, step: Step) -> dict[str, Any]:
        """The step's coerced arguments (raises the error coercing them raised)."""
        if step.args is not None:
            return dict(step.args)
        known = self._args[step.index]
        if known is _UNSET:
            assert step.definition is not None
            try:
                known = get_argument_values(step.definition, step.nodes[0], self.variables)
            except Exception as error:
                known = error
            self._args[step.index] = known
        if isinstance(known, Exception):
            raise known
        return dict(known)

    def params(self, step: Step) -> Params:
        """The owner's parameters for an owned step (raises BadUserInput for bad arguments)."""
        known = self._params[step.index]
        if known is _UNSET:
            assert step.plan is not None
            try:
                known = params_for(step.plan, self.arguments(step))
            except Exception as error:
                known = error
            self._params[step.index] = known
        if isinstance(known, Exception):
            raise known
        return known  # type: ignore[no-any-return]

    def loader(self, step: Step) -> OwnerLoader:
        """The loader an owned step reads from (raises what its parameters raise)."""
        known = self._loaders[step.index]
        if known is None:
            assert step.plan is not None
            known = self.context.loader(step.plan, self.params(step))
            self._loaders[step.index] = known
        return known

    # -- running -----------------------------------------------------------------------

    def start(self, root: Selection) -> None:
        """Start the first wave: every root's loads."""
        for step in root.steps:
            if step.kind in (Kind.ROOT_ONE, Kind.ROOT_MANY):
                self._guard(self.root_entities, step)
            elif step.kind is Kind.ROOT_LOOKUP:
                self._guard(self.root_lookup, step)
        self._flush()

    async def wait(self) -> None:
        """Return once every load started (and every one those started) is in."""
        if self._pending:
            self._done = asyncio.get_running_loop().create_future()
            await self._done

    def _guard(self, action: Callable[..., None], *args: Any) -> None:
        # Reading ahead: what the shaper reads again is counted once, there.
        token = QUIET.set(True)
        try:
            action(*args)
        except Exception as error:  # a bug here must not hang the request
            logger.exception("the waves of a compiled operation failed")
            self.broken = error
        finally:
            QUIET.reset(token)

    def load(self, loader: OwnerLoader, key: str) -> asyncio.Future[Any]:
        future = loader.load(key)
        if not future.done():
            self._dirty[loader] = None
        return future

    def when(self, futures: Sequence[asyncio.Future[Any]], then: Callable[[], None]) -> None:
        """Call `then` once all of `futures` are done: now, if they are."""
        waiting = [f for f in futures if not f.done()]
        if not waiting:
            then()
            return
        self._pending += 1
        remaining = len(waiting)

        def one_done(_future: asyncio.Future[Any]) -> None:
            nonlocal remaining
            remaining -= 1
            if remaining:
                return
            self._guard(then)
            self._flush()
            self._pending -= 1
            if self._pending == 0 and self._done is not None and not self._done.done():
                self._done.set_result(None)

        for future in waiting:
            future.add_done_callback(one_done)

    def _flush(self) -> None:
        """Ask the owners for every key queued since the last flush, now."""
        dirty, self._dirty = self._dirty, {}
        for loader in dirty:
            loader.dispatch_now()

    # -- roots -------------------------------------------------------------------------

    def root_entities(self, step: Step) -> None:
        spec = step.spec
        assert spec is not None and spec.root.entity is not None
        root, type_name = spec.root, spec.root.entity
        try:
            given = self.arguments(step)[root.by]
            if spec.many:
                if root.maximum is not None and len(given) > root.maximum:
                    raise BadUserInput(
                        root.by, f"at most {root.maximum} keys per query, got {len(given)}"
                    )
                keys = [checked_key(root.by, key) for key in given]
            else:
                keys = [checked_key(root.by, given)]
            identity = identity_plan(self.context, type_name)
        except Exception as error:
            self.roots[step.index] = error
            return
        pattern = identity.ownership.pattern
        possible = [k for k in keys if pattern is None or re.fullmatch(pattern, k)]
        refs = [EntityRef(type_name, k) for k in dict.fromkeys(possible)]
        self.context.entities.update(possible)
        self.walk(_selection(step.output), refs)
        loader = self.context.loader(identity)
        self.when([self.load(loader, ref.key) for ref in refs], _nothing)
        self.roots[step.index] = (keys, refs)

    def root_lookup(self, step: Step) -> None:
        spec = step.spec
        assert spec is not None and spec.lookup is not None
        lookup, argument = spec.lookup, spec.root.by
        try:
            identity_plan(self.context, lookup.finds)
            value = normalised(self.context, lookup, argument, self.arguments(step)[argument])
        except Exception as error:
            self.roots[step.index] = error
            return
        asked = asyncio.ensure_future(ask(self.context, lookup, value))

        def found() -> None:
            try:
                result = answer(lookup, value, asked.result())
            except Exception as error:
                self.roots[step.index] = error
                return
            self.context.entities.update(match.entity.key for match in result.matches)
            refs = [match.entity for match in result.matches]
            selection = _selection(step.output)
            for under in selection.entities or [selection]:
                self.walk(under, refs)
            self.roots[step.index] = result

        self.when([asked], found)

    # -- entities ------------------------------------------------------------------------

    def walk(self, selection: Selection, refs: Sequence[EntityRef]) -> None:
        """Start what `selection`'s steps need for `refs` (entities of its type)."""
        if not refs:
            return
        for step in selection.loads:
            if step.kind is Kind.OWNED:
                self.owned(step, refs)
            else:
                self.composed_field(step, refs)

    def owned(self, step: Step, refs: Sequence[EntityRef]) -> None:
        plan = step.plan
        assert plan is not None
        if not plan.allowed:
            return
        try:
            params = self.params(step)
        except Exception:
            return  # the shaper reports it, at the field
        linked = plan.link is not None

        def fetched() -> None:
            self.follow(step, plan, params, refs)

        self.records(plan, params, refs, fetched if linked else None)

    def records(
        self,
        plan: FieldPlan,
        params: Params,
        refs: Sequence[EntityRef],
        then: Callable[[], None] | None,
    ) -> None:
        """Load `plan`'s records for `refs` (their keys first, if a crosswalk); then `then`."""

        def keyed(keys: list[Any]) -> None:
            loader = self.context.loader(plan, params)
            futures: list[asyncio.Future[Any]] = []
            for key in keys:
                if isinstance(key, list):
                    futures.extend(self.load(loader, k) for k in key)
                elif key is not None:
                    futures.append(self.load(loader, key))
            self.when(futures, then or _nothing)

        self.keys(plan, refs, keyed)

    def keys(
        self, plan: FieldPlan, refs: Sequence[EntityRef], then: Callable[[list[Any]], None]
    ) -> None:
        """The keys `plan`'s owner knows `refs` by, to `then`: now, or once a crosswalk is in."""
        type_name = refs[0].type_name
        if plan.ownership.key == self.ownership.types[type_name].key:
            then([ref.key for ref in refs])
            return
        key_plan = self.plan.field(type_name, plan.ownership.key)
        if key_plan.ownership.entity is None:
            then([None] * len(refs))
            return

        def crosswalked() -> None:
            then([self._quietly(key_now, plan, ref) for ref in refs])

        self.records(key_plan, (), refs, crosswalked)

    def follow(
        self, step: Step, plan: FieldPlan, params: Params, refs: Sequence[EntityRef]
    ) -> None:
        """A link's records are in: start what its entities' selected fields need."""
        assert plan.link is not None
        size = self._size(step, plan)
        targets: dict[str, None] = {}
        for ref in refs:
            try:
                loaded = record_now(self.context, plan, ref, params, report=False)
                record = fresh(None, plan, list, loaded)
                value = plan.value(record) if record is not None else None
            except Exception:
                continue  # the shaper reports it, at the field
            if size is not None and isinstance(value, list):
                value = value[:size]
            for key in value if isinstance(value, list) else [value]:
                if key is not None:
                    targets[key] = None
        self.entities(plan.link, [EntityRef(plan.link, key) for key in targets], step.output)

    def entities(self, type_name: str, refs: list[EntityRef], output: Output) -> None:
        """Ask whether `refs` exist (with their identity owner) and what their fields need."""
        if not refs:
            return
        identity = self.plan.field(type_name, self.ownership.types[type_name].key)
        if identity.ownership.entity is not None:
            loader = self.context.loader(identity)
            self.when([self.load(loader, ref.key) for ref in refs], _nothing)
        self.walk(_selection(output), refs)

    def _size(self, step: Step, plan: FieldPlan) -> int | None:
        if plan.size_arg is None:
            return None
        try:
            size = self.arguments(step).get(plan.size_arg)
        except Exception:
            return None
        return size if isinstance(size, int) else None

    def _quietly(self, read: Callable[..., Any], plan: FieldPlan, ref: EntityRef) -> Any:
        try:
            return read(self.context, plan, ref, report=False)
        except Exception:
            return None  # the shaper reports it, at the field

    # -- composed fields -------------------------------------------------------------------

    def composed_field(self, step: Step, refs: Sequence[EntityRef]) -> None:
        """What the field's own lookups find by each entity's values (`composed_matches`)."""
        plan = step.plan
        assert plan is not None and plan.ownership.lookup is not None
        if not plan.allowed:
            return
        type_name = refs[0].type_name
        sources = [
            (self.ownership.lookups[name], field_name, self.plan.field(type_name, field_name))
            for name, field_name in plan.ownership.lookup.items()
        ]
        remaining = len(sources)

        def one_loaded() -> None:
            nonlocal remaining
            remaining -= 1
            if remaining == 0:
                self._search(step, plan, sources, refs)

        for _, _, source_plan in sources:
            self.records(source_plan, (), refs, one_loaded)

    def _search(
        self,
        step: Step,
        plan: FieldPlan,
        sources: list[tuple[Lookup, str, FieldPlan]],
        refs: Sequence[EntityRef],
    ) -> None:
        searches: dict[str, list[tuple[Lookup, asyncio.Future[list[Evidence]]]]] = {}
        for ref in refs:
            try:
                searches[ref.key] = self._searches(plan, sources, ref)
            except Exception as error:
                self.composed[(step.index, ref.key)] = error
        tasks = [task for found in searches.values() for _, task in found]

        def matched() -> None:
            everyone: dict[str, None] = {}
            for key, found in searches.items():
                if not found:
                    self.composed[(step.index, key)] = []
                    continue
                evidence = [item for _, task in found for item in task.result()]
                lookup = found[0][0]
                others = [m for m in merge(evidence) if m.key != key]
                self.context.entities.update(m.key for m in others)
                self.composed[(step.index, key)] = [match_value(lookup, m) for m in others]
                everyone.update((m.key, None) for m in others)
            matches = [EntityRef(sources[0][0].finds, k) for k in everyone]
            for under in _selection(step.output).entities:
                self.walk(under, matches)

        self.when(tasks, matched)

    def _searches(
        self, plan: FieldPlan, sources: list[tuple[Lookup, str, FieldPlan]], ref: EntityRef
    ) -> list[tuple[Lookup, asyncio.Future[list[Evidence]]]]:
        found: list[tuple[Lookup, asyncio.Future[list[Evidence]]]] = []
        for lookup, field_name, source_plan in sources:
            # As `composed_matches` reads them: a failed source field fails the field.
            record = fresh(None, source_plan, list, record_now(self.context, source_plan, ref, ()))
            values = source_plan.value(record) if isinstance(record, dict) else None
            owners = [owner for owner in lookup.owners if owner.owner == plan.owner]
            for value in dict.fromkeys(
                values if isinstance(values, list) else [values] if values else []
            ):
                try:
                    written = normalised(self.context, lookup, field_name, str(value))
                except BadUserInput:
                    continue
                task = asyncio.ensure_future(ask(self.context, lookup, written, owners))
                found.append((lookup, task))
        return found


def _nothing() -> None:
    pass


def _selection(output: Output) -> Selection:
    while output.list_of is not None:
        output = output.list_of
    assert output.selection is not None
    return output.selection
