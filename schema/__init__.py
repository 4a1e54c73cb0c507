"""The customer graph: its strawberry types, and the ownership model that binds them to owners."""

from __future__ import annotations

from .build import Graph, build_graph
from .directives import Owner
from .ownership import (
    FieldOwnership,
    Ownership,
    OwnershipError,
    Problem,
    TypeOwnership,
    load_ownership,
    parse_ownership,
)

__all__ = [
    "FieldOwnership",
    "Graph",
    "Owner",
    "Ownership",
    "OwnershipError",
    "Problem",
    "TypeOwnership",
    "build_graph",
    "load_ownership",
    "parse_ownership",
]
