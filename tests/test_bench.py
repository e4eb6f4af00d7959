"""The benchmark script keeps running and checking that every engine computes the same."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_engine_bench_runs_and_reports_every_scenario() -> None:
    # --quick: one round of everything (LangGraph is not needed: its column is left out).
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "engine_bench.py"), "--quick"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    for scenario in (
        "100-node chain (",
        "100-node chain of sync nodes, arun",
        "1000-pass self-loop",
        "100-way fan-out",
        "3-node graph",
        'streamed "updates" vs run',
        "orkes stream / orkes run:",
        "a hand-written loop pays",
        "fan-out of time.sleep(0.05) branches",
        "1000 Sends to an async node",
        "1000-Send map-reduce",
        "import orkes (fresh interpreter",
        "asyncio in sys.modules after import orkes:",
    ):
        assert scenario in done.stdout
    # chain, arun chain, loop, fan-out, small graph, stream and map-reduce; the I/O
    # fan-outs report whole runs against their targets instead.
    assert done.stdout.count("orkes overhead over the plain loop") == 7
    assert done.stdout.count("s per run; target <") == 2


def test_the_engine_bench_runs_only_the_scenarios_asked_for() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "engine_bench.py"), "--quick", "--only", "sends"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "1000-Send map-reduce" in done.stdout
    assert "100-node chain" not in done.stdout
    assert "import orkes" not in done.stdout


def test_the_checkpoint_bench_runs_every_store_and_measures_storage() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "checkpoint_bench.py"), "--quick"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    for store in (
        "MemoryCheckpointer",
        "SqliteCheckpointer (file)",
        "SqliteCheckpointer (:memory:)",
    ):
        assert f"  {store}" in done.stdout
    size = float(done.stdout.split("SQLite file ")[1].split(" MiB")[0])
    assert size < 1.5  # the 1 MiB value is stored once, not once per step
