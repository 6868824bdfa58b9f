"""The console's budget: compressed JavaScript, and time to the first full screen.

Against a running server (``crm serve``, the demo data): signs in once in Debian's chromium, then
loads /console again and again, timing from navigation to the dashboard with every chart drawn.
Prints figures; passes or fails nothing.

    python -m bench.console_bench [--url http://127.0.0.1:8000] [--runs 7]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import shutil
import statistics
import time
from pathlib import Path

from app import console

ASSETS = Path(console.__file__).parent / console.ASSETS_DIRECTORY
CHARTS = 5  # revenue, churn risk, pipeline, email outcomes, segments


def compressed_js() -> tuple[int, int, int]:
    """(files, bytes, gzip -9 bytes) of every JavaScript module the console ships."""
    files = sorted(ASSETS.rglob("*.js"))
    raw = b"".join(p.read_bytes() for p in files)
    packed = sum(len(gzip.compress(p.read_bytes(), 9)) for p in files)
    return len(files), len(raw), packed


async def first_screen(url: str, runs: int, email: str, password: str) -> list[float]:
    """Seconds from navigation to the dashboard with every chart, per run (signed in)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=shutil.which("chromium"))
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await page.goto(f"{url}/console")
        await page.fill("#login-email", email)
        await page.fill("#login-password", password)
        await page.click("form.login button[type=submit]")
        await page.wait_for_selector("figure.chart >> nth=4")
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            await page.reload()  # a full load: HTML, modules, every dashboard query
            await page.wait_for_selector(f"figure.chart svg >> nth={CHARTS - 1}")
            times.append(time.perf_counter() - started)
        await browser.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--email", default="demo@example.com")
    parser.add_argument("--password", default="demo-password")
    args = parser.parse_args()
    files, raw, packed = compressed_js()
    print(f"JavaScript: {files} modules, {raw / 1024:.1f} KB, {packed / 1024:.1f} KB gzip -9"
          " (budget 250 KB compressed)")
    times = asyncio.run(first_screen(args.url, args.runs, args.email, args.password))
    median, worst = statistics.median(times) * 1000, max(times) * 1000
    print(f"first screen (dashboard, {CHARTS} charts): median {median:.0f} ms,"
          f" max {worst:.0f} ms over {len(times)} loads (budget 1 s)")


if __name__ == "__main__":
    main()
