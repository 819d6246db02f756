"""The course in a real browser: JupyterLab served as the README opens it, driven by Chromium.

Needs Debian's `chromium` and `chromium-driver` (installed by .ci/run); skipped without them.
Screenshots are written to the folder printed at the start (default: screenshots/).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _chromium import MISSING, wait_for

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.browser, pytest.mark.skipif(bool(MISSING), reason=str(MISSING))]

SERVER_START_S = 60
ACTIVE = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook tab in front
NOTEBOOK_RUN_S = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lab_settings(folder: Path) -> None:
    """User settings for a quiet, testable JupyterLab: no news, every cell kept in the page."""
    settings = {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
    }
    for name, value in settings.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 over a copy of notebooks/, always shut down."""
    work = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", work / "notebooks")
    lab_settings(work / "settings")
    port, token = free_port(), "course-browser-test"
    env = dict(
        os.environ,
        JUPYTERLAB_SETTINGS_DIR=str(work / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(work / "workspaces"),
        COURSE_PROGRESS="0",
    )
    # The README's open command is `jupyter lab notebooks/`; here headless, on loopback.
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "notebooks/",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        f"--IdentityProvider.token={token}",
        "--ServerApp.port_retries=0",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(work / "server.log", "w")
    server = subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + SERVER_START_S
        while time.monotonic() < deadline:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited: {(work / 'server.log').read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start in time")
        yield f"http://127.0.0.1:{port}", token
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def open_and_run_all(driver, lab, name: str) -> None:
    from selenium.webdriver.common.by import By

    base, token = lab
    # Each notebook in a workspace of its own: the default one would also restore the notebooks
    # opened before, and one of them may take the front tab while this one is being run.
    workspace = Path(name).stem
    driver.get(f"{base}/lab/workspaces/{workspace}/tree/{name}?reset&token={token}")
    wait_for(
        driver,
        lambda d: "| Idle" in d.find_element(By.CSS_SELECTOR, "#jp-main-statusbar").text,
        90,
        f"the kernel of {name} to be idle",
    )
    # The committed notebook already shows numbered prompts: clear them, so numbers prove a run.
    menu_command(driver, "Edit", "editmenu:clear-all")
    wait_for(driver, lambda d: not numbered_prompts(d), 30, "the outputs to clear")
    menu_command(driver, "Run", "runmenu:run-all")

    def finished(d) -> bool:
        prompts = input_prompts(d)  # hidden solution cells show an empty prompt
        return bool(numbered_prompts(d)) and all(p == "" or p[1:2].isdigit() for p in prompts)

    try:
        wait_for(driver, finished, NOTEBOOK_RUN_S, f"every cell of {name} to run")
    except AssertionError as err:
        raise AssertionError(f"{err}; input prompts: {input_prompts(driver)}") from None


def input_prompts(driver) -> list[str]:
    # One script call reads them all at once (elements re-render while cells run).
    script = (
        f"return Array.from(document.querySelectorAll('{ACTIVE} .jp-CodeCell .jp-InputPrompt'))"
        ".map(p => p.textContent.trim());"
    )
    return driver.execute_script(script)


def numbered_prompts(driver) -> list[str]:
    return [p for p in input_prompts(driver) if p[1:2].isdigit()]


def menu_command(driver, menu: str, command: str) -> None:
    from selenium.webdriver.common.by import By

    label = f"//div[contains(@class,'lm-MenuBar-itemLabel') and text()='{menu}']"
    driver.find_element(By.XPATH, label).click()
    wait_for(
        driver,
        lambda d: d.find_elements(By.CSS_SELECTOR, f"li[data-command='{command}']"),
        10,
        f"the {menu} menu",
    )
    driver.find_element(By.CSS_SELECTOR, f"li[data-command='{command}']").click()


def errors_shown(driver) -> list[str]:
    from selenium.webdriver.common.by import By

    outputs = driver.find_elements(By.CSS_SELECTOR, f"{ACTIVE} .jp-OutputArea-output")
    return [
        o.text[:300]
        for o in outputs
        if "Traceback (most recent call last)" in o.text
        or o.get_attribute("data-mime-type") == "application/vnd.jupyter.error"
    ]


def test_notebook_01_runs_in_jupyterlab_and_shows_figures(lab, browser, shots):
    from selenium.webdriver.common.by import By

    name = "01_convolution_math.ipynb"
    if not (ROOT / "notebooks" / name).exists():
        pytest.skip(f"{name} is not in this checkout")
    open_and_run_all(browser, lab, name)
    browser.save_screenshot(str(shots / "01_after_run_all.png"))
    assert errors_shown(browser) == []
    images = browser.find_elements(By.CSS_SELECTOR, f"{ACTIVE} .jp-RenderedImage img")
    assert images, "no figure was rendered"
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", images[0])
    browser.save_screenshot(str(shots / "01_first_figure.png"))
    assert all(img.get_attribute("naturalWidth") not in (None, "0") for img in images[:3])


FILTERED_IMAGE_JS = (
    f"const grid = document.querySelector('{ACTIVE} .widget-gridbox');"
    "if (!grid) { return null; }"
    "const editor = grid.closest('.widget-hbox');"
    "const images = editor ? editor.querySelectorAll('img') : [];"
    "return images.length ? images[images.length - 1].getAttribute('src') : null;"
)


def test_kernel_editor_in_notebook_02_updates_the_image_live(lab, browser, shots):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    name = "02_edge_filters.ipynb"
    if not (ROOT / "notebooks" / name).exists():
        pytest.skip(f"{name} is not in this checkout")
    open_and_run_all(browser, lab, name)
    assert errors_shown(browser) == []
    wait_for(browser, lambda d: d.execute_script(FILTERED_IMAGE_JS), 30, "the kernel editor")
    grid = browser.find_element(By.CSS_SELECTOR, f"{ACTIVE} .widget-gridbox")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", grid)
    browser.save_screenshot(str(shots / "02_kernel_editor_before.png"))
    before = browser.execute_script(FILTERED_IMAGE_JS)

    box = grid.find_elements(By.CSS_SELECTOR, "input")[0]  # top-left kernel entry
    box.click()
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("7", Keys.ENTER)
    wait_for(
        browser,
        lambda d: d.execute_script(FILTERED_IMAGE_JS) not in (None, before),
        30,
        "the filtered image to change after editing the kernel",
    )
    browser.save_screenshot(str(shots / "02_kernel_editor_after.png"))
    assert errors_shown(browser) == []


def test_notebook_01_opens_as_live_slides_with_jupyterlab_rise(lab, browser, shots):
    """jupyterlab-rise (requirements.txt) serves a notebook as a live reveal.js deck at /rise/."""
    from selenium.webdriver.common.by import By

    base, token = lab
    browser.get(f"{base}/rise/01_convolution_math.ipynb?token={token}")
    wait_for(
        browser,
        lambda d: d.find_elements(By.CSS_SELECTOR, ".reveal .slides section.present h1"),
        120,
        "RISE to show the first slide",
    )
    title = browser.find_element(By.CSS_SELECTOR, ".reveal .slides section.present h1").text
    assert title.startswith("01 Convolution math"), title
    count = "return document.querySelectorAll('.reveal .slides section > section').length"
    assert browser.execute_script(count) >= 15
    browser.save_screenshot(str(shots / "01_rise_first_slide.png"))
