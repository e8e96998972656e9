"""A real browser: JupyterLab from the venv, Debian's Chromium driven by Playwright, and
notebook 01 run through the UI (Run > Run All Cells) as a learner would.

Needs /usr/bin/chromium and the playwright client (`make browser`, part of `make test`);
without them it skips locally and fails in CI, like the engine tests.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import helpers as wb
from helpers.engine.run import free_port
from helpers.paths import NOTEBOOKS, STATE

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.engine

NOTEBOOK = "01-images-and-layers.ipynb"
CHROMIUM = os.environ.get("WORKBOOK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LEARNER = f"browser-{os.getpid()}"
ARTIFACTS = Path(__file__).parent / "artifacts"
SCREENSHOT_COPY = Path("/tmp/browser-screenshot.png")
# A fully rendered notebook: every cell stays in the DOM (no windowing). The news prompt is
# kept away by the project's own overrides (scripts/lab-overrides.json, installed by make).
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}
NEWS_PROMPT = "Would you like to get notified about official Jupyter news?"
RUN_ALL_TIMEOUT_S = 600
# Error outputs: tracebacks (a helper error shows as its one paragraph, see wb.start), stderr
# naming an error, and stdout lines that start like "BuildFailed: ...".
ERROR_OUTPUTS = """() => {
  const all = (selector) => [...document.querySelectorAll('.jp-Notebook ' + selector)];
  const plain = /^[A-Za-z]*(Error|Failed|Unavailable|NotFound|Refused|Input): /m;
  return [
    ...all('.jp-RenderedText[data-mime-type="application/vnd.jupyter.error"]'),
    ...all('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
      .filter((node) => node.textContent.includes('Error')),
    ...all('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stdout"]')
      .filter((node) => plain.test(node.textContent)),
  ].map((node) => node.textContent.slice(0, 600));
}"""
PROMPTS = """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')]
  .map((node) => node.textContent.trim())"""
# Done when every code cell has an execution count, or when a cell failed (Run All stops there).
ALL_RAN = f"""() => {{
  const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')];
  const numbered = prompts.length > 0 && prompts.every((p) => /^\\[\\d+\\]:$/.test(p.textContent.trim()));
  return numbered || ({ERROR_OUTPUTS})().length > 0;
}}"""
CHART_RENDERED = """() => [...document.querySelectorAll('.jp-Notebook .jp-OutputArea-output img')]
  .some((img) => img.complete && img.naturalWidth > 0)"""
OUTPUT_IMAGES = """() => [...document.querySelectorAll('.jp-Notebook .jp-OutputArea-output img')]
  .map((img) => ({width: img.naturalWidth, height: img.naturalHeight, complete: img.complete}))"""


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(why: str) -> None:
    message = f"{why}: run `make browser` (scripts/setup-browser.sh)"
    if _in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _get(url: str, timeout: float = 5) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return 0


class Lab:
    """JupyterLab from the venv on 127.0.0.1, a random port and token, over a copy of notebooks/."""

    def __init__(self, workdir: Path) -> None:
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        notebooks = workdir / "notebooks"
        shutil.copytree(NOTEBOOKS, notebooks, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        for notebook in notebooks.glob("*.ipynb"):
            _clear_outputs(notebook)  # every count and output on the page then comes from this run
        settings = workdir / "lab-settings"
        for relative, values in LAB_SETTINGS.items():
            target = settings / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(values))
        env = {
            **os.environ,
            "WORKBOOK_LEARNER": LEARNER,
            "JUPYTERLAB_SETTINGS_DIR": str(settings),
            "JUPYTERLAB_WORKSPACES_DIR": str(workdir / "lab-workspaces"),
            "JUPYTER_RUNTIME_DIR": str(workdir / "runtime"),
            "JUPYTER_CONFIG_DIR": str(workdir / "config"),
        }
        self.log_path = workdir / "jupyter.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("jupyter")),  # the venv running the tests
                "lab",
                "--no-browser",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={self.port}",
                "--ServerApp.port_retries=0",
                f"--ServerApp.token={self.token}",
                "--allow-root",
                f"--notebook-dir={notebooks}",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=workdir,
        )
        deadline = time.monotonic() + 120
        while _get(f"{self.base}/api/status?token={self.token}") != 200:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"JupyterLab did not start:\n{self.log()}")
            time.sleep(0.5)

    def url(self, notebook: str) -> str:
        return f"{self.base}/lab/tree/{notebook}?token={self.token}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            request = urllib.request.Request(
                f"{self.base}/api/shutdown", method="POST", headers={"Authorization": f"token {self.token}"}
            )
            try:
                urllib.request.urlopen(request, timeout=10).close()
                self.process.wait(30)
            except (urllib.error.URLError, OSError, subprocess.TimeoutExpired):
                self.process.terminate()
                try:
                    self.process.wait(15)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(5)
        self._log.close()


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    if not Path(CHROMIUM).is_file():
        _unavailable(f"no Chromium at {CHROMIUM}")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("the playwright client is not installed")
    running = Lab(tmp_path)
    try:
        yield running
    finally:
        running.stop()
        wb.cleanup(who=LEARNER)  # what the notebook built as this test's learner
        shutil.rmtree(STATE / "work" / LEARNER, ignore_errors=True)


@pytest.mark.timeout(RUN_ALL_TIMEOUT_S + 300)
def test_notebook_01_runs_all_cells_in_chromium(lab: Lab, tmp_path: Path) -> None:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    profile = Path(tempfile.mkdtemp(prefix="workbook-chromium-"))
    screenshot = tmp_path / "notebook-01.png"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch_persistent_context(
                str(profile),
                executable_path=CHROMIUM,
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": 1400, "height": 1000},
            )
            page = browser.new_page()
            page.set_default_timeout(120_000)
            try:
                page.goto(lab.url(NOTEBOOK))
                _run_all_through_the_ui(page)
                assert page.get_by_text(NEWS_PROMPT).count() == 0, "JupyterLab asked about Jupyter news"
                _check_the_outputs(page)
                page.screenshot(path=str(screenshot))
            except (PlaywrightError, AssertionError) as failure:
                page.screenshot(path=str(screenshot))
                _keep(screenshot)
                raise AssertionError(
                    f"{failure}\nprompts: {page.evaluate(PROMPTS)}\nscreenshot: {SCREENSHOT_COPY}\n"
                    f"JupyterLab log (tail):\n{lab.log()}"
                ) from None
            finally:
                browser.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    _keep(screenshot)
    assert screenshot.stat().st_size > 10_000


def _run_all_through_the_ui(page: Page) -> None:
    """Wait for the notebook's kernel, then Run > Run All Cells, and wait until every cell ran."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell")
    # The status bar names the kernel once the session is connected ("Python 3 (ipykernel) | Idle").
    page.locator(".jp-StatusBar-Widget", has_text="| Idle").first.wait_for()
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
    accept = page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept")
    try:  # JupyterLab asks for a kernel when the session was not ready: take the proposed one
        accept.wait_for(timeout=3000)
        accept.click()
    except PlaywrightTimeoutError:
        pass
    page.wait_for_function(ALL_RAN, timeout=RUN_ALL_TIMEOUT_S * 1000, polling=1000)
    page.locator('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for()


def _check_the_outputs(page: Page) -> None:
    errors = page.evaluate(ERROR_OUTPUTS)
    assert not errors, "cells show errors:\n" + "\n---\n".join(errors)
    prompts = page.evaluate(PROMPTS)
    assert len(prompts) == len(_code_cells(NOTEBOOK)), prompts
    counts = [int(prompt.strip("[]:")) for prompt in prompts]
    assert len(set(counts)) == len(counts), f"a cell ran twice or not at all: {prompts}"
    page.locator(".jp-Notebook .jp-OutputArea-output img").first.scroll_into_view_if_needed()
    page.wait_for_function(CHART_RENDERED)
    rendered = [image for image in page.evaluate(OUTPUT_IMAGES) if image["width"] > 0]
    assert rendered, "no chart image rendered in an output area"


def _keep(screenshot: Path) -> None:
    """The screenshot under tests/artifacts/ (untracked) and at /tmp/browser-screenshot.png."""
    if screenshot.exists():
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copyfile(screenshot, ARTIFACTS / screenshot.name)
        shutil.copyfile(screenshot, SCREENSHOT_COPY)


def _code_cells(notebook: str) -> list[dict[str, object]]:
    cells = json.loads((NOTEBOOKS / notebook).read_text())["cells"]
    return [cell for cell in cells if cell["cell_type"] == "code"]


def _clear_outputs(path: Path) -> None:
    document = json.loads(path.read_text())
    for cell in document["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    path.write_text(json.dumps(document, indent=1))
