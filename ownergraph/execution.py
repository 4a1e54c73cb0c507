"""Run one GraphQL operation: parse, validate, execute, shape the errors, add the owners.

Documents are parsed and validated once per text (clients send the same few
documents again and again, with variables), then a query runs compiled into
its owner calls and a shaper (`resolvers.queries`), and anything the
compiler does not take (introspection, mutations) runs through graphql-core's
executor over the graph's resolvers, the reference both must agree with.
Unexpected exceptions become a bare message with INTERNAL_SERVER_ERROR
(logged with their traceback); errors written for clients keep their
message and `extensions`. Every result carries `extensions.owners`.

Cross-cutting work (limits, audit, metrics, tracing) hooks in as context
managers around each operation, entered in order and left in reverse.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from typing import Any, Protocol

from cachetools import LRUCache
from graphql import (
    ASTValidationRule,
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    execute,
    parse,
    specified_rules,
    validate,
)
from graphql.error import GraphQLSyntaxError
from graphql.pyutils import is_awaitable

from ownergraph.resolvers import is_expected, owner_extensions, reading_ahead

logger = logging.getLogger("ownergraph")

CACHED_DOCUMENTS = 256
"""Distinct query texts whose parse and validation are kept (least recently used go first)."""


@dataclass
class Operation:
    """One operation as it runs: what was asked, by whom, and (once done) what came of it."""

    query: str
    variables: Mapping[str, Any] | None
    operation_name: str | None
    context: Any
    document: DocumentNode | None = None
    definition: OperationDefinitionNode | None = None
    errors: list[GraphQLError] = field(default_factory=list)
    """Errors before execution: parsing, validation, the operation's choice."""
    result: ExecutionResult | None = None

    @property
    def all_errors(self) -> list[GraphQLError]:
        return list(self.result.errors or []) if self.result is not None else list(self.errors)

    @property
    def executed(self) -> bool:
        return self.result is not None and self.definition is not None


Hook = Callable[[Operation], AbstractContextManager[None]]
"""Something to do around every operation: audit, metrics, tracing."""


class Compiled(Protocol):
    """Runs the operations it can compile; None for one graphql-core must run."""

    async def execute(
        self,
        document: DocumentNode,
        definition: OperationDefinitionNode,
        context: Any,
        variables: Mapping[str, Any] | None,
    ) -> ExecutionResult | None: ...


class DifferentialMismatch(AssertionError):
    """The compiled path and graphql-core's answered one operation differently."""


class NotAllowed(Exception):
    """The operation is of a type this request may not run (a mutation over GET)."""

    def __init__(self, operation_type: OperationType) -> None:
        self.operation_type = operation_type
        super().__init__(operation_type.value)


class Executor:
    """Runs operations against one executable schema."""

    def __init__(
        self,
        schema: GraphQLSchema,
        *,
        rules: Sequence[type[ASTValidationRule]] = (),
        max_tokens: int | None = None,
        hooks: Sequence[Hook] = (),
        cache_size: int = CACHED_DOCUMENTS,
        compiled: Compiled | None = None,
        differential: bool = False,
    ) -> None:
        """`compiled` runs what it can compile; with `differential`, graphql-core runs it
        again over the same loads and any difference raises `DifferentialMismatch`."""
        self.schema = schema
        self.compiled = compiled
        self.differential = differential
        self.rules = (*specified_rules, *rules)
        self.max_tokens = max_tokens
        self.hooks = tuple(hooks)
        self._documents: LRUCache[str, DocumentNode | GraphQLError] = LRUCache(cache_size)
        self._validated: LRUCache[str, list[GraphQLError]] = LRUCache(cache_size)

    async def run(
        self,
        query: str,
        variables: Mapping[str, Any] | None,
        operation_name: str | None,
        context: Any,
        allowed: Collection[OperationType] = (OperationType.QUERY, OperationType.MUTATION),
    ) -> tuple[Operation, dict[str, Any]]:
        """Run the operation; its record and the response body (`data`, `errors`, `extensions`).

        `NotAllowed` is raised, before anything runs, for an operation of a
        type not in `allowed`.
        """
        operation = Operation(query, variables, operation_name, context)
        with ExitStack() as hooks:
            for hook in self.hooks:
                hooks.enter_context(hook(operation))
            await self._run(operation, allowed)
        return operation, self.response(operation)

    async def _run(self, operation: Operation, allowed: Collection[OperationType]) -> None:
        document = self.parsed(operation.query)
        if isinstance(document, GraphQLError):
            operation.errors = [document]
            return
        operation.document = document
        definition, problem = _choose(document, operation.operation_name)
        if definition is not None and definition.name is not None:
            # Named by its document when the request did not name it.
            operation.operation_name = definition.name.value
        errors = self.validated(operation.query, document)
        if errors:
            operation.errors = errors
            return
        if problem is not None or definition is None:
            operation.errors = [GraphQLError(problem or "No operation to run.")]
            return
        if definition.operation not in allowed:
            raise NotAllowed(definition.operation)
        operation.definition = definition
        result = None
        if self.compiled is not None:
            result = await self.compiled.execute(
                document, definition, operation.context, operation.variables
            )
            if result is not None and self.differential:
                await self._compare(operation, document, result)
        if result is None:
            result = await self._reference(operation, document, operation.context)
        operation.result = result
        if result.errors and result.data is None and not any(e.path for e in result.errors):
            # Variables that could not be coerced: nothing ran.
            operation.definition = None

    async def _reference(
        self, operation: Operation, document: DocumentNode, context: Any
    ) -> ExecutionResult:
        """The operation run by graphql-core's executor over the graph's resolvers."""
        result = execute(
            self.schema,
            document,
            variable_values=dict(operation.variables) if operation.variables else None,
            operation_name=operation.operation_name,
            context_value=context,
        )
        if is_awaitable(result):
            result = await result
        assert isinstance(result, ExecutionResult)
        return result

    async def _compare(
        self, operation: Operation, document: DocumentNode, compiled: ExecutionResult
    ) -> None:
        context = operation.context
        asked = context.report.calls
        replica = context.replica()
        with reading_ahead():
            reference = await self._reference(operation, document, replica)
        problems = differences(compiled, reference)
        more = context.report.calls - asked + replica.report.calls
        if more:
            problems.append(f"graphql-core's run asked owners {more} more time(s)")
        if problems:
            raise DifferentialMismatch(
                f"operation {operation.operation_name or '(unnamed)'}: "
                + "; ".join(problems)
                + f"\ncompiled:  {_shown(compiled)}\nreference: {_shown(reference)}"
            )

    def parsed(self, query: str) -> DocumentNode | GraphQLError:
        """The document of `query` (or its syntax error), parsed once per text."""
        known = self._documents.get(query)
        if known is None:
            try:
                known = parse(query, max_tokens=self.max_tokens)
            except GraphQLSyntaxError as error:
                known = error
            self._documents[query] = known
        return known

    def operation_type(self, query: str, operation_name: str | None) -> OperationType | None:
        """The type of the operation `query` would run, or None when it would run none."""
        document = self.parsed(query)
        if isinstance(document, GraphQLError):
            return None
        definition, _ = _choose(document, operation_name)
        return definition.operation if definition is not None else None

    def validated(self, query: str, document: DocumentNode) -> list[GraphQLError]:
        """The validation errors of `document`, found once per text."""
        errors = self._validated.get(query)
        if errors is None:
            errors = validate(self.schema, document, self.rules)
            self._validated[query] = errors
        return errors

    def response(self, operation: Operation) -> dict[str, Any]:
        """The response body: `data` once something ran, client-safe `errors`, `extensions`."""
        errors = operation.all_errors
        body: dict[str, Any] = {}
        if operation.executed:
            assert operation.result is not None
            body["data"] = operation.result.data
        if errors:
            body["errors"] = [_formatted(error) for error in errors]
        body["extensions"] = owner_extensions(operation.context, errors)
        return body


