"""What the resolvers add to a response: `extensions.owners`, and which errors clients may read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphql import GraphQLError

from ownergraph.sources import OwnerError

from .context import Context
from .errors import BadUserInput, Forbidden

# Errors whose message we wrote for clients; anything else is masked.
_CLIENT_FACING = (GraphQLError, OwnerError, BadUserInput, Forbidden)


def owner_extensions(context: Any, errors: Sequence[GraphQLError]) -> dict[str, Any]:
    """`extensions` of a response: per system asked, status, calls, keys, ms, fetchedAt.

    Fields nulled because an owner failed are listed under that owner; fields
    served stale (`stale_if_error`) are listed under `stale`.
    """
    if not isinstance(context, Context):
        return {"owners": {}}
    report = context.report
    for error in errors:
        owner = (error.extensions or {}).get("owner")
        if owner and error.path:
            report.nulled(owner, list(error.path))
    results: dict[str, Any] = {"owners": report.as_dict()}
    if report.stale_fields:
        results["stale"] = report.stale_fields
    return results


def is_expected(error: GraphQLError) -> bool:
    """An error whose message was written for clients: validation, owners, arguments."""
    original = error.original_error
    return original is None or isinstance(original, _CLIENT_FACING)
