"""Headless Chromium for the browser tests (Debian's `chromium` and `chromium-driver`).

The fixtures `browser` and `shots` in conftest.py use it; test modules import `CHROMIUM`,
`CHROMEDRIVER` and `wait_for` from here.
"""

from __future__ import annotations

import shutil
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
MISSING = None if CHROMIUM and CHROMEDRIVER else "chromium/chromedriver not installed"


def start_chromium(profile: Path):
    """A headless Chromium that keeps the page's console messages (`get_log("browser")`)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-sync",
        "--disable-component-update",
        "--window-size=1400,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    return driver


def wait_for(driver, condition, timeout: float, what: str):
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        wait = WebDriverWait(
            driver, timeout, 0.5, ignored_exceptions=[StaleElementReferenceException]
        )
        return wait.until(lambda d: condition(d))
    except TimeoutException:  # selenium's own message says nothing useful
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}") from None
