"""Run every code example of the docs and compare it with the output the page shows.

Usage: ``python docs/check_examples.py [--show] [page.rst ...]`` (from the repository root,
with orkes installed). Exits 1 if any example fails or prints something else.

The conventions the pages follow:

* Every ``.. code-block:: python`` runs. The blocks of one page run in order in one
  namespace (a fresh module per page), so a page may build a graph step by step.
* ``.. literalinclude:: <file>.py`` runs that file as a script from the repository root.
* A ``.. code-block:: text`` that is the next directive after one of those is its
  expected output. ``...`` matches anything (as doctest's ELLIPSIS). An example that
  raises shows ``Traceback (most recent call last):``, an indented ``...`` line and the
  last line Python prints (``module.ErrorName: message``).
* ``.. code-block:: none`` (diagrams) and ``console`` (shell commands) are not run; a
  ``console`` block may stand between an example and its output.
* ``.. code-block:: python3`` marks an example that needs a live service (a model
  server, an API key): it is shown as Python but not run, and a ``text`` block after
  it is only an illustration, never compared.

``--show`` prints what every example printed, to paste into a page.
"""

from __future__ import annotations

import contextlib
import doctest
import io
import re
import subprocess
import sys
import textwrap
import traceback
import types
from dataclasses import dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
DIRECTIVE = re.compile(r"^(?P<indent> *)\.\. (?P<name>code-block|literalinclude)::\s*(?P<arg>\S*)")


@dataclass
class Block:
    """One ``code-block`` or ``literalinclude`` of a page."""

    kind: str  # the code-block's language, or "include"
    text: str  # the code or the expected output; for "include", the file's path
    line: int  # 1-based, for messages


def blocks_of(page: Path) -> list[Block]:
    """Every code-block and literalinclude of ``page``, in order, with its content."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        match = DIRECTIVE.match(lines[index])
        index += 1
        if match is None:
            continue
        start = index
        indent = len(match["indent"])
        body: list[str] = []
        while index < len(lines) and (
            not lines[index].strip() or len(lines[index]) - len(lines[index].lstrip()) > indent
        ):
            body.append(lines[index])
            index += 1
        if match["name"] == "literalinclude":
            found.append(Block("include", str((page.parent / match["arg"]).resolve()), start))
            continue
        while body and body[0].strip().startswith(":"):  # the directive's options
            body.pop(0)
        code = textwrap.dedent("\n".join(body)).strip("\n") + "\n"
        found.append(Block(match["arg"], code, start))
    return found


def run_python(code: str, module: types.ModuleType, where: str) -> str:
    """Run ``code`` in ``module``'s namespace; return what it printed (and its error)."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        try:
            exec(compile(code, where, "exec", dont_inherit=True), module.__dict__)
        except Exception as exc:
            print("Traceback (most recent call last):\n  ...")
            print("".join(traceback.format_exception_only(type(exc), exc)), end="")
    return printed.getvalue()


def run_script(path: str) -> str:
    """Run an example file as a user would; return what it printed."""
    done = subprocess.run(
        [sys.executable, path], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode:
        return done.stdout + done.stderr
    return done.stdout


def check_page(page: Path, *, show: bool) -> int:
    """Run the examples of one page; return how many failed."""
    name = page.relative_to(DOCS).as_posix()
    module = types.ModuleType("docs_" + re.sub(r"\W", "_", name))
    sys.modules[module.__name__] = module
    checker = doctest.OutputChecker()
    failures = 0
    ran = 0
    got: str | None = None  # what the last example printed, until an output block claims it
    source = ""

    def unclaimed() -> int:
        if got is None:
            return 0
        if show and got:
            print(f"--- {source} (output not shown on the page)\n{_normalized(got)}", end="")
        if "Traceback (most recent call last)" in got:
            print(f"FAIL {source}: raised, and the page shows no output\n{got}")
            return 1
        return 0

    for block in blocks_of(page):
        if block.kind == "text" and got is not None:
            wanted, printed = _normalized(block.text), _normalized(got)
            if show:
                print(f"--- {source}\n{printed}", end="")
            if not checker.check_output(wanted, printed, doctest.ELLIPSIS):
                failures += 1
                print(f"FAIL {source}: the page shows\n{wanted}but the example printed\n{printed}")
            got = None
            continue
        if block.kind == "console":
            continue  # a shell command between an example and its output
        failures += unclaimed()
        got = None
        if block.kind in ("python", "py"):
            source = f"{name}:{block.line}"
            got = run_python(block.text, module, source)
            ran += 1
        elif block.kind == "include" and block.text.endswith(".py"):
            source = f"{name}:{block.line} ({Path(block.text).relative_to(ROOT)})"
            got = run_script(block.text)
            ran += 1
    failures += unclaimed()
    print(f"{name}: {ran} examples, {failures} failed")
    return failures


def _normalized(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines()) + "\n"


def main(arguments: list[str]) -> int:
    """Check the pages named in ``arguments``, or every page of the docs."""
    show = "--show" in arguments
    named = [Path(a).resolve() for a in arguments if a != "--show"]
    pages = named or sorted(DOCS.rglob("*.rst"))
    failures = sum(check_page(page, show=show) for page in pages)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
