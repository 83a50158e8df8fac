"""Headless Chromium, launched one way for the report tests, scripts/report_screenshot.py and
benchmarks/report_scale.py: Debian's chromium driven by playwright, no sandbox, no GPU, no network."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def missing() -> str | None:
    """Why Chromium cannot be launched here (None when it can)."""
    if not Path(CHROMIUM).exists():
        return f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "needs the playwright package"
    return None


@contextmanager
def chromium():
    """A launched headless browser, closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()
