"""Schema extensions: `extensions.owners` on every response, and error masking."""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from ownergraph.sources import OwnerError

from .context import Context
from .errors import BadUserInput, Forbidden

logger = logging.getLogger("ownergraph")

# Errors whose message we wrote for clients; anything else is masked.
_CLIENT_FACING = (GraphQLError, OwnerError, BadUserInput, Forbidden)


class OwnersExtension(SchemaExtension):
    """Adds `extensions.owners`: per system asked, status, calls, keys, ms, fetchedAt."""

    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        if not isinstance(context, Context):
            return {"owners": {}}
        report = context.report
        result = self.execution_context.result
        for error in getattr(result, "errors", None) or ():
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


def should_mask_error(error: GraphQLError) -> bool:
    """Mask unexpected exceptions: no stack trace, hostname or URL reaches a client."""
    return not is_expected(error)
