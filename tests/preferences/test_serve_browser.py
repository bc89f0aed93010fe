"""The labelling page in a real browser: headless Chromium driven by Selenium (:mod:`_browser`)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from _browser import NEEDS_CHROMIUM, browser, webdriver  # tests/preferences is on sys.path (rootdir import)
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait
from test_serve import events, free_port, make_dataset

from rewardlab.preferences import create_app

pytestmark = NEEDS_CHROMIUM
__all__ = ["browser"]  # the fixture, imported


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    dataset = make_dataset(tmp_path / "ds", n_pairs=10)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(dataset), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", dataset
    finally:
        server.should_exit = True
        thread.join(20)


def _wait_for_labels(dataset: Path, n: int, kind: str = "label") -> list[dict]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if (dataset / "labels.jsonl").is_file() and len(found := events(dataset, kind)) >= n:
            return found
        time.sleep(0.05)
    raise AssertionError(f"expected {n} {kind} events in the log")


def test_keyboard_and_mouse_labels_land_in_the_log_and_nothing_leaves_localhost(
    server: tuple[str, Path], browser: webdriver.Chrome
) -> None:
    base, dataset = server
    browser.get(f"{base}/?labeller=browser")
    wait = WebDriverWait(browser, 20)
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-pair-id") == "0")
    wait.until(lambda d: "pendulum" in d.find_element(By.ID, "task").text)
    wait.until(lambda d: d.execute_script("return document.getElementById('clip-left').naturalWidth") > 0)

    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_LEFT)  # the "left" shortcut
    (first,) = _wait_for_labels(dataset, 1)
    assert (first["labeller"], first["pair_id"], first["label"]) == ("browser", 0, 1.0)
    assert first["clip_version"].startswith("gif1:") and "none" not in first["clip_version"]

    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-pair-id") == "1")
    browser.find_element(By.ID, "btn-right").click()
    second = _wait_for_labels(dataset, 2)[1]
    assert (second["pair_id"], second["label"]) == (1, 0.0)
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-pair-id") == "2")
    browser.find_element(By.TAG_NAME, "body").send_keys("u")  # undo: pair 1 comes back
    (undo,) = _wait_for_labels(dataset, 1, "undo")
    assert undo["undoes"] == second["id"]
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-pair-id") == "1")
    wait.until(lambda d: "1 of 10 labelled" in d.find_element(By.ID, "progress").text)

    urls = [
        json.loads(entry["message"])["message"]["params"]["request"]["url"]
        for entry in browser.get_log("performance")
        if json.loads(entry["message"])["message"]["method"] == "Network.requestWillBeSent"
    ]
    assert urls and all(u.startswith(base + "/") for u in urls), [u for u in urls if not u.startswith(base)]
    resources = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert all(u.startswith(base + "/") for u in resources)
