"""Screenshot a run's report.html in headless Chromium, for the README (docs/report.png, docs/relabel.png).

    python -m auditor run --out reports/demo --overwrite
    python scripts/report_screenshot.py reports/demo docs/report.png --given love
    python scripts/report_screenshot.py reports/demo docs/relabel.png --relabel --height 1250

Opens the page from disk, filters the suspected-mislabels table by one given label (as a user
drilling into a class would) and saves the top `--height` pixels of the page. With `--relabel`, it
instead relabels the first suspects by keyboard as an annotator would (accept the suggestion, delete
with a note, keep), opens the evidence of the next one, and saves `--height` pixels from the
suspects section down. The page is opened in a fresh browser profile, so no earlier decision shows.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from browser import chromium  # noqa: E402  (the one way the tests launch it too)


def screenshot(run_dir: Path, png: Path, given: str | None, width: int, height: int, relabel: bool = False) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto((run_dir / "report.html").resolve().as_uri())
        page.wait_for_selector("html[data-ready=true]")
        if given:
            page.select_option("#table-suspects select[data-filter=given]", label=given)
        top = 0
        if relabel:
            _relabel_by_keyboard(page)
            top = page.evaluate("document.getElementById('suspects').getBoundingClientRect().top + window.scrollY")
        page.screenshot(path=str(png), clip={"x": 0, "y": top, "width": width, "height": height}, full_page=True)


def _relabel_by_keyboard(page) -> None:
    keys = page.keyboard
    keys.press("a")  # row 1: accept the suggested label
    keys.press("n")  # row 2: a note, then delete
    keys.type("not an emotion: spam")
    keys.press("Enter")
    keys.press("d")
    keys.press("g")  # row 3: keep the given label
    keys.press("e")  # row 4: show the most similar texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--given", help="filter the suspects table by this given label")
    parser.add_argument("--relabel", action="store_true", help="show the relabelling of the suspects table")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=2600)
    args = parser.parse_args()
    screenshot(args.run_dir, args.png, args.given, args.width, args.height, args.relabel)
    print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
