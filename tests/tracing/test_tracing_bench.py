"""The tracing benchmark keeps running and reporting its three engines and their ratios."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_tracing_bench_runs_and_reports_the_ratios() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "tracing_bench.py"), "--quick"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    for line in ("untraced ", "traced, in memory ", "traced, to a directory "):
        assert line in done.stdout
    assert "traced in memory / untraced: " in done.stdout
    assert "traced to a directory / untraced: " in done.stdout
