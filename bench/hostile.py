"""Documents an attacker would send: small texts whose fragments expand without bound.

The tests check that every walk over them stays linear, and the benchmark times the real
gateway's answers to them; both build them here, so that what is timed is what is tested.
"""

from __future__ import annotations


def fan_out(levels: int, spreads: int, leaf: str = "displayName", root: str | None = None) -> str:
    """Fragments spreading the next one `spreads` times, `levels` deep, ending in `leaf`.

    About 12 tokens a level: 30 levels are under 1 kB, and expand to 2^30
    (or 3^30) copies of `leaf`.
    """
    parts = [root or 'query FanOut { customer(id: "C00001") { ...F0 } }']
    for level in range(levels):
        body = " ".join([f"...F{level + 1}"] * spreads)
        parts.append(f"fragment F{level} on Customer {{ {body} }}")
    parts.append(f"fragment F{levels} on Customer {{ {leaf} }}")
    return "\n".join(parts)
