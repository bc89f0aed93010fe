"""Headless Chromium for the browser tests, driven by Selenium: the OS packages, never a download.

Needs Debian's ``chromium`` and ``chromium-driver`` (``apt-get install -y --no-install-recommends
chromium chromium-driver``; ``.ci/run`` installs them); without them the tests skip and say so.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed: pip install selenium")

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
DRIVER = shutil.which("chromedriver")
NEEDS_CHROMIUM = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="no headless Chromium: apt-get install -y --no-install-recommends chromium chromium-driver",
)


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    """A headless Chromium that logs its network requests (``goog:loggingPrefs``)."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1100,800",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=str(DRIVER)))
    try:
        yield driver
    finally:
        driver.quit()
