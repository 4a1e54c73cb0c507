"""Run query operations compiled: coerce the variables, start the waves, shape the answer.

`CompiledQueries.execute` answers an operation as graphql-core's `execute`
would (an `ExecutionResult`), or None when the operation is one only
graphql-core runs (introspection, a mutation...): the caller then runs it
there, with the same context, so nothing loaded is asked for again.
Compiled trees are kept per document text, operation, roles and values of
the `@skip`/`@include` variables, least recently used first out.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from cachetools import LRUCache
from graphql import DocumentNode, ExecutionResult, OperationDefinitionNode
from graphql.execution.values import get_variable_values

from .compiled import CompiledOperation, Compiler, Unsupported, conditions_of
from .context import Context, NotLoaded
from .shaper import Shaper
from .waves import Waves

logger = logging.getLogger("ownergraph")

CACHED_OPERATIONS = 512
"""Compiled trees kept: (document, operation, roles, condition values) each."""
MAX_COERCION_ERRORS = 50
"""As graphql-core's `execute`: variable errors reported before it stops counting."""


class CompiledQueries:
    """Compiles and runs the query operations of one graph."""

    def __init__(self, compiler: Compiler, cache_size: int = CACHED_OPERATIONS) -> None:
        self.compiler = compiler
        self.schema = compiler.schema
        # Keyed by identity (a node's own hash walks the whole tree): each entry
        # holds what its ids are of, so no id is reused while the entry lives.
        self._compiled: LRUCache[tuple[Any, ...], tuple[Any, Any, CompiledOperation | Unsupported]]
        self._compiled = LRUCache(cache_size)
        self._conditions: LRUCache[int, tuple[OperationDefinitionNode, tuple[str, ...]]]
        self._conditions = LRUCache(cache_size)
        self.runs = 0
        """Operations answered compiled."""
        self.fallbacks = 0
        """Operations compiled that graphql-core had to run after all (a missed load): a bug."""

    async def execute(
        self,
        document: DocumentNode,
        definition: OperationDefinitionNode,
        context: Context,
        variables: Mapping[str, Any] | None,
    ) -> ExecutionResult | None:
        """The operation's result, or None for one graphql-core must run."""
        if not context.gateway.batching:
            return None  # the measure of what batching buys runs field by field
        coerced = get_variable_values(
            self.schema,
            definition.variable_definitions or (),
            dict(variables or {}),
            max_errors=MAX_COERCION_ERRORS,
        )
        if isinstance(coerced, list):
            return ExecutionResult(None, errors=coerced)
        compiled = self.compiled(document, definition, context, coerced.coerced)
        if compiled is None:
            return None
        waves = Waves(context, compiled.steps, coerced)
        waves.start(compiled.root)
        await waves.wait()
        if waves.broken is not None:
            self.fallbacks += 1
            return None
        shaper = Shaper(context, waves)
        try:
            data = shaper.response(compiled.root)
        except NotLoaded as missed:
            self.fallbacks += 1
            logger.error("a compiled operation read what it had not loaded: %s", missed)
            return None
        self.runs += 1
        return ExecutionResult(data, [error for error, _ in shaper.errors] or None)

    def compiled(
        self,
        document: DocumentNode,
        definition: OperationDefinitionNode,
        context: Context,
        variables: Mapping[str, Any],
    ) -> CompiledOperation | None:
        """The operation compiled for the context's roles and these variables; None if it is not."""
        held = self._conditions.get(id(definition))
        if held is None or held[0] is not definition:
            held = (definition, conditions_of(document, definition))
            self._conditions[id(definition)] = held
        names = held[1]
        values = tuple(variables.get(name) for name in names)
        plan = context.plan
        key = (id(definition), id(plan), values)
        entry = self._compiled.get(key)
        if entry is None or entry[0] is not definition or entry[1] is not plan:
            try:
                known: CompiledOperation | Unsupported = self.compiler.compile(
                    document, definition, plan, dict(zip(names, values, strict=True))
                )
            except Unsupported as reason:
                known = reason
            entry = (definition, plan, known)
            self._compiled[key] = entry
        compiled = entry[2]
        return None if isinstance(compiled, Unsupported) else compiled
