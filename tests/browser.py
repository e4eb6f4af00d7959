"""A Playwright page on the system's headless Chromium, for tests that need a browser.

:func:`chromium_page` opens one (no browser is downloaded: Playwright drives the
distribution's ``chromium`` through ``executable_path``). Where it cannot start, the test
is skipped with the reason, except under ``CI=1``, where that is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import pytest


def chromium() -> str | None:
    """The system's Chromium, if it has one on PATH."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@contextmanager
def chromium_page(**page_options: Any) -> Iterator[Any]:
    """A new page of a headless Chromium, closed (browser and all) after the block.

    One browser per test: while Playwright's sync API runs, its event loop counts as
    running in this thread, and ``asyncio.run`` in a later test would refuse to start.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        unavailable(f"playwright is not installed ({exc}); pip install -e '.[test]'")
    executable = chromium()
    if executable is None:
        unavailable("no chromium on PATH; apt-get install -y chromium")
    try:
        manager = sync_playwright().start()
    except Exception as exc:
        unavailable(f"playwright could not start: {exc}")
    try:
        browser = manager.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
        )
    except Exception as exc:
        manager.stop()
        unavailable(f"chromium at {executable} did not start: {exc}")
    try:
        yield browser.new_page(**page_options)
    finally:
        browser.close()
        manager.stop()


def unavailable(reason: str) -> NoReturn:
    """Skip the test for ``reason``; under ``CI=1``, fail it."""
    if os.environ.get("CI") == "1":
        pytest.fail(f"the browser tests need a browser under CI=1: {reason}")
    pytest.skip(reason)
