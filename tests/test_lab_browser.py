"""`make lab` in a real browser: JupyterLab serves the course, notebooks open on the python3 kernel
with no notification toast over them, the latent explorer draws an image that changes when its slider
moves, and the comparison viewer follows its search box and direction toggle.

This is what a learner does, end to end: the README's command starts the server (no display, a token
in the printed URL), headless Chromium opens each course notebook (a notebook without the python3
kernelspec would block on a "Select Kernel" dialog), then runs a notebook that shows
``synthlib.gan.latent_widget.explorer_ui`` and presses the arrow key on the seed slider. The kernel must
re-render, and the picture on the page must change -- a widget that draws nothing fails here. A second
widget notebook shows ``synthlib.translation.compare_widget.comparison_ui``: the test types a name into its search box and
clicks a direction button, and the picture and caption must follow each time. A third paints an
inpainting hole on ``synthlib.restoration.painter_widget.inpaint_ui``'s canvas by dragging the mouse across it.

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
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # JupyterLab in Chromium: `make unit` skips it

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
from synthlib.gan.dcgan import DCGANGenerator
from synthlib.gan.latent_widget import LatentExplorer, explorer_ui
from synthlib.sample import load_generator
from synthlib.ui import ModelSwitch

G, _ = load_generator("course:dcgan-fashion", device="cpu")   # chapter 2's course weights (SHA-256 checked)
torch.manual_seed(0)
G_run = DCGANGenerator(DCGANGenerator.Config(z_dim=16, img_size=28, img_channels=1, base_channels=8)).eval()
ui = ModelSwitch({"course weights": explorer_ui(LatentExplorer(G, z_dim=G.config.z_dim, num_samples=256, device="cpu")),
                  "this run": explorer_ui(LatentExplorer(G_run, z_dim=16, num_samples=256, device="cpu"))})
ui"""

# The comparison notebook: five named items, two directions of four columns, every image made of seeded
# random blocks of pure colour, so each item, column and direction looks different (no training, no data
# files: what is checked is the widget's wiring, not the models behind it).
COMPARISON_CELL = """\
import torch
import torch.nn.functional as F
from synthlib.translation.compare_widget import ComparisonViewer, comparison_ui

names = ["grinning face", "cat face", "dog face", "red heart", "flag: France"]

def blocks(seed):
    g = torch.Generator().manual_seed(seed)
    coarse = torch.randint(0, 2, (len(names), 3, 4, 4), generator=g).float() * 2 - 1  # pure colours in [-1, 1]
    return F.interpolate(coarse, size=24, mode="nearest")

columns = {direction: {title: blocks(10 * d + c) for c, title in enumerate(["input", "L1", "Pix2Pix", "true"])}
           for d, direction in enumerate(["Google -> Twitter", "Twitter -> Google"])}
ui = comparison_ui(ComparisonViewer(names, columns))
ui"""


# Chapter 4's AdaIN mixer with an untrained decoder and encoder (random weights: the wiring is checked,
# not the model): photos and styles are blocks of colour, the two styles far apart in brightness.
STYLE_CELL = """\
import torch
import torch.nn.functional as F
from synthlib.nn.vgg import VGG16Features
from synthlib.style.style_nets import AdaINDecoder
from synthlib.style.mixer_widget import StyleMixer, style_ui

torch.manual_seed(0)
vgg = VGG16Features(VGG16Features.Config(max_layer="relu2_1"))
decoder = AdaINDecoder(AdaINDecoder.Config(layer="relu2_1", width=0.25))

def blocks(seed, n=4, size=48, scale=1.0, shift=0.0):
    g = torch.Generator().manual_seed(seed)
    coarse = (torch.rand(1, 3, n, n, generator=g) * 2 - 1) * scale + shift
    return F.interpolate(coarse.clamp(-1, 1), size=size, mode="nearest")

photos = {"blocks": blocks(1), "stripes": blocks(2, n=8)}
styles = {"bright": blocks(3, n=16, scale=0.3, shift=0.7), "dark": blocks(4, n=2, scale=0.3, shift=-0.7)}
ui = style_ui(StyleMixer(decoder, vgg, photos, styles))
ui"""

# Chapter 6's mask painter on a photo of seeded blocks of pure colour, with two cheap fills: the mean colour
# of the known pixels (a plain lambda) and OpenCV's Telea. The hole is painted in the test, with the mouse.
INPAINT_CELL = """\
import torch
import torch.nn.functional as F
from synthlib.restoration import inpaint_telea
from synthlib.restoration.painter_widget import MaskPainter, inpaint_ui

g = torch.Generator().manual_seed(0)
coarse = torch.randint(0, 2, (1, 3, 4, 4), generator=g).float() * 2 - 1  # pure colours in [-1, 1]
img = F.interpolate(coarse, size=48, mode="nearest")[0]
mean_fill = lambda image, hole: torch.where(hole, image[:, ~hole].mean(1)[:, None, None], image)
ui = inpaint_ui(MaskPainter(img, {"mean fill": mean_fill, "telea": inpaint_telea}, brush=4), scale=3)
ui"""


