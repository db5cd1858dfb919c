"""Real Chromium (Debian's /usr/bin/chromium) driven by Playwright; screenshots kept for review."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.conftest import ARTIFACTS

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
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        raise RuntimeError(f"Chromium est absent ({CHROMIUM}) : lancez « make setup-browser ».")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


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


@pytest.fixture
def screens(request: pytest.FixtureRequest) -> Screens:
    return Screens(request.node.name)
