"""A graph from its two files: the SDL (what clients see) and the ownership map.

`load_graph(sdl, ownership)` reads the SDL, checks it against the map and
builds the executable graph over graphql-core; `check_binding` says what
does not fit; `drift` compares the map with what owners publish.
"""

from __future__ import annotations

from .binding import check_binding
from .build import Graph, build_graph, load_files, load_graph
from .sdl import build_sdl, parse_sdl, read_sdl

__all__ = [
    "Graph",
    "build_graph",
    "build_sdl",
    "check_binding",
    "load_files",
    "load_graph",
    "parse_sdl",
    "read_sdl",
]
