"""Documents an attacker would send: small texts whose fragments expand without bound.

The tests check that every walk over them stays linear, and the benchmark times the real
gateway's answers to them; both build them here, so that what is timed is what is tested.
"""

from __future__ import annotations

ROOT = 'query FanOut { customer(id: "C00001") { ...F0 } }'
"""The operation `fan_out` puts above its fragments unless given another."""


def fan_out(levels: int, spreads: int, leaf: str = "displayName", root: str | None = None) -> str:
    """Fragments spreading the next one `spreads` times, `levels` deep, ending in `leaf`.

    About 12 tokens and 45 bytes a level: 30 levels are 1.4 kB (1.6 kB with 3
    spreads), and expand to 2^30 (or 3^30) copies of `leaf`.
    """
    parts = [root or ROOT]
    for level in range(levels):
        body = " ".join([f"...F{level + 1}"] * spreads)
        parts.append(f"fragment F{level} on Customer {{ {body} }}")
    parts.append(f"fragment F{levels} on Customer {{ {leaf} }}")
    return "\n".join(parts)
