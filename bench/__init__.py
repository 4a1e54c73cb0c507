"""Benchmarks of the gateway against the demo owners, run as real processes on loopback.

`python -m bench` measures and writes `bench/RESULTS.md`; `python -m bench --quick` is a
shorter smoke run. Measurement (`procs`, `loadgen`, `scenarios`, `machine`) is kept apart
from the report writer (`report`), which only formats what was measured. `hostile` builds
the hostile documents scenario 6 sends, which the tests walk too.
"""
