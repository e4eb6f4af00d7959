"""The benchmark script keeps running and checking that every engine computes the same."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_engine_bench_runs_and_reports_every_scenario() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "engine_bench.py"), "--rounds", "1"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    for scenario in ("100-node chain", "1000-pass self-loop", "100-way fan-out", "3-node graph"):
        assert scenario in done.stdout
    assert done.stdout.count("orkes overhead over the plain loop") == 4
