"""``rewardlab prefs serve``: the labelling app's API, its label log, concurrency and a killed server."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import numpy as np
import pytest
import uvicorn
from fastapi.testclient import TestClient
from starlette.middleware.base import BaseHTTPMiddleware

import rewardlab
from rewardlab.cli import main
from rewardlab.errors import ConfigError, RunBusyError
from rewardlab.preferences import (
    LabelLog,
    PreferenceDataset,
    check_bind,
    collect_segments,
    create_app,
    disagreements,
    merge_labels,
)

ROOT = Path(rewardlab.__file__).resolve().parents[1]
N_PAIRS = 60


def make_dataset(root: Path, n_pairs: int = N_PAIRS) -> Path:
    """A pendulum dataset of 16 short segments with ``n_pairs`` distinct queued pairs (queries.csv)."""
    segments = collect_segments("pendulum", n_segments=16, length=4, seed=0)
    PreferenceDataset(segments, np.zeros((0, 2), dtype=np.int64), np.zeros(0)).save(root)
    pairs = [(a, b) for a in range(16) for b in range(16) if a != b][:n_pairs]
    lines = ["pair_id,left,right,label", *(f"{i},{a},{b}," for i, (a, b) in enumerate(pairs))]
    (root / "queries.csv").write_text("\n".join(lines) + "\n")
    return root


def events(root: Path, kind: str = "label") -> list[dict]:
    return [e for e in map(json.loads, (root / "labels.jsonl").read_text().splitlines()) if e["event"] == kind]


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return make_dataset(tmp_path / "ds")


@pytest.fixture
def client(dataset: Path) -> Iterator[TestClient]:
    with TestClient(create_app(dataset), base_url="http://127.0.0.1") as c:
        yield c


def test_fetch_label_undo_skip_and_progress_round_trip(client: TestClient, dataset: Path) -> None:
    first = client.get("/api/next", params={"labeller": "alice"}).json()
    assert first["done"] is False and (first["left"], first["right"]) == (0, 1)
    assert "return" not in json.dumps(first)  # returns are hidden unless asked for
    # the same pair comes back until it is answered (a reload of the page)
    assert client.get("/api/next", params={"labeller": "alice"}).json()["pair_id"] == first["pair_id"]
    r = client.post("/api/label", json={"labeller": "alice", "pair_id": first["pair_id"], "label": "left"})
    assert r.status_code == 200 and r.json()["event"]["label"] == 1.0
    second = client.get("/api/next", params={"labeller": "alice"}).json()
    assert second["pair_id"] != first["pair_id"]
    client.post("/api/skip", json={"labeller": "alice", "pair_id": second["pair_id"]})
    third = client.get("/api/next", params={"labeller": "alice"}).json()
    assert third["pair_id"] not in (first["pair_id"], second["pair_id"])
    client.post("/api/label", json={"labeller": "alice", "pair_id": third["pair_id"], "label": "equal"})
    assert client.get("/api/progress", params={"labeller": "alice"}).json()["mine"] == 2

    undone = client.post("/api/undo", json={"labeller": "alice"}).json()
    assert undone["event"]["pair_id"] == third["pair_id"] and undone["progress"]["mine"] == 1
    assert client.get("/api/next", params={"labeller": "alice"}).json()["pair_id"] == third["pair_id"]
    client.post("/api/label", json={"labeller": "alice", "pair_id": third["pair_id"], "label": 0.0})
    progress = client.get("/api/progress", params={"labeller": "alice"}).json()
    assert progress["labelled"] == 2 and progress["total"] == N_PAIRS and progress["per_minute"] > 0
    assert [e["event"] for e in map(json.loads, (dataset / "labels.jsonl").read_text().splitlines())] == [
        "label", "skip", "label", "undo", "label",
    ]  # fmt: skip


def test_each_label_line_carries_its_provenance(client: TestClient, dataset: Path) -> None:
    info = client.get("/api/info").json()
    assert info["question"] == "Which segment is better at the task?" and "pendulum" in info["description"]
    pair = client.get("/api/next", params={"labeller": "bob"}).json()
    for side in ("left", "right"):
        gif = client.get(pair["clips"][side])
        assert gif.status_code == 200 and gif.content[:6] == b"GIF89a"
    time.sleep(0.05)
    client.post("/api/label", json={"labeller": "bob", "pair_id": pair["pair_id"], "label": "right"})
    (event,) = events(dataset)
    assert event["labeller"] == "bob" and event["label"] == 0.0
    assert (event["left"], event["right"]) == (pair["left"], pair["right"])
    assert event["time"].endswith("+00:00") and event["time_taken_s"] >= 0.05
    fmt, hashes = event["clip_version"].split(":")
    assert fmt == "gif1" and all(len(h) == 12 and h != "none" for h in hashes.split("/"))
    assert sorted((dataset / "clips").iterdir())  # rendered once, cached per segment
    meta = client.get(f"/api/pairs/{pair['pair_id']}").json()  # metadata on demand, returns included
    assert {"env_return", "angle_cost", "steps"} <= set(meta["left"])


def test_labellers_get_different_pairs_unless_repeats_are_asked(dataset: Path) -> None:
    with TestClient(create_app(dataset), base_url="http://127.0.0.1") as c:
        a, b = (c.get("/api/next", params={"labeller": who}).json()["pair_id"] for who in ("a", "b"))
        assert a != b
        r = c.post("/api/label", json={"labeller": "b", "pair_id": a, "label": "left"})
        assert r.status_code == 409 and "someone else" in r.json()["detail"]
    with TestClient(create_app(dataset, repeats=2), base_url="http://127.0.0.1") as c:
        pids = [c.get("/api/next", params={"labeller": who}).json()["pair_id"] for who in ("x", "y")]
        assert pids[0] == pids[1]
        for who, label in (("x", "left"), ("y", "right")):
            assert c.post("/api/label", json={"labeller": who, "pair_id": pids[0], "label": label}).status_code == 200
        (found,) = c.get("/api/disagreements").json()["pairs"]
        assert found["labels"] == {"x": 1.0, "y": 0.0}


def test_a_token_is_required_off_loopback(dataset: Path) -> None:
    check_bind("127.0.0.1", None)
    check_bind("::1", None)
    with pytest.raises(ConfigError, match=r"`token` must be a secret .* '0\.0\.0\.0'"):
        check_bind("0.0.0.0", None)
    with pytest.raises(ConfigError, match="16\\+ characters"):
        check_bind("192.168.1.5", "short")
    token = "t" * 24
    with TestClient(create_app(dataset, token=token), base_url="http://127.0.0.1") as c:
        r = c.get("/api/info")
        assert r.status_code == 401 and "token" in r.json()["detail"]
        assert c.get("/api/info", headers={"X-Rewardlab-Token": token}).status_code == 200
        assert c.get("/", params={"token": token}).status_code == 200
        assert c.get("/api/info", params={"token": "x" * 24}).status_code == 401


def test_every_response_carries_the_security_headers_and_the_page_whole(dataset: Path) -> None:
    token = "t" * 24
    app = create_app(dataset, token=token)
    # the guard is pure ASGI: BaseHTTPMiddleware re-streams bodies, and under CI's load it cut
    # index.html short of its Content-Length (the browser test then found a page without a body)
    assert all(m.cls is not BaseHTTPMiddleware for m in app.user_middleware)
    page = (Path(rewardlab.__file__).parent / "preferences" / "static" / "index.html").read_bytes()
    with TestClient(app, base_url="http://127.0.0.1") as c:
        answers = {
            "page": c.get("/", params={"token": token}),
            "script": c.get("/static/app.js", params={"token": token}),
            "json": c.get("/api/info", params={"token": token}),
            "404": c.get("/static/secret.txt", params={"token": token}),
            "401": c.get("/api/info"),
            "bad host": c.get("/api/info", params={"token": token}, headers={"Host": "evil.example"}),
        }
    assert [r.status_code for r in answers.values()] == [200, 200, 200, 404, 401, 400]
    for name, r in answers.items():
        assert r.headers["content-security-policy"].startswith("default-src 'self'"), name
        assert r.headers["x-content-type-options"] == "nosniff", name
    assert answers["page"].content == page and int(answers["page"].headers["content-length"]) == len(page)


@pytest.mark.parametrize(
    ("method", "url", "body", "status", "match"),
    [
        ("post", "/api/label", {"labeller": "a", "pair_id": 999, "label": "left"}, 422, r"pair id in \[0, 60\)"),
        ("post", "/api/label", {"labeller": "a", "pair_id": 0, "label": "up"}, 422, "label"),
        ("post", "/api/label", {"labeller": "a", "pair_id": 0, "label": 1.5}, 422, "less than or equal to 1"),
        ("post", "/api/label", {"labeller": "a b", "pair_id": 0, "label": "left"}, 422, "labeller"),
        ("post", "/api/label", {"pair_id": 0, "label": "left"}, 422, "labeller"),
        ("post", "/api/undo", {"labeller": "a"}, 409, "no label to undo"),
        ("get", "/api/next", None, 422, "labeller"),
        ("get", "/api/clips/99.gif", None, 404, r"segment.*\[0, 16\)"),
        ("get", "/static/secret.txt", None, 404, "the page uses"),
    ],
    ids=[
        "unknown-pair",
        "bad-word",
        "label-above-1",
        "bad-labeller",
        "no-labeller",
        "nothing-to-undo",
        "next-without-labeller",
        "unknown-segment",
        "unknown-static",
    ],
)
def test_bad_requests_get_a_clear_4xx(
    client: TestClient, method: str, url: str, body: dict | None, status: int, match: str
) -> None:
    r = client.post(url, json=body) if method == "post" else client.get(url)
    assert r.status_code == status
    assert re.search(match, json.dumps(r.json()["detail"]))


def test_labelling_a_pair_twice_is_refused_and_a_retry_is_not_a_duplicate(client: TestClient, dataset: Path) -> None:
    pid = client.get("/api/next", params={"labeller": "a"}).json()["pair_id"]
    body = {"labeller": "a", "pair_id": pid, "label": "left", "request_id": "r1"}
    first, retry = (client.post("/api/label", json=body).json() for _ in range(2))
    assert first["event"]["id"] == retry["event"]["id"]
    r = client.post("/api/label", json={**body, "request_id": None})
    assert r.status_code == 409 and "already labelled" in r.json()["detail"]
    assert len(events(dataset)) == 1


def test_merge_adds_the_live_labels_once_averaging_labellers(dataset: Path) -> None:
    with TestClient(create_app(dataset, repeats=2), base_url="http://127.0.0.1") as c:
        for who, label in (("x", 1.0), ("y", 0.0)):
            pid = c.get("/api/next", params={"labeller": who}).json()["pair_id"]
            c.post("/api/label", json={"labeller": who, "pair_id": pid, "label": label})
        pid = c.get("/api/next", params={"labeller": "x"}).json()["pair_id"]
        c.post("/api/label", json={"labeller": "x", "pair_id": pid, "label": "left"})
        c.post("/api/undo", json={"labeller": "x"})  # an undone label is not merged
    assert merge_labels(dataset) == (1, 0)
    ds = PreferenceDataset.load(dataset)
    assert ds.pairs.tolist() == [[0, 1]] and ds.labels.tolist() == [0.5]
    assert ds.provenance[-1]["labellers"] == ["x", "y"] and ds.provenance[-1]["disagreements"] == 1
    assert merge_labels(dataset) == (0, 1)  # idempotent
    assert len(PreferenceDataset.load(dataset)) == 1


def test_a_line_cut_by_a_kill_is_dropped_and_one_server_holds_the_log(dataset: Path) -> None:
    good = json.dumps({"v": 1, "id": "a", "event": "label", "left": 0, "right": 1, "label": 1.0, "labeller": "z"})
    (dataset / "labels.jsonl").write_text(good + "\n" + '{"v": 1, "id": "b", "ev')
    with LabelLog(dataset) as log:
        assert [e["id"] for e in log.events] == ["a"]
        with pytest.raises(RunBusyError, match="no other labelling server"):
            LabelLog(dataset)
        log.append({"event": "skip", "pair_id": 3, "left": 0, "right": 4, "labeller": "z"})
    lines = (dataset / "labels.jsonl").read_text().splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["label", "skip"]
    with LabelLog(dataset) as log:
        assert disagreements(log.events) == []


def test_prefs_merge_command_reports_the_merge(dataset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with TestClient(create_app(dataset), base_url="http://127.0.0.1") as c:
        pid = c.get("/api/next", params={"labeller": "a"}).json()["pair_id"]
        c.post("/api/label", json={"labeller": "a", "pair_id": pid, "label": "right"})
    assert main(["prefs", "merge", str(dataset)]) == 0
    assert "Merged 1 labelled pairs" in capsys.readouterr().out
    assert PreferenceDataset.load(dataset).labels.tolist() == [0.0]


# --- a real server -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_concurrent_labellers_lose_and_duplicate_nothing(dataset: Path) -> None:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(dataset), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    base = f"http://127.0.0.1:{port}"

    def labeller(name: str) -> list[int]:
        given = []
        with httpx2.Client(base_url=base, timeout=20) as http:
            for _ in range(10):
                pair = http.get("/api/next", params={"labeller": name}).json()
                r = http.post("/api/label", json={"labeller": name, "pair_id": pair["pair_id"], "label": "left"})
                assert r.status_code == 200, r.text
                given.append(pair["pair_id"])
        return given

    try:
        with ThreadPoolExecutor(5) as pool:
            given = [pid for pids in pool.map(labeller, [f"l{i}" for i in range(5)]) for pid in pids]
    finally:
        server.should_exit = True
        thread.join(20)
    logged = events(dataset)
    assert len(given) == len(logged) == 50
    assert sorted(e["pair_id"] for e in logged) == sorted(given) == sorted(set(given))  # each pair once
    assert merge_labels(dataset) == (50, 0)


def _serve(dataset: Path, port: int, fault: str | None = None) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("REWARDLAB_FAULT", None)
    if fault:
        env["REWARDLAB_FAULT"] = fault
    cmd = [sys.executable, "-m", "rewardlab.cli", "prefs", "serve", str(dataset), "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx2.get(f"http://127.0.0.1:{port}/api/info", timeout=1)
            return proc
        except httpx2.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"the server did not start:\n{proc.communicate()[0]}") from None
            time.sleep(0.1)


def _label(http: httpx2.Client, name: str) -> int:
    pid = int(http.get("/api/next", params={"labeller": name}).json()["pair_id"])
    http.post("/api/label", json={"labeller": name, "pair_id": pid, "label": "left"}).raise_for_status()
    return pid


def test_a_killed_server_keeps_every_label_it_answered(dataset: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _serve(dataset, port, fault="serve:label#3")  # the 3rd label: os._exit(137) after its fsync
    try:
        with httpx2.Client(base_url=base, timeout=10) as http:
            given = [_label(http, "k"), _label(http, "k")]
            third = http.get("/api/next", params={"labeller": "k"}).json()["pair_id"]
            with pytest.raises(httpx2.TransportError):
                http.post("/api/label", json={"labeller": "k", "pair_id": third, "label": "left"})
        assert proc.wait(20) == 137
    finally:
        proc.kill()
        proc.communicate()
    # answered labels survive; the one in flight was written before the kill, so it is there too
    assert [e["pair_id"] for e in events(dataset)] == [*given, third]

    proc = _serve(dataset, port)
    try:
        with httpx2.Client(base_url=base, timeout=10) as http:
            assert http.get("/api/progress", params={"labeller": "k"}).json()["mine"] == 3
            fourth = _label(http, "k")
            assert fourth not in (*given, third)
        proc.send_signal(signal.SIGINT)  # Ctrl-C: stop and merge
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == 0 and "Merged 4 labelled pairs" in out
    assert len(PreferenceDataset.load(dataset)) == 4


def test_prefs_serve_help_loads_neither_torch_nor_the_web_framework() -> None:
    code = (
        "import sys\nfrom rewardlab.cli import main\ntry:\n    main(['prefs', 'serve', '--help'])\n"
        "except SystemExit:\n    pass\n"
        "print(sorted(m for m in ('torch', 'fastapi', 'starlette', 'uvicorn') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert out.splitlines()[-1] == "[]"
