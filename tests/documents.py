"""Documents an attacker would send: small texts whose fragments expand without bound."""

from __future__ import annotations

from graphql import DocumentNode, FieldNode, FragmentSpreadNode, InlineFragmentNode, Visitor, visit

# The builder lives in the benchmark, which times the real gateway's answers to the same
# documents: the benchmark must not depend on the test suite, so the tests import it.
from bench.hostile import fan_out

__all__ = ["fan_out", "selection_nodes"]


def selection_nodes(document: DocumentNode) -> int:
    """The fields, spreads and inline fragments in the text: what a walk is linear in."""
    count = 0

    class Count(Visitor):
        def enter(self, node: object, *_args: object) -> None:
            nonlocal count
            if isinstance(node, FieldNode | FragmentSpreadNode | InlineFragmentNode):
                count += 1

    visit(document, Count())
    return count
