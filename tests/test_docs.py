"""Every example of the documentation runs and prints what its page shows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_example_in_the_docs_prints_what_the_page_shows() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "check_examples.py")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert " 0 failed" in done.stdout


def test_the_seed_page_is_in_the_docs_verbatim() -> None:
    seed = ROOT.parent / "shared" / "seed" / "custom_llm_services.rst"
    page = ROOT / "docs" / "custom_llm_services.rst"
    if seed.exists():
        assert page.read_bytes() == seed.read_bytes()
    assert "Connecting Custom LLMs" in page.read_text(encoding="utf-8")
