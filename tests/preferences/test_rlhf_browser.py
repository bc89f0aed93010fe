"""``rlhf --teacher human`` taught through a real browser: headless Chromium labels every stage with the keyboard.

The scripted labeller is what a careful person would do on the page: wait for both clips to load,
open the pair's details (``i``: the segments' returns, hidden by default) and press the arrow of
the better segment. It follows the ground truth, so the reward model it teaches must rank fresh,
held-out segments as the ground truth does. The test also writes the page's screenshot
(``runs/screenshots/labelling-page.png`` under the repository, git-ignored; the README shows where)
and prints the labels per minute the keyboard reached.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import torch
from _browser import NEEDS_CHROMIUM, browser, webdriver  # tests/preferences is on sys.path (rootdir import)
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from test_serve import free_port

import rewardlab
from rewardlab.preferences import PreferenceDataset, RewardModel, RLHFConfig, collect_segments, run_rlhf
from rewardlab.runs import read_jsonl

pytestmark = NEEDS_CHROMIUM
__all__ = ["browser"]  # the fixture, imported

SCREENSHOT = Path(rewardlab.__file__).resolve().parents[1] / "runs" / "screenshots" / "labelling-page.png"


def _state(driver: webdriver.Chrome) -> dict[str, Any]:
    return driver.execute_script(
        """const $ = (id) => document.getElementById(id), b = document.body, l = $('clip-left'), r = $('clip-right');
        return {pair: b.dataset.pairId || null, queue: b.dataset.queue || null, shown: !$('pair').hidden,
                loaded: l.complete && r.complete && l.naturalWidth > 0 && r.naturalWidth > 0,
                details: $('details').hidden ? null : $('details').textContent};"""
    )


def label_in_browser(driver: webdriver.Chrome, url: str, run: threading.Thread) -> list[dict[str, Any]]:
    """Label every pair the page shows until ``run`` ends; returns one record per label given."""
    origin = url.split("?")[0].rstrip("/")
    while run.is_alive():  # the page is up once the first stage has its pairs (the URL is printed then)
        try:  # an HTTP answer, not a bare connect: a probe to a port nobody listens on can connect to itself
            with urllib.request.urlopen(f"{origin}/api/info", timeout=5) as answer:
                json.load(answer)
            break
        except (OSError, ValueError, http.client.HTTPException):
            time.sleep(0.05)
    driver.get(url)
    body = driver.find_element(By.TAG_NAME, "body")
    given: list[dict[str, Any]] = []
    last: tuple[Any, Any] | None = None
    while run.is_alive():
        try:
            state = _state(driver)
        except StaleElementReferenceException:
            continue
        key = (state["queue"], state["pair"])
        if not state["shown"] or not state["loaded"] or key == last:
            time.sleep(0.02)
            continue
        if not given and not SCREENSHOT.exists():
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(SCREENSHOT))
        t0 = time.monotonic()
        body.send_keys("i")  # the pair's details: its segments' returns
        while (details := _state(driver)["details"]) is None or json.loads(details)["pair_id"] != int(key[1]):
            time.sleep(0.01)
        meta = json.loads(details)
        left, right = meta["left"]["env_return"], meta["right"]["env_return"]
        body.send_keys(Keys.ARROW_LEFT if left > right else Keys.ARROW_RIGHT if right > left else Keys.ARROW_DOWN)
        given.append({"queue": key[0], "pair_id": int(key[1]), "left_better": left > right, "t": t0})
        last = key
    return given


def test_a_browser_labeller_teaches_the_reward_model_the_ground_truth(
    tmp_path: Path, browser: webdriver.Chrome
) -> None:
    torch.set_num_threads(1)
    port = free_port()
    config = RLHFConfig(
        env="pendulum",
        agent="ppo",
        seed=0,
        total_timesteps=512,
        label_budget=40,
        n_iterations=2,
        initial_fraction=0.5,  # schedule [20, 10, 10]
        segment_length=20,
        query="uniform",
        ensemble=1,
        hidden=(32,),
        reward_epochs=30,
        val_fraction=0.0,
        eval_episodes=1,
        n_envs=2,
        hyperparams={"n_steps": 64, "batch_size": 64, "n_epochs": 1},
        teacher="human",
        port=port,
        human_timeout_s=300.0,
        runs_dir=str(tmp_path),
        run_name="browser",
        progress=False,
        monitor_transitions=0,
    )
    outcome: dict[str, Any] = {}

    def train() -> None:
        try:
            outcome["result"] = run_rlhf(config)
        except BaseException as exc:  # reported below, in the test's thread
            outcome["error"] = exc

    run = threading.Thread(target=train, daemon=True)
    run.start()
    given = label_in_browser(browser, f"http://127.0.0.1:{port}/?labeller=chromium", run)
    run.join(60)
    if "error" in outcome:
        raise outcome["error"]
    result = outcome["result"]

    # every pair of every stage was labelled in the browser, as the labeller decided
    assert len(given) == 40 and len({(g["queue"], g["pair_id"]) for g in given}) == 40
    assert [r["labels_human"] for r in result.history] == config.schedule
    for stage, n in enumerate(config.schedule):
        log = [e for e in read_jsonl(result.run_dir / "human" / f"stage_{stage:03d}" / "labels.jsonl")]
        assert [e["labeller"] for e in log if e["event"] == "label"] == ["chromium"] * n
        assert all(e["clip_version"].startswith("gif1:") and "none" not in e["clip_version"] for e in log)
    dataset = PreferenceDataset.load(result.run_dir / "dataset")
    returns = dataset.segments.returns()
    a, b = dataset.pairs.T
    np.testing.assert_array_equal(dataset.labels == 1.0, returns[a] > returns[b])

    # the reward model ranks fresh segments (never labelled) as the ground truth does
    model = RewardModel.load(result.run_dir / "reward_model")
    fresh = collect_segments("pendulum", n_segments=200, length=20, seed=12345)
    rng = np.random.default_rng(0)
    pairs = rng.choice(200, size=(400, 2), replace=True)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    true = fresh.returns()
    with torch.no_grad():
        learned = model.segment_returns(fresh).mean(dim=0).numpy()
    agree = np.sign(learned[pairs[:, 0]] - learned[pairs[:, 1]]) == np.sign(true[pairs[:, 0]] - true[pairs[:, 1]])
    accuracy = float(agree.mean())
    assert accuracy >= 0.8, f"held-out accuracy {accuracy:.3f}"

    span = given[-1]["t"] - given[0]["t"]
    stage0 = [g for g in given if g["queue"] == given[0]["queue"]]
    rate0 = 60 * (len(stage0) - 1) / (stage0[-1]["t"] - stage0[0]["t"])
    print(
        f"\nbrowser labeller: {len(given)} labels; stage 0 at {rate0:.0f} labels/min (clips rendered on demand); "
        f"held-out accuracy {accuracy:.3f}; {span:.1f} s from first to last label (agent training included)"
    )
    assert SCREENSHOT.is_file()
