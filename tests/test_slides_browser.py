"""Two offline decks in a real browser: opened from file:// in headless Chromium with every
http(s) request blocked, reveal.js starts, shows as many slides as the metadata says, a figure
is visible on its slide, math is typeset, and the console stays clean.

Needs Debian's `chromium` and `chromium-driver` (installed by .ci/run); skipped without them.
Screenshots of the first slide and of a figure slide go to screenshots/ (COURSE_SCREENSHOTS).
"""

from __future__ import annotations

import pytest
from _chromium import MISSING, wait_for
from _slides import slides
from test_slides import NOTEBOOKS, read

pytestmark = [pytest.mark.browser, pytest.mark.skipif(bool(MISSING), reason=str(MISSING))]

DECKS = [p for p in NOTEBOOKS if p.stem[:2] in {"01", "07"}]

FIRST_FIGURE_JS = """
const slides = Reveal.getSlides();
for (let i = 0; i < slides.length; i++) {
  if (slides[i].querySelector('.jp-RenderedImage img')) {
    const at = Reveal.getIndices(slides[i]);
    return [i, at.h, at.v || 0];
  }
}
return null;
"""

VISIBLE_FIGURE_JS = """
const slide = Reveal.getCurrentSlide();
const img = slide.querySelector('.jp-RenderedImage img');
if (!img || !img.complete || img.naturalWidth === 0) { return null; }
const r = img.getBoundingClientRect();
return [r.left, r.top, r.width, r.height, window.innerWidth, window.innerHeight];
"""


@pytest.fixture(scope="module")
def offline_browser(browser):
    """The shared Chromium at 1280x720, with every http and https request blocked (they would
    show as console errors) and its console log emptied."""
    browser.execute_cdp_cmd(  # the projector's 1280x720
        "Emulation.setDeviceMetricsOverride",
        {"width": 1280, "height": 720, "deviceScaleFactor": 1, "mobile": False},
    )
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["http://*", "https://*"]})
    browser.get_log("browser")
    return browser


@pytest.mark.parametrize("path", DECKS, ids=[p.stem[:2] for p in DECKS])
def test_deck_opens_offline_with_its_slides_and_a_visible_figure(
    offline_browser, shots, decks, path
):
    driver = offline_browser
    deck = decks[path.stem]
    driver.get(deck.as_uri())
    wait_for(driver, lambda d: d.execute_script("return !!window.Reveal && Reveal.isReady()"),
             60, f"reveal.js to start in {deck.name}")  # fmt: skip
    assert driver.execute_script("return Reveal.getTotalSlides()") == slides.count_slides(
        read(path)
    )
    wait_for(driver, lambda d: d.execute_script("return document.querySelectorAll('mjx-container').length"),
             60, "MathJax to typeset the math")  # fmt: skip
    driver.save_screenshot(str(shots / f"slides_{path.stem[:2]}_first.png"))

    index, h, v = driver.execute_script(FIRST_FIGURE_JS)
    driver.execute_script(f"Reveal.slide({h}, {v});")
    box = wait_for(driver, lambda d: d.execute_script(VISIBLE_FIGURE_JS), 30, "a figure slide")
    left, top, width, height, view_w, view_h = box
    assert width > 200 and height > 100, f"the figure on slide {index + 1} is tiny: {box}"
    inside = 0 <= left and left + width <= view_w + 1 and 0 <= top and top + height <= view_h + 1
    assert inside, f"the figure on slide {index + 1} does not fit the 1280x720 screen: {box}"
    driver.save_screenshot(str(shots / f"slides_{path.stem[:2]}_figure.png"))

    resources = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name);"
    )
    assert not [r for r in resources if r.startswith(("http:", "https:"))], resources
    problems = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert problems == [], problems
