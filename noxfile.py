"""Developer sessions: ``nox`` runs them all, ``nox -s tests`` one of them."""

from __future__ import annotations

import sys
from pathlib import Path

import nox

nox.options.sessions = ["tests", "typecheck", "lint", "examples", "size"]
nox.options.reuse_existing_virtualenvs = True

ROOT = Path(__file__).parent
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite with coverage of src/orkes (at least 90%)."""
    session.install("-e", ".[test]")
    session.run(
        "pytest",
        "--cov=orkes",
        "--cov-report=term-missing",
        "--cov-fail-under=90",
        *session.posargs,
    )


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on src/, tests/, examples/ and bench/ (see [tool.mypy])."""
    session.install("-e", ".[test]")
    session.run("mypy")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff's checks and its formatter, checking only."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def examples(session: nox.Session) -> None:
    """Run every example script; any failure fails the session."""
    session.install(".")
    for script in sorted((ROOT / "examples").glob("*.py")):
        needs_a_server = script.name == "openai_compatible_chat.py"
        session.run("python", str(script), *(["--help"] if needs_a_server else []))


@nox.session(venv_backend="none")
def size(session: nox.Session) -> None:
    """Fail on any module of src/ over 400 lines: it holds two ideas, split it."""
    session.run(sys.executable, str(ROOT / ".ci" / "check_size.py"))


@nox.session(python=PYTHONS, name="tests-all")
def tests_all(session: nox.Session) -> None:
    """The suite on every supported Python that is installed (not run by default)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


if __name__ == "__main__":
    sys.exit("run `nox` (pip install nox) to use this file")
