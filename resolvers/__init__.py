"""Per-request context and DataLoaders, generic resolvers, plans, lookups and writes.

Generic over any graph: what to read, from whom and how, comes from the
ownership model and the SDL; nothing here names a type of any one graph.
"""

from __future__ import annotations

from .absence import AbsentPaths, reading_ahead
from .compiled import Compiler, RootSpec
from .context import ANONYMOUS, Context, Gateway, OwnerLoader, Viewer
from .errors import BadUserInput, Forbidden
from .extensions import is_expected, owner_extensions
from .freshness import RecordCache
from .lookups import LookupAnswer, MatchValue, composed_matches
from .mutations import Write, write_root
from .owned import EntityRef, Info, key_value, owned_value
from .plan import FieldPlan, Plan, Record, compile_plan
from .prefetch import Prefetch
from .queries import CompiledQueries
from .report import OwnerReport, iso
from .roots import MAX_KEY_LENGTH, Shape, entity_root, lookup_root
from .selection import Selections

__all__ = [
    "ANONYMOUS",
    "MAX_KEY_LENGTH",
    "AbsentPaths",
    "BadUserInput",
    "CompiledQueries",
    "Compiler",
    "Context",
    "EntityRef",
    "FieldPlan",
    "Forbidden",
    "Gateway",
    "Info",
    "LookupAnswer",
    "MatchValue",
    "OwnerLoader",
    "OwnerReport",
    "Plan",
    "Prefetch",
    "Record",
    "RecordCache",
    "RootSpec",
    "Selections",
    "Shape",
    "Viewer",
    "Write",
    "compile_plan",
    "composed_matches",
    "entity_root",
    "is_expected",
    "iso",
    "key_value",
    "lookup_root",
    "owned_value",
    "owner_extensions",
    "reading_ahead",
    "write_root",
]