# Chapter 6's denoising explorer on a photo of seeded colour blocks, with two cheap denoisers: a 3x3 box blur (a
# plain lambda) and scikit-image's total variation. The noise level is moved in the test, with the arrow keys.
DENOISE_CELL = """\
import torch
import torch.nn.functional as F
from synthlib.restoration import denoise_tv
from synthlib.restoration.denoise_widget import DenoiseExplorer, denoise_ui

g = torch.Generator().manual_seed(0)
img = F.interpolate(torch.rand(1, 3, 4, 4, generator=g) * 2 - 1, size=40, mode="nearest")[0]
box = lambda y, sigma: F.avg_pool2d(y[None], 3, stride=1, padding=1, count_include_pad=False)[0]
ui = denoise_ui(DenoiseExplorer(img, {"box blur": box, "TV": lambda y, sigma: denoise_tv(y)}, sigma=10), scale=3)
ui"""


LIVE_CELL = """\
import torch
from synthlib.core.live import LiveView, samples_preview
from synthlib.data.batches import TensorBatches
from synthlib.gan.dcgan import DCGANDiscriminator, DCGANGenerator
from synthlib.gan.phases import GANConfig, gan_trainer

torch.manual_seed(0)
G = DCGANGenerator(DCGANGenerator.Config(z_dim=8, img_size=28, img_channels=1, base_channels=8))
D = DCGANDiscriminator(DCGANDiscriminator.Config(img_size=28, img_channels=1, base_channels=8))
real = torch.zeros(256, 1, 28, 28) - 1
real[:, :, 7:21, 7:21] = 1   # a white square on black: the samples move towards it as G learns
trainer = gan_trainer(G, D, TensorBatches(real, batch_size=16, seed=0), GANConfig(z_dim=8, batch_size=16, lr_g=2e-3,
                      lr_d=2e-3, ema_half_life_img=200), kind="dcgan", device="cpu", progress=False, log_every=5)
view = LiveView(samples_preview(16, seed=1), title="live check", every_s=0.5, max_share=0.5)
view.attach(trainer)
# A frame costs ~0.5 s on a slow 2-core CPU, the first several seconds (matplotlib's start) when the browser shares
# the CPU; max_share=0.5 still leaves time for two frames during the 12 s before the final one.
trainer.fit(max_seconds=12)
print("live", view.live, "frames", view.draws, f"drawing {view.draw_seconds:.1f} s")"""


