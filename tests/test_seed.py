"""The seed page's code, pasted in its order, runs and prints exactly what the page says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
SEED = ROOT.parent / "shared" / "seed" / "custom_llm_services.rst"
EXAMPLE = ROOT / "examples" / "custom_llm_connector.py"
EXPECTED = "{'user_input': 'Hello, Orkes!', 'llm_response': 'I echo: Hello, Orkes!'}\n"


def python_blocks(rst: str) -> list[str]:
    """The ``.. code-block:: python`` blocks of an rst page, dedented, in order."""
    blocks: list[str] = []
    lines = rst.splitlines()
    index = 0
    while index < len(lines):
        if re.match(r"^\s*\.\. code-block::\s*python\s*$", lines[index]):
            index += 1
            body: list[str] = []
            while index < len(lines) and (not lines[index].strip() or lines[index][0].isspace()):
                body.append(lines[index])
                index += 1
            blocks.append(textwrap.dedent("\n".join(body)).strip("\n") + "\n")
        else:
            index += 1
    return blocks


def seed_code() -> str:
    if not SEED.exists():  # a clone without ../shared/: the example holds the same code
        return EXAMPLE.read_text(encoding="utf-8")
    blocks = python_blocks(SEED.read_text(encoding="utf-8"))
    assert len(blocks) == 3
    return "\n".join(blocks)


def run_python(path: Path) -> subprocess.CompletedProcess[str]:
    source = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": source},
        cwd=path.parent,
        check=False,
    )


def test_the_block_extractor() -> None:
    page = (
        "Intro\n\n.. code-block:: python\n\n    a = 1\n\n    def f():\n        return a\n"
        "\nText\n\n.. code-block:: bash\n\n    echo no\n\n.. code-block:: python\n\n"
        "    print(f())\n"
    )
    assert python_blocks(page) == ["a = 1\n\ndef f():\n    return a\n", "print(f())\n"]


def test_the_seed_runs_verbatim_and_prints_the_expected_line(tmp_path: Path) -> None:
    script = tmp_path / "seed.py"
    script.write_text(seed_code(), encoding="utf-8")
    completed = run_python(script)
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    assert completed.stdout == EXPECTED


def test_the_example_runs_and_prints_the_expected_line() -> None:
    completed = run_python(EXAMPLE)
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    assert completed.stdout == EXPECTED


def test_the_example_is_the_seed_pasted_verbatim() -> None:
    if not SEED.exists():
        pytest.skip("the seed page lives beside the repository, in ../shared/seed/")
    example = [line.rstrip() for line in EXAMPLE.read_text(encoding="utf-8").splitlines()]
    position = 0
    for block in python_blocks(SEED.read_text(encoding="utf-8")):
        lines = [line.rstrip() for line in block.splitlines()]
        found = next(
            (
                start
                for start in range(position, len(example))
                if example[start : start + len(lines)] == lines
            ),
            None,
        )
        assert found is not None, f"block not found verbatim, in order, in {EXAMPLE.name}:\n{block}"
        position = found + len(lines)