def _choose(
    document: DocumentNode, name: str | None
) -> tuple[OperationDefinitionNode | None, str | None]:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        if len(operations) == 1:
            return operations[0], None
        if not operations:
            return None, "The document holds no operation to run."
        return None, (
            "Cannot tell which operation to run: the document must hold exactly one "
            "operation, or 'operationName' must name one."
        )
    for operation in operations:
        if operation.name is not None and operation.name.value == name:
            return operation, None
    return None, f"Unknown operation named {name!r}."


def _formatted(error: GraphQLError) -> dict[str, Any]:
    if is_expected(error):
        logger.debug("%s at %s", error.message, error.path)
        return dict(error.formatted)
    logger.error("unexpected error at %s", error.path, exc_info=error.original_error)
    masked: dict[str, Any] = {"message": "Unexpected error."}
    formatted = error.formatted
    if "locations" in formatted:
        masked["locations"] = formatted["locations"]
    if "path" in formatted:
        masked["path"] = formatted["path"]
    masked["extensions"] = {"code": "INTERNAL_SERVER_ERROR"}
    return masked


def differences(compiled: ExecutionResult, reference: ExecutionResult) -> list[str]:
    """How two results of one operation differ, where the GraphQL spec lets them not.

    `data` must be equal. Errors at a position the data holds (a null) must be
    the same errors; an error inside a subtree nulled by a non-null field need
    only null the same subtree: which of its fields' errors are reported
    depends on the order fields finish in, which the spec leaves open.
    """
    problems = []
    if compiled.data != reference.data:
        problems.append("the data differ")
    mine, theirs = _errors_of(compiled), _errors_of(reference)
    if mine[0] != theirs[0]:
        problems.append("the errors at null fields differ")
    if mine[1] != theirs[1]:
        problems.append("different subtrees were nulled")
    return problems


def _errors_of(result: ExecutionResult) -> tuple[list[str], set[tuple[Any, ...]]]:
    at: list[str] = []
    nulled: set[tuple[Any, ...]] = set()
    for error in result.errors or ():
        path = tuple(error.path or ())
        inside = _nulled_above(result.data, path) if path else None
        if inside is None:
            shown = dict(error.formatted)
            shown["expected"] = is_expected(error)
            at.append(repr(sorted(shown.items())))
        else:
            nulled.add(inside)
    return sorted(at), nulled


def _nulled_above(data: Any, path: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """The position above `path` whose value is null, if the data lacks `path` itself."""
    value = data
    for depth, step in enumerate(path):
        if value is None:
            return path[:depth]
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            return path[:depth]
    return None


def _shown(result: ExecutionResult) -> str:
    return repr({"data": result.data, "errors": [e.formatted for e in result.errors or ()]})


def iter_hooks(*hooks: Hook | None) -> Iterator[Hook]:
    """The hooks given, in order, leaving out the ones that are not there."""
    for hook in hooks:
        if hook is not None:
            yield hook