def widget_notebook(source: str, cell_id: str) -> dict:
    return {
        "cells": [{"cell_type": "code", "execution_count": None, "id": cell_id, "metadata": {}, "outputs": [],
                   "source": source}],
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
    """`make lab` on a copy of notebooks/ plus the widget notebooks; yields the printed URL (with its token)."""
    lab_dir = tmp_path_factory.mktemp("lab")
    for nb in NOTEBOOKS:
        shutil.copy(nb, lab_dir / nb.name)
    (lab_dir / "explorer_check.ipynb").write_text(json.dumps(widget_notebook(EXPLORER_CELL, "explorer")))
    (lab_dir / "comparison_check.ipynb").write_text(json.dumps(widget_notebook(COMPARISON_CELL, "comparison")))
    (lab_dir / "style_check.ipynb").write_text(json.dumps(widget_notebook(STYLE_CELL, "style")))
    (lab_dir / "inpaint_check.ipynb").write_text(json.dumps(widget_notebook(INPAINT_CELL, "inpaint")))
    (lab_dir / "stylegan_check.ipynb").write_text(json.dumps(widget_notebook(STYLEGAN_CELL, "stylegan")))
    (lab_dir / "diffusion_check.ipynb").write_text(json.dumps(widget_notebook(DIFFUSION_CELL, "diffusion")))
    (lab_dir / "denoise_check.ipynb").write_text(json.dumps(widget_notebook(DENOISE_CELL, "denoise")))
    (lab_dir / "live_check.ipynb").write_text(json.dumps(widget_notebook(LIVE_CELL, "live")))
    # Keep JupyterLab's own state (workspaces, news prompts) out of the user's home. The user settings
    # there start empty, so the course's app-level overrides.json in the venv decides the defaults.
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


# True once JupyterLab's status bar shows the notebook ``name`` with its kernel connected and idle
# ("Python 3 (ipykernel) | Idle"; "No Kernel | Initializing", "... | Connecting" and "... | Unknown" come first).
STATUS_BAR_IDLE = """name => {
    const bar = document.querySelector('#jp-main-statusbar');
    const text = bar ? bar.innerText.replace(/\\s+/g, ' ') : '';
    return text.includes(name) && !text.includes('No Kernel') && /\\| Idle\\b/.test(text);
}"""


def open_notebook(page: "sync_api.Page", lab_url: str, name: str) -> "sync_api.Locator":
    """Open ``name`` in JupyterLab, wait until its kernel is idle (fails on a kernel dialog) and
    return its notebook panel (notebooks opened before stay open, hidden, in other tabs)."""
    base, token = lab_url.split("/lab?token=")
    # Once JupyterLab is loaded, open the notebook from its file browser with a double click, as a person
    # would: loading the whole app again for each notebook cost ~4.5 s of the ~5 s each opening took.
    item = page.locator(".jp-DirListing-content .jp-DirListing-itemText").get_by_text(name, exact=True)
    if page.url.startswith(f"{base}/lab") and item.count() == 1 and item.is_visible():
        item.dblclick()
    else:
        page.goto(f"{base}/lab/tree/{name}?token={token}")
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-current").filter(has_text=name).first
    tab.wait_for(state="attached", timeout=60_000)
    panel = page.locator(f"#{tab.get_attribute('data-id')}")  # the tab's data-id is its panel's id
    panel.wait_for(state="visible", timeout=60_000)
    # Wait for the status bar, which describes the current notebook, to name this one and its kernel idle.
    # Not the toolbar's .jp-Notebook-ExecutionIndicator: it reads "idle" while its panel still has "No Kernel",
    # and the tab JupyterLab restores from the previous page load gets its kernel first -- a cell run then
    # is dropped without a word.
    try:
        page.wait_for_function(STATUS_BAR_IDLE, arg=name, timeout=60_000)
    except sync_api.TimeoutError:
        dialog = page.locator(".jp-Dialog").first
        text = dialog.inner_text() if dialog.count() else "no dialog"
        bar = page.locator("#jp-main-statusbar").first
        status = bar.inner_text().replace("\n", " ") if bar.count() else "no status bar"
        raise AssertionError(
            f"{name}: its kernel never became idle in JupyterLab ({text}; status bar: {status})") from None
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
    if name == NOTEBOOKS[0].name:  # the course's first page: no toast over it (one kernel start for both checks)
        assert_no_notification_toast(page, name)


NOTIFICATION_SETTINGS = "@jupyterlab/apputils-extension:notification"


def test_lab_settings_turn_the_news_prompt_off(lab: str) -> None:
    """JupyterLab 4 asks "Would you like to get notified about official Jupyter news?" in a toast at
    every start while ``fetchNews`` is "none" (its schema default); the course's overrides.json, which
    `make lab` copies into the venv, makes the default "false". The settings API returns the schema with
    the app-level overrides folded into its defaults, plus the user's own settings (none: the fixture's
    JUPYTER_CONFIG_DIR is empty); the front end's composite is the user's value over that default."""
    base, token = lab.split("/lab?token=")
    with urllib.request.urlopen(f"{base}/lab/api/settings/{NOTIFICATION_SETTINGS}?token={token}", timeout=30) as r:
        got = json.load(r)
    composite = {key: prop.get("default") for key, prop in got["schema"]["properties"].items()}
    composite.update(got.get("settings") or {})
    assert composite.get("fetchNews") == "false", (
        f"{NOTIFICATION_SETTINGS}: fetchNews is {composite.get('fetchNews')!r}, not 'false' -- JupyterLab will "
        "ask about Jupyter news in a toast over the notebook (is .venv/share/jupyter/lab/settings/overrides.json "
        f"installed from scripts/jupyterlab-overrides.json?); user settings {got.get('settings')}")


# JupyterLab 4 draws every notification as a react-toastify toast in the lower right corner, e.g. the news
# prompt: <div class="Toastify__toast ... jp-Notification-Toast-default"> inside <div class="... jp-toastContainer">.
TOAST = ".Toastify__toast:visible, .jp-toastContainer [class*='jp-Notification-Toast']:visible"


def assert_no_notification_toast(page: "sync_api.Page", name: str) -> None:
    """A toast covers the lower right corner of the notebook (outputs, the widget a learner is using)
    and takes the clicks meant for it. JupyterLab raises the news prompt a moment after the app has
    loaded, so look for one for 5 s after the notebook's kernel is idle."""
    toast = page.locator(TOAST)
    try:
        toast.first.wait_for(state="visible", timeout=5_000)
    except sync_api.TimeoutError:
        return  # no toast within 5 s: the notebook is unobstructed
    raise AssertionError(f"{name}: JupyterLab shows a notification toast over the notebook: {toast.first.inner_text()!r}")


# The pixels the page holds for an <img> (its natural size, grey), read back through a canvas:
# independent of scrolling, zoom and anything drawn over the image. null while the image is loading.
IMG_PIXELS = """img => {
    if (!img.complete || img.naturalWidth === 0) return null;
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
    if got is None:
        return None
    return np.asarray(got["grey"], dtype=np.float32).reshape(got["height"], got["width"])


def run_widget_notebook(page: "sync_api.Page", lab: str, name: str) -> tuple["sync_api.Locator", "sync_api.Locator"]:
    """Open ``name``, run its one cell with Shift+Enter and wait until the widget's <img> has loaded;
    return the notebook panel and the image."""
    panel = open_notebook(page, lab, name)
    panel.locator(".jp-Cell .jp-InputArea-editor").first.click()
    page.keyboard.press("Shift+Enter")
    image = panel.locator(".jp-OutputArea-output img.widget-image, .jp-OutputArea-output .widget-image img").first
    image.wait_for(state="visible", timeout=120_000)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle(), timeout=30_000)
    return panel, image


def wait_for_new_picture(image: "sync_api.Locator", before: "object", what: str) -> "object":
    """The image's pixels once they differ from ``before`` by more than 2 grey levels of 255 on average:
    the kernel renders, the page swaps the new PNG in. Fails after 30 s, saying ``what`` did not change it."""
    change = 0.0
    for _ in range(60):
        after = pixels(image)
        if after is not None:
            change = float(abs(after - before).mean()) if after.shape == before.shape else float("inf")
            if change > 2:
                return after
        time.sleep(0.5)
    raise AssertionError(f"{what} did not change the picture (mean change {change:.2f} of 255)")


def test_latent_explorer_draws_and_follows_its_slider(page: "sync_api.Page", lab: str) -> None:
    """Chapter 2's latent explorer opened on the course weights (course:dcgan-fashion), as the chapter opens it,
    behind the model switch that changes to the run's own generator and back."""
    panel, image = run_widget_notebook(page, lab, "explorer_check.ipynb")
    before = pixels(image)
    assert before.shape == (28 * 4, 28 * 4), f"the explorer's image is {before.shape}, expected 28 x 28 enlarged 4 times"
    assert before.std() > 5, f"the explorer drew a flat image (pixel std {before.std():.1f} of 255)"

    # Move the seed slider one step with the keyboard, as a person would.
    seed_slider = panel.locator(".widget-slider").filter(has_text="seed").first
    seed_slider.locator(".noUi-handle").first.focus()
    page.keyboard.press("ArrowRight")
    readout = seed_slider.locator(".widget-readout").first
    page.wait_for_function("el => el.textContent.trim() === '1'", arg=readout.element_handle(), timeout=30_000)

    after = wait_for_new_picture(image, before, "moving the seed slider")
    assert after.std() > 5, "the image drawn for the new seed is flat"

    # The model buttons: from the course weights to the model "this run" trained (here an untrained one)
    panel.get_by_role("button", name="this run").click()
    this_run = wait_for_new_picture(image, after, "clicking 'this run' on the model switch")
    panel.get_by_role("button", name="course weights").click()
    # compared with the picture before the click: read after it, the picture may already be the new one
    back = wait_for_new_picture(image, this_run, "clicking 'course weights' again")
    assert float(abs(back - after).mean()) < 1, "back on the course weights, the explorer lost its seed"


# The labels a <select> shows as selected, spaces normalised (ipywidgets writes them as non-breaking ones).
SELECTED = "Array.from(el.selectedOptions).map(o => o.textContent.replace(/\\s+/g, ' ').trim())"


def wait_for_caption(page: "sync_api.Page", caption: "sync_api.Locator", needles: list[str], what: str) -> None:
    """Wait until the caption's text holds every one of ``needles``; fail naming ``what`` and the text."""
    try:
        page.wait_for_function("([el, needles]) => needles.every(n => el.innerText.replace(/\\s+/g, ' ').includes(n))",
                               arg=[caption.element_handle(), needles], timeout=30_000)
    except sync_api.TimeoutError:
        raise AssertionError(f"{what}: the caption {caption.inner_text()!r} does not mention {needles}") from None


def test_comparison_viewer_follows_search_and_direction(page: "sync_api.Page", lab: str) -> None:
    """Chapter 3's viewer, driven as a learner drives it: type part of a name into the search box (the
    dropdown must jump to the match and the picture follow), then click the other direction's button.
    Each step must change the picture on the page and the caption must name the item shown."""
    panel, image = run_widget_notebook(page, lab, "comparison_check.ipynb")
    before = pixels(image)
    # Four 24-pixel columns with 2-pixel gaps between them, enlarged 3 times.
    assert before.shape == (24 * 3, (4 * 24 + 3 * 2) * 3), f"the viewer's image is {before.shape}, expected 72 x 306"
    assert before.std() > 5, f"the viewer drew a flat image (pixel std {before.std():.1f} of 255)"
    caption = panel.locator(".jp-OutputArea-output .widget-html").last
    wait_for_caption(page, caption, ["grinning face", "Google -> Twitter"], "the first item")

    # Click into the search box and type, one key at a time, as a person would.
    search = panel.locator(".widget-text").filter(has_text="search").locator("input").first
    search.click()
    page.keyboard.type("cat", delay=50)
    dropdown = panel.locator(".widget-dropdown").filter(has_text="emoji").locator("select").first
    try:
        page.wait_for_function(f"el => ({SELECTED}).includes('cat face')", arg=dropdown.element_handle(),
                               timeout=30_000)
    except sync_api.TimeoutError:
        shown = dropdown.evaluate(f"el => {SELECTED}")
        raise AssertionError(f"typing 'cat' into the search box (it holds {search.input_value()!r}) did not select "
                             f"'cat face' in the dropdown; it shows {shown}") from None
    after_search = wait_for_new_picture(image, before, "picking 'cat face' by typing 'cat' into the search box")
    wait_for_caption(page, caption, ["cat face", "Google -> Twitter"], "after the search")

    toggle = panel.locator(".widget-toggle-buttons").filter(has_text="direction")
    toggle.get_by_role("button", name="Twitter -> Google").click()
    after_toggle = wait_for_new_picture(image, after_search, "clicking the 'Twitter -> Google' button")
    assert after_toggle.std() > 5, "the image drawn for the other direction is flat"
    wait_for_caption(page, caption, ["cat face", "Twitter -> Google"], "after clicking 'Twitter -> Google'")


def test_style_mixer_follows_style_and_alpha(page: "sync_api.Page", lab: str) -> None:
    """Chapter 4's AdaIN widget: pick another style in its dropdown, then move alpha down to 0 with the
    keyboard (20 steps of 0.05); each must redraw the picture, and the caption must say what is shown."""
    panel, image = run_widget_notebook(page, lab, "style_check.ipynb")
    before = pixels(image)
    # photo | style | result, each 48 px high and wide, 2-pixel gaps
    assert before.shape == (48, 3 * 48 + 2 * 2), f"the mixer's image is {before.shape}, expected 48 x 148"
    assert before.std() > 5, f"the mixer drew a flat image (pixel std {before.std():.1f} of 255)"
    caption = panel.locator(".jp-OutputArea-output .widget-html").last
    wait_for_caption(page, caption, ["blocks", "bright", "alpha 1.00"], "the first picture")

    style = panel.locator(".widget-dropdown").filter(has_text="style").locator("select").first
    style.select_option(label="dark")
    after_style = wait_for_new_picture(image, before, "choosing the style 'dark'")
    wait_for_caption(page, caption, ["blocks", "dark"], "after choosing 'dark'")

    alpha = panel.locator(".widget-slider").filter(has_text="alpha").first
    alpha.locator(".noUi-handle").first.focus()
    for _ in range(20):
        page.keyboard.press("ArrowLeft")
    readout = alpha.locator(".widget-readout").first
    page.wait_for_function("el => el.textContent.trim() === '0.00'", arg=readout.element_handle(), timeout=30_000)
    wait_for_new_picture(image, after_style, "moving alpha to 0 with the arrow keys")
    wait_for_caption(page, caption, ["dark", "alpha 0.00"], "after moving alpha to 0")


def canvas_pixels(canvas: "sync_api.Locator") -> "object":
    """What the screen shows of a <canvas> (H x W x 3 uint8), from a screenshot of the element: ipycanvas
    draws through an OffscreenCanvas, so the page's own canvas cannot be read back with getImageData."""
    import io

    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(canvas.screenshot())).convert("RGB"))


