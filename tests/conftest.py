"""Unit tests draw figures without a screen; the shared fixtures. (How pytest spreads the
work over CPUs, and the `notebooks` marker, are set in the repository's root conftest.py.)

The contributors' fast inner loop leaves the slow parts out:
    python -m pytest -m "not slow and not browser and not notebooks"
"""

import http.server
import os
import threading
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors gain nothing from threads, and on a shared CPU threads wait on each other.
    A module uses it with `pytestmark = pytest.mark.usefixtures("one_thread")`."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def course_env(monkeypatch):
    """`course_env(COURSE_SEED="5", COURSE_PROGRESS=None)` sets (None: removes) environment
    variables for this test; the course reads its settings from them again on next use (a bad
    value raises there). When the test ends the variables and the settings are as before."""
    from helpers.settings import get_settings

    def set_vars(**values: str | None) -> None:
        for name, value in values.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, str(value))
        get_settings.cache_clear()

    yield set_vars
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def serve_folder():
    """`serve_folder(path)` serves that folder over HTTP on the loopback interface (for the
    download tests) and returns its base URL; every server stops when the test ends."""
    servers = []

    def start(folder) -> str:
        class Quiet(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(folder), **kwargs)

            def log_message(self, *args) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """A headless Chromium (tests/_chromium.py), quit when the module's tests are done."""
    from _chromium import start_chromium

    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def shots() -> Path:
    """Where the browser tests write their screenshots (COURSE_SCREENSHOTS, or screenshots/)."""
    root = Path(__file__).resolve().parent.parent
    folder = Path(os.environ.get("COURSE_SCREENSHOTS", root / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nbrowser screenshots: {folder}")
    return folder


@pytest.fixture(scope="session")
def decks(tmp_path_factory) -> dict[str, Path]:
    """Every notebook's offline deck, built once by scripts/slides.py: {notebook stem: path}."""
    from _slides import slides

    folder = tmp_path_factory.mktemp("slides")
    assets = slides.offline_assets()
    return {p.stem: slides.build(p, assets, folder) for p in slides.notebooks([])}
