"""A serving process's garbage collector: start-up frozen out, young collections rarer."""

from __future__ import annotations

import subprocess
import sys


def test_tune_collector_freezes_start_up_and_spaces_young_collections() -> None:
    # In a process of its own: the collector's settings are the whole process's.
    script = (
        "import gc\n"
        "from ownergraph.serving import YOUNG_COLLECTION_EVERY, tune_collector\n"
        "before = gc.get_threshold()\n"
        "tune_collector()\n"
        "after = gc.get_threshold()\n"
        "assert gc.get_freeze_count() > 10_000, gc.get_freeze_count()\n"
        "assert after == (YOUNG_COLLECTION_EVERY, before[1], before[2]), (before, after)\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)


def test_an_app_alone_leaves_the_hosts_collector_as_it_was() -> None:
    script = (
        "import gc\n"
        "before = gc.get_threshold()\n"
        "from ownergraph import create_app\n"
        "create_app()\n"
        "assert gc.get_threshold() == before and gc.get_freeze_count() == 0\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
