"""Real Chromium (Debian's /usr/bin/chromium) driven by Playwright; screenshots kept for review."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from bridge.settings import REPO_ROOT
from tests.conftest import ARTIFACTS

CAPTURES = REPO_ROOT / "docs" / "captures"  # the screenshots the README shows

CHROMIUM = os.environ.get("TEST_CHROMIUM", "/usr/bin/chromium")
# Flags that keep Chromium off the closed network of CI machines.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def csp_violations() -> list[str]:
    """Every « Refused to … Content Security Policy » Chromium printed, on any page."""
    return []


@pytest.fixture(scope="session")
def opened_contexts() -> list[BrowserContext]:
    """The browser contexts a test opened: closed after it (see `close_contexts`)."""
    return []


@pytest.fixture(scope="session")
def browser(csp_violations: list[str], opened_contexts: list[BrowserContext]) -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        raise RuntimeError(f"Chromium est absent ({CHROMIUM}) : lancez « make setup-browser ».")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        new_context = chromium.new_context

        def watched_context(*args: Any, **kwargs: Any) -> BrowserContext:
            made = new_context(*args, **kwargs)
            made.on("console", lambda message: _keep_violation(message, csp_violations))
            opened_contexts.append(made)
            return made

        chromium.new_context = watched_context  # type: ignore[method-assign]
        yield chromium
        chromium.close()


def _keep_violation(message: ConsoleMessage, violations: list[str]) -> None:
    if "Content Security Policy" in message.text:
        violations.append(f"{message.location.get('url')}: {message.text}")


@pytest.fixture(autouse=True)
def close_contexts(opened_contexts: list[BrowserContext]) -> Iterator[None]:
    """Every page a test left open is closed after it: a hundred idle tabs (a captcha's
    worker, a page's timers) otherwise share the CPU with the rest of the session."""
    yield
    while opened_contexts:
        with contextlib.suppress(PlaywrightError):  # closed already (the `context` fixture)
            opened_contexts.pop().close()


@pytest.fixture(autouse=True)
def no_csp_violation(csp_violations: list[str]) -> Iterator[None]:
    """A page whose script or style the policy refuses is broken for its user: fail the test."""
    seen = len(csp_violations)
    yield
    assert csp_violations[seen:] == []


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(locale="fr-FR")
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


class Screens:
    """Numbered screenshots of every page a test passes through, under test-artifacts/."""

    def __init__(self, test_name: str) -> None:
        self.dir = ARTIFACTS / "screenshots" / re.sub(r"[^\w.-]", "_", test_name)
        self.dir.mkdir(parents=True, exist_ok=True)
        for old in self.dir.glob("*.png"):
            old.unlink()
        self.count = 0

    def shot(self, page: Page, name: str) -> Path:
        self.count += 1
        path = self.dir / f"{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    def keep(self, page: Page, name: str) -> None:
        """A screenshot the README shows: kept under docs/captures as well."""
        path = self.shot(page, name)
        CAPTURES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, CAPTURES / f"{name}.png")


@pytest.fixture
def screens(request: pytest.FixtureRequest) -> Screens:
    return Screens(request.node.name)