# True once the caption reports a hole: "coverage X %" with X > 0.
COVERAGE_ABOVE_ZERO = "el => /coverage (?!0\\.0 %)\\d+\\.\\d %/.test(el.innerText.replace(/\\s+/g, ' '))"


def test_inpaint_painter_follows_the_mouse(page: "sync_api.Page", lab: str) -> None:
    """Chapter 6's mask painter, used as a learner uses it: press the mouse on the photo, drag it across,
    release. The canvas must show the stroke in white at once, the fills (masked | mean fill | telea)
    must be redrawn and the caption must report the hole's coverage; "clear" must undo it all."""
    panel, image = run_widget_notebook(page, lab, "inpaint_check.ipynb")
    before = pixels(image)
    # masked | mean fill | telea, each 48 px square with 2-pixel gaps, enlarged 3 times
    assert before.shape == (48 * 3, (3 * 48 + 2 * 2) * 3), f"the results are {before.shape}, expected 144 x 444"
    assert before.std() > 5, f"the painter drew a flat picture (pixel std {before.std():.1f} of 255)"
    caption = panel.locator(".jp-OutputArea-output .widget-html").last
    wait_for_caption(page, caption, ["coverage 0.0 %", "names: masked | mean fill | telea"], "before painting")

    canvas = panel.locator(".jp-OutputArea-output canvas.synthlib-mask-canvas").first
    canvas.wait_for(state="visible", timeout=30_000)
    assert canvas.evaluate("el => [el.width, el.height]") == [48 * 3, 48 * 3], "the canvas is not 48 x 48 times 3"
    canvas.scroll_into_view_if_needed()
    # The kernel draws the photo into the canvas after the view appears; wait for it (a blank canvas is flat).
    deadline = time.monotonic() + 30
    while (shown := canvas_pixels(canvas)).std() < 5 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert shown.std() >= 5, f"the canvas shows no photo (pixel std {shown.std():.1f} of 255)"
    h, w = shown.shape[:2]
    assert not (shown[h // 2, int(0.2 * w) : int(0.8 * w)] >= 235).all(), "the row to paint is white already"

    # Drag across the middle of the canvas, left to right, in several steps, as a hand would.
    box = canvas.bounding_box()
    y = box["y"] + box["height"] * 0.5
    x0, x1 = box["x"] + box["width"] * 0.15, box["x"] + box["width"] * 0.85
    page.mouse.move(x0, y)
    page.mouse.down()
    page.mouse.move(x1, y, steps=12)
    page.mouse.up()

    after = wait_for_new_picture(image, before, "dragging the mouse across the canvas")
    try:
        page.wait_for_function(COVERAGE_ABOVE_ZERO, arg=caption.element_handle(), timeout=30_000)
    except sync_api.TimeoutError:
        raise AssertionError(f"after the drag the caption {caption.inner_text()!r} reports no coverage") from None
    wait_for_caption(page, caption, ["mean fill", "telea"], "after the drag")
    # The stroke is white on the canvas along the drag (the screenshot may be scaled with the device pixels).
    shown = canvas_pixels(canvas)
    row = shown[h // 2, int(0.2 * w) : int(0.8 * w)]
    assert (row >= 235).all(), f"the canvas does not show the stroke in white along the drag: {row.min(0)}"

    panel.get_by_role("button", name="clear").click()
    wait_for_caption(page, caption, ["coverage 0.0 %"], "after clicking 'clear'")
    cleared = wait_for_new_picture(image, after, "clicking 'clear'")
    assert float(abs(cleared - before).mean()) < 1, "after 'clear' the results are not the untouched photo again"
    deadline = time.monotonic() + 30
    while (canvas_pixels(canvas)[h // 2, int(0.2 * w) : int(0.8 * w)] >= 235).all() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not (canvas_pixels(canvas)[h // 2, int(0.2 * w) : int(0.8 * w)] >= 235).all(), (
        "after 'clear' the canvas still shows the stroke")


# Chapter 5's StyleGAN explorer on a tiny untrained StyleGAN2 generator (random weights: the wiring is
# checked, not the model). The lab fixture serves its own notebooks, so this one is written through
# Jupyter's contents API, as JupyterLab's "save" would.
STYLEGAN_CELL = """\
import torch
from synthlib.stylegan import StyleGANGenerator
from synthlib.stylegan.stylegan_widget import StyleGANExplorer, stylegan_ui

torch.manual_seed(0)
config = StyleGANGenerator.Config(img_size=16, img_channels=1, z_dim=16, w_dim=16, n_mlp=2, base_channels=8,
                                  max_channels=32)
G, G_other = StyleGANGenerator(config), StyleGANGenerator(config)   # two random generators: "course" and "run"
ui = stylegan_ui(StyleGANExplorer({"course weights": G, "this run": G_other}, seed_a=0, seed_b=1), scale=4)
ui"""


def test_stylegan_explorer_follows_its_mixing_slider(page: "sync_api.Page", lab: str) -> None:
    """The StyleGAN explorer as a learner drives it: A | B | mixed, with the crossover slider at 6 (all
    layers from seed A). Move it down to 1 with the arrow keys -- the mixed picture must take seed B's
    layers 1-5 and the caption must say so -- then type another seed B into its box and press Enter, then switch
    from the course weights to this run's generator with the model buttons."""
    panel, image = run_widget_notebook(page, lab, "stylegan_check.ipynb")
    before = pixels(image)
    # A | B | mixed, each 16 px square with 2-pixel gaps, enlarged 4 times
    assert before.shape == (16 * 4, (3 * 16 + 2 * 2) * 4), f"the explorer's image is {before.shape}, expected 64 x 208"
    assert before.std() > 5, f"the explorer drew a flat image (pixel std {before.std():.1f} of 255)"
    caption = panel.locator(".jp-OutputArea-output .widget-html").last
    wait_for_caption(page, caption, ["A | B | mixed", "all 6 layers from seed A", "psi 1.00"], "the first picture")
    # Panel k of A | B | mixed spans columns [k * (16 + 2) * 4, k * (16 + 2) * 4 + 16 * 4) on the page.
    a, b, mixed = (slice(k * 18 * 4, k * 18 * 4 + 16 * 4) for k in range(3))
    assert float(abs(before[:, a] - before[:, mixed]).mean()) < 1, "with no mixing, 'mixed' is not seed A"
    assert float(abs(before[:, a] - before[:, b]).mean()) > 5, "seeds A and B look alike: the test would be blind"

    crossover = panel.locator(".widget-slider").filter(has_text="crossover").first
    crossover.locator(".noUi-handle").first.focus()
    for _ in range(5):
        page.keyboard.press("ArrowLeft")
    readout = crossover.locator(".widget-readout").first
    page.wait_for_function("el => el.textContent.trim() === '1'", arg=readout.element_handle(), timeout=30_000)
    after_mix = wait_for_new_picture(image, before, "moving the crossover slider from 6 to 1")
    wait_for_caption(page, caption, ["layer 0 from seed A, 1-5 from seed B"], "after moving the crossover to 1")
    # Seeds A and B alone are as before; only the mixed picture changed.
    assert float(abs(after_mix[:, : b.stop] - before[:, : b.stop]).mean()) < 1, "moving the crossover changed A or B"
    assert float(abs(after_mix[:, mixed] - before[:, mixed]).mean()) > 5, "the mixed picture hardly changed"
    assert after_mix.std() > 5, "the mixed image is flat"

    seed_b = panel.locator(".widget-inline-hbox").filter(has_text="seed B").locator("input").first
    seed_b.click()
    seed_b.fill("7")
    page.keyboard.press("Enter")
    after_seed = wait_for_new_picture(image, after_mix, "typing 7 into seed B")
    assert float(abs(after_seed[:, a] - after_mix[:, a]).mean()) < 1, "a new seed B changed seed A's picture"
    assert float(abs(after_seed[:, b] - after_mix[:, b]).mean()) > 5, "typing 7 into seed B did not redraw seed B"

    # The model switch: the same seeds through the other generator
    wait_for_caption(page, caption, ["course weights: A | B | mixed"], "before switching the model")
    panel.get_by_role("button", name="this run").click()
    switched = wait_for_new_picture(image, after_seed, "clicking 'this run' on the model switch")
    wait_for_caption(page, caption, ["this run: A | B | mixed", "layer 0 from seed A"], "after switching the model")
    assert float(abs(switched[:, a] - after_seed[:, a]).mean()) > 5, "the other generator drew the same seed A"


# Chapter 7's diffusion explorer on a tiny untrained class-conditional DiffusionUNet whose zero-initialised
# output convolution is randomised (else it predicts 0 and nothing would move): the wiring is checked.
DIFFUSION_CELL = """\
import torch
from synthlib.data import FASHION_MNIST_CLASSES
from synthlib.likelihood.networks import DiffusionUNet
from synthlib.likelihood.diffusion_widget import DiffusionExplorer, diffusion_ui

torch.manual_seed(0)
model = DiffusionUNet(DiffusionUNet.Config(channels=(8, 16), patch=2, num_classes=10, process="diffusion"))
with torch.no_grad():
    model.out.weight.normal_(0.0, 0.1)
    model.out.bias.normal_(0.0, 0.1)
ui = diffusion_ui(DiffusionExplorer(model.eval(), FASHION_MNIST_CLASSES, label=1, steps=20), scale=2)
ui"""


def test_diffusion_explorer_follows_its_position_and_guidance_sliders(page: "sync_api.Page", lab: str) -> None:
    """The diffusion explorer as a learner drives it: 8 samples of class "Trouser" after 20 DDIM steps
    (top row) and the model's predicted final images (bottom row). Move the position slider back 10 steps
    with the arrow keys -- the states must be earlier, noisier ones and the caption must say where -- then
    raise the guidance one notch, which samples again. (The untrained network's samples are mostly black and
    white, and the last DDIM steps hardly change them: half the process back is a clear change.)"""
    panel, image = run_widget_notebook(page, lab, "diffusion_check.ipynb")
    before = pixels(image)
    # two rows (states, predictions) of eight 28-px images with 2-pixel gaps, enlarged twice
    assert before.shape == ((2 * 28 + 2) * 2, (8 * 28 + 7 * 2) * 2), f"the picture is {before.shape}, not 116 x 476"
    assert before.std() > 5, f"the explorer drew a flat picture (pixel std {before.std():.1f} of 255)"
    caption = panel.locator(".jp-OutputArea-output .widget-html").last
    wait_for_caption(page, caption, ["Trouser", "guidance w 0.00", "20 steps", "position 20 of 20"], "at first")
    states, predictions = slice(0, 28 * 2), slice((28 + 2) * 2, (2 * 28 + 2) * 2)
    assert float(abs(before[states] - before[predictions]).mean()) < 1, "at the end, the prediction is not the result"

    position = panel.locator(".widget-slider").filter(has_text="position").first
    position.locator(".noUi-handle").first.focus()
    for _ in range(10):
        page.keyboard.press("ArrowLeft")
    readout = position.locator(".widget-readout").first
    page.wait_for_function("el => el.textContent.trim() === '10'", arg=readout.element_handle(), timeout=30_000)
    wait_for_new_picture(image, before, "moving the position slider from 20 to 10")
    wait_for_caption(page, caption, ["position 10 of 20", "after 10 steps"], "after moving the position to 10")
    # Each key press redraws; the picture for position 10 came with (just before) the caption's text.
    deadline = time.monotonic() + 30
    while (after_position := pixels(image)) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert float(abs(after_position[states] - before[states]).mean()) > 5, "the state at step 10 looks like the end"
    assert after_position.std() > 5, "the picture at step 10 is flat"

    guidance = panel.locator(".widget-slider").filter(has_text="guidance").first
    guidance.locator(".noUi-handle").first.focus()
    page.keyboard.press("ArrowRight")
    readout = guidance.locator(".widget-readout").first
    page.wait_for_function("el => el.textContent.trim() === '0.25'", arg=readout.element_handle(), timeout=30_000)
    wait_for_new_picture(image, after_position, "raising the guidance to 0.25")
    wait_for_caption(page, caption, ["guidance w 0.25", "position 10 of 20"], "after raising the guidance")


def test_denoise_explorer_follows_its_noise_slider(page: "sync_api.Page", lab: str) -> None:
    """Chapter 6's denoising explorer as a learner drives it: noisy | box blur | TV | photo at sigma 10. Raise the
    level with the arrow keys to 40: the noisy picture and every method's output must change, the photo must not,
    and the caption must report the new level with lower PSNRs."""
    panel, image = run_widget_notebook(page, lab, "denoise_check.ipynb")
    before = pixels(image)
    # noisy | box blur | TV | photo, each 40 px square with 2-pixel gaps, enlarged 3 times
    assert before.shape == (40 * 3, (4 * 40 + 3 * 2) * 3), f"the explorer's image is {before.shape}, expected 120 x 498"
    assert before.std() > 5, f"the explorer drew a flat picture (pixel std {before.std():.1f} of 255)"
    caption = panel.locator(".jp-OutputArea-output .widget-html").last
    wait_for_caption(page, caption, ["sigma 10 |", "box blur", "TV", "clean photo"], "at first")
    first_caption = caption.inner_text()

    slider = panel.locator(".widget-slider").filter(has_text="sigma").first
    slider.locator(".noUi-handle").first.focus()
    for _ in range(6):
        page.keyboard.press("ArrowRight")
    readout = slider.locator(".widget-readout").first
    page.wait_for_function("el => el.textContent.trim() === '40'", arg=readout.element_handle(), timeout=30_000)
    wait_for_caption(page, caption, ["sigma 40 |"], "after raising the noise level to 40")
    after = wait_for_new_picture(image, before, "raising the noise level from 10 to 40")
    panels = [slice(k * 42 * 3, k * 42 * 3 + 40 * 3) for k in range(4)]
    for k, name in enumerate(("noisy", "box blur", "TV")):
        assert float(abs(after[:, panels[k]] - before[:, panels[k]]).mean()) > 2, f"the {name} picture hardly changed"
    assert float(abs(after[:, panels[3]] - before[:, panels[3]]).mean()) < 1, "the clean photo changed with the noise"

    def noisy_db(text: str) -> float:
        return float(re.search(r"noisy ([0-9.]+) dB", text).group(1))

    assert noisy_db(caption.inner_text()) < noisy_db(first_caption) - 6, (first_caption, caption.inner_text())


def test_live_view_redraws_while_a_cell_trains(page: "sync_api.Page", lab: str) -> None:
    """A training cell with a LiveView in real JupyterLab: it knows a person is watching (the kernel's parent is the
    Jupyter server; no setting), its one output picture changes while the cell is still running, and when the
    fit ends the cell reports more than two frames (at least two drawn during training, then the final one)."""
    panel = open_notebook(page, lab, "live_check.ipynb")
    panel.locator(".jp-Cell .jp-InputArea-editor").first.click()
    page.keyboard.press("Shift+Enter")
    image = panel.locator(".jp-OutputArea-output img").first
    image.wait_for(state="visible", timeout=60_000)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle(), timeout=30_000)
    before = pixels(image)
    assert before.std() > 5, f"the live view drew a flat frame (pixel std {before.std():.1f} of 255)"
    wait_for_new_picture(image, before, "training (the live view's next frame)")
    stream = panel.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stdout']").first
    stream.wait_for(state="visible", timeout=60_000)
    text = stream.inner_text()
    assert panel.locator(".jp-OutputArea-output img").count() == 1, "the live view added outputs instead of redrawing"
    match = re.search(r"live (\w+) frames (\d+)", text)
    assert match and match.group(1) == "True" and int(match.group(2)) > 2, text
