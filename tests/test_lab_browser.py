"""`make lab` in a real browser: JupyterLab serves the course, notebooks open on the python3 kernel,
and the latent explorer draws an image that changes when its slider moves.

This is what a learner does, end to end: the README's command starts the server (no display, a token
in the printed URL), headless Chromium opens each course notebook (a notebook without the python3
kernelspec would block on a "Select Kernel" dialog), then runs a notebook that shows
``synthlib.widgets.explorer_ui`` and presses the arrow key on the seed slider. The kernel must
re-render, and the picture on the page must change -- a widget that draws nothing fails here.

Needs Debian's ``chromium`` (``make browser`` installs it when run as root with apt) and the
``playwright`` package from the dev extras; without chromium the test is skipped, except under
CI (``CI=true``), where a skip would hide a broken set-up, so it fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]

if CHROMIUM is None:
    reason = "Debian's chromium is not installed (run `make browser` as root, or apt-get install chromium)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must run the browser test: {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (in the dev extras)")

# The notebook the widget check runs: a small DCGAN generator whose untrained images have contrast
# (DCGAN's N(0, 0.02) init leaves every pixel one grey level), its explorer, and the UI.
EXPLORER_CELL = """\
import torch
from synthlib.models.dcgan import DCGANGenerator
from synthlib.widgets import LatentExplorer, explorer_ui

torch.manual_seed(0)
G = DCGANGenerator(DCGANGenerator.Config(z_dim=16, img_size=28, base_channels=8))
with torch.no_grad():
    for m in G.modules():
        if isinstance(m, torch.nn.ConvTranspose2d):
            m.weight.normal_(0.0, 0.2)
ui = explorer_ui(LatentExplorer(G, z_dim=16, num_samples=256, device="cpu"))
ui"""


def widget_notebook() -> dict:
    return {
        "cells": [{"cell_type": "code", "execution_count": None, "id": "explorer", "metadata": {}, "outputs": [],
                   "source": EXPLORER_CELL}],
        "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
                     "language_info": {"name": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`make lab` on a copy of notebooks/ plus the widget notebook; yields the printed URL (with its token)."""
    lab_dir = tmp_path_factory.mktemp("lab")
    for nb in NOTEBOOKS:
        shutil.copy(nb, lab_dir / nb.name)
    (lab_dir / "explorer_check.ipynb").write_text(json.dumps(widget_notebook()))
    # Keep JupyterLab's own state (workspaces, news prompts) out of the user's home.
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(lab_dir / ".config"), "JUPYTERLAB_WORKSPACES_DIR": str(lab_dir / ".ws")}
    log = open(lab_dir / ".lab.log", "w+")
    proc = subprocess.Popen(["make", "--no-print-directory", "lab", f"LAB_PORT={free_port()}", f"LAB_DIR={lab_dir}"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = None
        deadline = time.monotonic() + 120
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
            log.seek(0)
            match = re.search(r"(http://127\.0\.0\.1:\d+/lab\?token=[0-9a-f]+)", log.read())
            url = match.group(1) if match else None
        log.seek(0)
        assert url, f"`make lab` printed no http://127.0.0.1:PORT/lab?token=... URL within 120 s:\n{log.read()[-3000:]}"
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(scope="module")
def page(lab: str) -> Iterator["sync_api.Page"]:
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 1000})
        finally:
            browser.close()


def open_notebook(page: "sync_api.Page", lab_url: str, name: str) -> "sync_api.Locator":
    """Open ``name`` in JupyterLab, wait until its kernel is idle (fails on a kernel dialog) and
    return its notebook panel (notebooks opened before stay open, hidden, in other tabs)."""
    base, token = lab_url.split("/lab?token=")
    page.goto(f"{base}/lab/tree/{name}?token={token}")
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-current").filter(has_text=name).first
    tab.wait_for(state="attached", timeout=60_000)
    panel = page.locator(f"#{tab.get_attribute('data-id')}")  # the tab's data-id is its panel's id
    panel.wait_for(state="visible", timeout=60_000)
    # The kernel status element exists but is hidden; wait for it attached with the text "Idle".
    idle = page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle'], [aria-label*='Kernel status: Idle']")
    try:
        idle.first.wait_for(state="attached", timeout=60_000)
    except sync_api.TimeoutError:
        dialog = page.locator(".jp-Dialog").first
        text = dialog.inner_text() if dialog.count() else "no dialog"
        raise AssertionError(f"{name}: its kernel never became idle in JupyterLab ({text})") from None
    dialogs = page.locator(".jp-Dialog")
    assert dialogs.count() == 0, f"{name}: JupyterLab opened a dialog: {dialogs.first.inner_text()}"
    return panel


@pytest.mark.parametrize("name", [nb.name for nb in NOTEBOOKS])
def test_course_notebook_opens_on_python3_kernel(page: "sync_api.Page", lab: str, name: str) -> None:
    panel = open_notebook(page, lab, name)
    # The chapter's title (the first markdown line) is on the page, rendered.
    first = "".join(json.loads((ROOT / "notebooks" / name).read_text())["cells"][0]["source"]).splitlines()[0]
    title = first.lstrip("# ").strip()
    heading = panel.locator(".jp-RenderedMarkdown h1").first
    heading.wait_for(state="visible", timeout=30_000)
    assert title in heading.inner_text(), f"{name}: expected the heading {title!r}, got {heading.inner_text()!r}"


# The pixels the page holds for an <img> (its natural size, grey), read back through a canvas:
# independent of scrolling, zoom and anything drawn over the image.
IMG_PIXELS = """img => {
    const c = document.createElement('canvas');
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const rgba = ctx.getImageData(0, 0, c.width, c.height).data;
    return {width: c.width, height: c.height, grey: Array.from(rgba.filter((_, i) => i % 4 === 0))};
}"""


def pixels(image: "sync_api.Locator") -> "object":
    import numpy as np

    got = image.evaluate(IMG_PIXELS)
    return np.asarray(got["grey"], dtype=np.float32).reshape(got["height"], got["width"])


def test_latent_explorer_draws_and_follows_its_slider(page: "sync_api.Page", lab: str) -> None:
    panel = open_notebook(page, lab, "explorer_check.ipynb")
    panel.locator(".jp-Cell .jp-InputArea-editor").first.click()
    page.keyboard.press("Shift+Enter")
    image = panel.locator(".jp-OutputArea-output img.widget-image, .jp-OutputArea-output .widget-image img").first
    image.wait_for(state="visible", timeout=120_000)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle(), timeout=30_000)
    before = pixels(image)
    assert before.shape == (28 * 4, 28 * 4), f"the explorer's image is {before.shape}, expected 28 x 28 enlarged 4 times"
    assert before.std() > 5, f"the explorer drew a flat image (pixel std {before.std():.1f} of 255)"

    # Move the seed slider one step with the keyboard, as a person would.
    seed_slider = panel.locator(".widget-slider").filter(has_text="seed").first
    seed_slider.locator(".noUi-handle").first.focus()
    page.keyboard.press("ArrowRight")
    readout = seed_slider.locator(".widget-readout").first
    page.wait_for_function("el => el.textContent.trim() === '1'", arg=readout.element_handle(), timeout=30_000)

    change = 0.0
    for _ in range(60):  # the kernel renders the new image and the page swaps it in
        after = pixels(image)
        change = float(abs(after - before).mean()) if after.shape == before.shape else float("inf")
        if change > 2:
            break
        time.sleep(0.5)
    assert change > 2, f"moving the seed slider did not change the explorer's image (mean change {change:.2f} of 255)"
    assert after.std() > 5, "the image drawn for the new seed is flat"
