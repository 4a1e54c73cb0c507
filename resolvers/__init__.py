"""Per-request context and DataLoaders, owner-backed field resolvers, lookups."""

from __future__ import annotations

from .absence import AbsentPaths
from .context import ANONYMOUS, Context, Gateway, OwnerLoader, Viewer
from .errors import BadUserInput, Forbidden
from .extensions import OwnersExtension, is_expected, should_mask_error
from .freshness import RecordCache
from .lookups import customer, customer_by_phone, customers, customers_by_email, possible_duplicates
from .mutations import write
from .owned import MAX_LIST, EntityRef, Info, owned_value
from .plan import FieldPlan, Plan, Record, compile_plan
from .report import OwnerReport, iso

__all__ = [
    "ANONYMOUS",
    "MAX_LIST",
    "AbsentPaths",
    "BadUserInput",
    "Context",
    "EntityRef",
    "FieldPlan",
    "Forbidden",
    "Gateway",
    "Info",
    "OwnerLoader",
    "OwnerReport",
    "OwnersExtension",
    "Plan",
    "Record",
    "RecordCache",
    "Viewer",
    "compile_plan",
    "customer",
    "customer_by_phone",
    "customers",
    "customers_by_email",
    "is_expected",
    "iso",
    "owned_value",
    "possible_duplicates",
    "should_mask_error",
    "write",
]
