"""The `@owner` schema directive: which system owns a field, visible in the SDL."""

from __future__ import annotations

import strawberry
from strawberry.schema_directive import Location


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    description=(
        "The system that owns this field: its value is read from that system when the "
        "field is queried, and only that system may change it."
    ),
)
class Owner:
    system: str
