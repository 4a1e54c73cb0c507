"""Build the executable schema from the types and a checked ownership map."""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import strawberry
from cachetools import LRUCache
from graphql import GraphQLError, GraphQLObjectType
from strawberry.extensions import MaskErrors, ParserCache, SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import validate_document
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types import ExecutionContext

from ownergraph.resolvers import (
    AbsentPaths,
    OwnersExtension,
    Plan,
    compile_plan,
    is_expected,
    should_mask_error,
)

from .binding import check_binding
from .directives import Owner
from .mutations import Mutation
from .ownership import Ownership, OwnershipError
from .query import Query
from .scalars import SCALAR_MAP
from .types import ALL_TYPES, COMPOSED_TYPES

logger = logging.getLogger("ownergraph")


class ClientErrors(MaskErrors):
    """Unexpected exceptions become a bare message with INTERNAL_SERVER_ERROR."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=should_mask_error, error_message="Unexpected error.")

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL_SERVER_ERROR"}
        return masked


VALIDATED_DOCUMENTS = 256
"""Distinct query texts whose validation is kept (least recently used go first)."""


def validation_cache(maxsize: int = VALIDATED_DOCUMENTS) -> type[SchemaExtension]:
    """A validation cache keyed by the query's text and the rules, for one schema.

    strawberry's ValidationCache keys its LRU on the parsed document itself,
    and graphql-core's AST nodes are frozen dataclasses: every request hashed
    the whole tree again (about 70 nodes for the caller screen). A string's
    hash is computed once; the same text is the same document (ParserCache),
    so it validates the same. A document given already parsed is validated
    every time.
    """
    results: LRUCache[tuple[str, tuple[Any, ...]], list[GraphQLError]] = LRUCache(maxsize)

    class ValidatedByText(SchemaExtension):
        def on_validate(self) -> Iterator[None]:
            context = self.execution_context
            rules = tuple(context.validation_rules)
            document = context.graphql_document
            assert document is not None  # parsing comes first
            key = (context.query, rules) if context.query is not None else None
            errors = results.get(key) if key is not None else None
            if errors is None:
                errors = validate_document(context.schema._schema, document, rules)
                if key is not None:
                    results[key] = errors
            context.pre_execution_errors = errors
            yield

    return ValidatedByText


class CustomerSchema(strawberry.Schema):
    """The strawberry schema, logging only what an operator must act on.

    Owner failures and bad arguments are expected, already reported to the
    client and in `extensions.owners`; a traceback for each would drown the
    one unexpected error in the logs.
    """

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            if is_expected(error):
                logger.debug("%s at %s", error.message, error.path)
            else:
                logger.error("unexpected error at %s", error.path, exc_info=error.original_error)


class Graph:
    """The customer graph bound to one ownership map: schema, map, and read plans.

    `plan` may read every field; `plan_for(roles)` compiles (once per role set)
    the plan of what those roles may read.
    """

    def __init__(
        self,
        schema: strawberry.Schema,
        ownership: Ownership,
        phone_region: str,
        absent: AbsentPaths | None = None,
    ) -> None:
        self.schema = schema
        self.ownership = ownership
        self.phone_region = phone_region
        self.absent = absent if absent is not None else AbsentPaths()
        """Counts reads of a path the owner's record lacks (a `from:` typo, or drift)."""
        self.plan = self.plan_for(None)

    @functools.lru_cache(maxsize=64)  # noqa: B019 - one graph per app, living as long
    def plan_for(self, roles: frozenset[str] | None) -> Plan:
        return compile_plan(
            self.schema._schema, self.ownership, self.phone_region, roles, self.absent
        )

    def sdl(self) -> str:
        return self.schema.as_str() + "\n"


def build_graph(
    ownership: Ownership,
    *,
    phone_region: str = "IT",
    extensions: Sequence[type[SchemaExtension]] = (),
    absent: AbsentPaths | None = None,
) -> Graph:
    """The executable customer graph, or `OwnershipError` naming every mismatch.

    `extensions` come first: the service adds its limits and audit there;
    `absent` hears every read of a path an owner's record lacks (metrics).
    """
    schema = CustomerSchema(
        query=Query,
        mutation=Mutation,
        types=ALL_TYPES,
        # Clients send the same documents again and again (with variables):
        # parsing and validating each once, not per request, saves CPU.
        extensions=[
            *extensions,
            ParserCache,
            validation_cache(),
            OwnersExtension,
            ClientErrors,
        ],
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
    )
    problems = check_binding(schema._schema, ownership, COMPOSED_TYPES)
    if problems:
        raise OwnershipError(problems)
    _annotate_owners(schema, ownership)
    return Graph(schema, ownership, phone_region, absent)


def _annotate_owners(schema: strawberry.Schema, ownership: Ownership) -> None:
    """Put `@owner(system:)` on every owned field of this schema, and its owner in the docs.

    The owner comes from the map, not the code, so it is attached to this
    schema's own copy of each field definition; the type classes are shared
    by every schema built and stay untouched.
    """
    backref = GraphQLCoreConverter.DEFINITION_BACKREF
    for type_name, entry in ownership.types.items():
        gql_type = schema._schema.type_map[type_name]
        assert isinstance(gql_type, GraphQLObjectType)
        for name, field in entry.fields.items():
            gql_field = gql_type.fields[name]
            definition = copy.copy(gql_field.extensions[backref])
            definition.directives = [*definition.directives, Owner(system=field.owner)]
            gql_field.extensions = {**gql_field.extensions, backref: definition}
            note = f"Owner: {field.owner}."
            gql_field.description = (
                f"{gql_field.description}\n\n{note}" if gql_field.description else note
            )
