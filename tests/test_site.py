"""The course website (`make site`): built offline from the committed notebooks, then opened
in a real Chromium (Playwright) as a reader would: from the start page to three lessons,
charts rendered as images, search, launch links, and no solution unfolded."""

from __future__ import annotations

import functools
import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_browser import CHROMIUM, CHROMIUM_ARGS, _unavailable

from helpers.paths import NOTEBOOKS, ROOT

pytestmark = pytest.mark.slow  # a Sphinx build and a browser: make test, not make test-fast

SCREENSHOTS = Path(__file__).parent / "artifacts" / "site"
LESSONS = ("01 · Images and layers", "06 · Multi-stage builds", "07 · Base images")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import importlib.util

    spec = importlib.util.spec_from_file_location("site_build", ROOT / "site" / "build.py")
    assert spec and spec.loader
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    out = builder.build(tmp_path_factory.mktemp("site") / "html")
    handler = functools.partial(QuietHandler, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def test_every_lesson_has_a_page_with_launch_links(site: str) -> None:
    import urllib.request

    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb")):
        with urllib.request.urlopen(f"{site}/notebooks/{path.stem}.html", timeout=10) as page:
            html = page.read().decode()
        assert f"urlpath=lab/tree/notebooks/{path.stem}.ipynb" in html, f"{path.stem}: no Binder link"
        assert "codespaces.new" in html, f"{path.stem}: no Codespaces link"
        folded = len(re.findall(r"<details", path.read_text(encoding="utf-8")))
        assert len(re.findall(r"<details", html)) >= folded, f"{path.stem}: a folded solution is unfolded"


def test_a_reader_browses_three_lessons_sees_charts_and_finds_multi_stage(site: str) -> None:
    if not Path(CHROMIUM).is_file():
        _unavailable(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.set_default_timeout(30_000)
        try:
            page.goto(f"{site}/index.html")
            page.screenshot(path=str(SCREENSHOTS / "start.png"))
            for number, title in enumerate(LESSONS, start=1):
                page.goto(f"{site}/index.html")
                page.locator("nav a, .toctree-wrapper a", has_text=title).first.click()
                page.wait_for_load_state()
                assert title in page.locator("h1").first.inner_text()
                page.screenshot(path=str(SCREENSHOTS / f"lesson-{number}.png"), full_page=False)
            charts = page.locator(".cell_output img")
            assert charts.count() >= 1, "lesson 07 shows no chart image"
            sizes = charts.evaluate_all("(imgs) => imgs.map((i) => [i.complete, i.naturalWidth])")
            assert all(done and width > 100 for done, width in sizes), sizes
            page.goto(f"{site}/search.html?q=multi-stage")
            results = page.locator("#search-results li a")
            results.first.wait_for()
            found = results.all_inner_texts()
            page.screenshot(path=str(SCREENSHOTS / "search.png"))
            assert any("Multi-stage" in text for text in found), found
        finally:
            browser.close()
    assert all((SCREENSHOTS / name).stat().st_size > 5_000 for name in ("start.png", "search.png"))
