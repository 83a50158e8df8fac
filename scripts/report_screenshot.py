"""Screenshot a run's report.html in headless Chromium, for the README (docs/report.png).

    python -m auditor run --out reports/demo --overwrite
    python scripts/report_screenshot.py reports/demo docs/report.png --given love

Opens the page from disk, filters the suspected-mislabels table by one given label (as a user
drilling into a class would) and saves the top `--height` pixels of the page.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from browser import chromium  # noqa: E402  (the one way the tests launch it too)


def screenshot(run_dir: Path, png: Path, given: str | None, width: int, height: int) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto((run_dir / "report.html").resolve().as_uri())
        if given:
            page.select_option("#table-suspects select[data-filter=given]", label=given)
        page.screenshot(path=str(png), clip={"x": 0, "y": 0, "width": width, "height": height}, full_page=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--given", help="filter the suspects table by this given label")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=2600)
    args = parser.parse_args()
    screenshot(args.run_dir, args.png, args.given, args.width, args.height)
    print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
