"""Regenerate the pictures in screenshots/: the SVGs from the real app playing the demo
tour, and browser.png from the browser test (a real Chromium opening `ratelimit-tui serve`).

usage: python scripts/screenshots.py
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from scenes import SCENES, SIZES, overview, overview_app, tour_app

OUT = Path(__file__).parent.parent / "screenshots"
SHOTS = [*((f"tour-{n}", "wide") for n in range(1, 7)), ("headers", "wide"),
         ("tour-4", "narrow")]


async def shoot(scene: str, size: str, tour: str | None = "once") -> Path:
    app = tour_app(deterministic=False, tour=tour)
    async with app.run_test(size=SIZES[size]) as pilot:
        await SCENES[scene](pilot)
        path = OUT / f"{scene}-{size}.svg"
        path.write_text(app.export_screenshot(title=f"ratelimit-tui · {scene}"))
    return path


async def shoot_overview(size: str) -> Path:
    with overview_app(deterministic=False) as app:
        async with app.run_test(size=SIZES[size]) as pilot:
            await overview(pilot)
            path = OUT / f"overview-{size}.svg"
            path.write_text(app.export_screenshot(title="ratelimit-tui · overview"))
    return path


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for scene, size in SHOTS:
        print(asyncio.run(shoot(scene, size)))
    print(asyncio.run(shoot_overview("narrow")))
    print(asyncio.run(shoot("first-run", "wide", tour=None)))
    root = OUT.parent  # the browser's picture: the test that opens serve takes it
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-o", "addopts=",
                    "tests/test_serve.py", "-k", "browser"], cwd=root, check=True,
                   env={**os.environ, "UPDATE_SCREENSHOTS": "1"})
    print(OUT / "browser.png")


if __name__ == "__main__":
    main()
