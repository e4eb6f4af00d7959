"""Fail when a module of src/ passes 400 lines: it holds two ideas, split it."""

from __future__ import annotations

import sys
from pathlib import Path

MAX_MODULE_LINES = 400


def main() -> int:
    """Print the modules over the limit and return 1, or say all is well and return 0."""
    root = Path(__file__).resolve().parents[1]
    too_big = [
        f"{path.relative_to(root)}: {count} lines"
        for path in sorted((root / "src").rglob("*.py"))
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    if too_big:
        print(f"modules over {MAX_MODULE_LINES} lines:", *too_big, sep="\n  ")
        return 1
    print(f"every module of src/ has at most {MAX_MODULE_LINES} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
