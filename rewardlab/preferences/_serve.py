"""``rewardlab prefs serve``: a local web page where people label the pairs of a dataset.

Built on FastAPI (Starlette) and served by uvicorn. The page is plain HTML, CSS and one small
vanilla JS file shipped as package data (``rewardlab/preferences/static/``); nothing is loaded
from another host (a ``Content-Security-Policy`` of ``'self'`` enforces it), so it works offline.

The routes (JSON unless said; ``labeller`` is a name of letters, digits, ``_.-``)::

    GET  /                         the page            GET  /static/<file>      its JS and CSS
    GET  /api/info                 env, task, question, pairs, repeats
    GET  /api/next?labeller=L      the pair L should label now: ids and clip URLs, no returns
    POST /api/label                {labeller, pair_id, label: left|right|equal|0..1, request_id?}
    POST /api/skip                 {labeller, pair_id}
    POST /api/undo                 {labeller}: cancels L's last label, the pair is shown again
    GET  /api/progress?labeller=L  labelled / total, L's count and labels per minute
    GET  /api/pairs/{id}           the pair's metadata, segment returns included (shown on demand)
    GET  /api/clips/{segment}.gif  a segment's clip, rendered on first use and cached in DATASET/clips/
    GET  /api/disagreements        pairs labelled differently by several labellers

Every label is in ``DATASET/labels.jsonl`` (fsynced) before its answer is sent
(:mod:`rewardlab.preferences._labelling`); :func:`serve` merges the log into the dataset when
it stops. Bound to 127.0.0.1 by default; any other address needs a token, which each request
carries (``?token=`` or the ``X-Rewardlab-Token`` header). Bad requests get a 4xx with a
``detail`` that says what to send.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import secrets
import signal
import threading
from collections.abc import AsyncIterator, Callable
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import uvicorn
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field
from starlette.datastructures import MutableHeaders
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rewardlab import suite
from rewardlab.errors import ConfigError, MissingDependencyError, message
from rewardlab.preferences._clips import render_segment, write_clip
from rewardlab.preferences._dataset import HEADER, LABEL_WORDS, PreferenceDataset
from rewardlab.preferences._labelling import LabelConflict, LabelLog, LabelQueue, disagreements, merge_labels

__all__ = [
    "LOOPBACK_HOSTS",
    "QUESTION",
    "allowed_hosts_for",
    "check_bind",
    "create_app",
    "is_loopback",
    "serve",
    "waiting_app",
]

QUESTION = "Which segment is better at the task?"
"""The question the page asks about every pair."""
CLIP_FORMAT = "gif1"
"""Names how clips are drawn (:func:`render_segment` + :func:`write_clip`); part of every clip version."""
TOKEN_HEADER = "X-Rewardlab-Token"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
"""The ``Host`` headers a server bound to a loopback address accepts."""
_LABELLER = r"^[A-Za-z0-9_.-]{1,64}$"
_CSP = "default-src 'self'; img-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'"
_STATIC = ("index.html", "app.js", "style.css")
_MEDIA = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css"}

Labeller = Annotated[str, Field(pattern=_LABELLER, description="who labels: letters, digits, _ . -")]


class LabelRequest(BaseModel):
    labeller: Labeller
    pair_id: int
    label: Literal["left", "right", "equal"] | Annotated[float, Field(ge=0.0, le=1.0)]
    request_id: Annotated[str, Field(max_length=64)] | None = None


class SkipRequest(BaseModel):
    labeller: Labeller
    pair_id: int


class UndoRequest(BaseModel):
    labeller: Labeller


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (``127.0.0.0/8``, ``::1``) or ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_hosts_for(host: str) -> tuple[str, ...]:
    """The ``Host`` headers to accept when bound to ``host`` (loopback names only, or any with a token)."""
    return LOOPBACK_HOSTS if is_loopback(host) else ("*",)


def check_bind(host: str, token: str | None) -> None:
    """Refuse to bind ``host`` without a token unless it is a loopback address.

    Raises:
        ConfigError: a non-loopback ``host`` and no (or a short) ``token``.
    """
    if is_loopback(host):
        return
    if not token or len(token) < 16:
        raise ConfigError(
            message(
                "token",
                f"a secret of 16+ characters when binding {host!r} (not a loopback address)",
                "<short>" if token else token,
                "Pass --token of 16+ characters (or leave it out and one is made up for you), or bind 127.0.0.1.",
            )
        )


class _Clips:
    """Each segment's GIF, rendered on first request, cached as ``clips/segment_<i>.gif``, hashed once."""

    def __init__(self, dataset: PreferenceDataset, folder: Path, fps: float, size: tuple[int, int] | None) -> None:
        self.dataset, self.folder, self.fps, self.size = dataset, folder, fps, size
        self._render_lock = threading.Lock()  # one renderer at a time (pygame and GL are not thread-safe)
        self._hashes: dict[int, str] = {}

    def path(self, segment: int) -> Path:
        """The clip of ``segment``, rendered if needed.

        Raises:
            ConfigError, MissingDependencyError: the env cannot be drawn (as :func:`render_segment`).
        """
        path = self.folder / f"segment_{segment}.gif"
        if not path.is_file():
            with self._render_lock:
                if not path.is_file():
                    frames = render_segment(self.dataset.segments, segment, size=self.size)
                    write_clip(frames, path, fps=self.fps)
        return path

    def version(self, segment: int) -> str:
        """The content hash of the segment's clip if it was rendered, else ``none``."""
        if segment not in self._hashes:
            path = self.folder / f"segment_{segment}.gif"
            if not path.is_file():
                return "none"
            self._hashes[segment] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        return self._hashes[segment]


def _read_queue(path: Path) -> np.ndarray:
    """``(N, 2)`` segment indices of the pairs in a queries file (CSV or JSONL, as `prefs collect` writes)."""
    if not path.is_file():
        raise ConfigError(
            message(
                "queries",
                "an existing queries file (.csv or .jsonl)",
                str(path),
                "`rewardlab prefs collect` writes DATASET/queries.csv; `rewardlab prefs export` writes more.",
            )
        )
    pairs = []
    for line, row in PreferenceDataset.read_rows(path):
        try:
            pairs.append((int(str(row["left"]).strip()), int(str(row["right"]).strip())))
        except (KeyError, ValueError) as exc:
            raise ConfigError(message(f"{path.name}:{line}", "a row with integer `left` and `right`", row)) from exc
    return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)


def _static(name: str) -> Path:
    return Path(str(resources.files("rewardlab.preferences") / "static" / name))


class _Guard:
    """The token check and the security headers of every response, as a pure ASGI middleware.

    Not ``@app.middleware("http")``: Starlette's ``BaseHTTPMiddleware`` re-streams each body
    through a memory pipe, and under load that cut ``index.html`` short of its Content-Length
    (h11's "Too little data for declared Content-Length"; the browser showed a page without a
    body). This one passes the app's messages through and only edits the response's headers.
    """

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app, self.token = app, token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                headers = MutableHeaders(scope=msg)
                headers["Content-Security-Policy"] = _CSP
                headers["X-Content-Type-Options"] = "nosniff"
            await send(msg)

        if self.token is not None:
            request = Request(scope)
            given = request.headers.get(TOKEN_HEADER) or request.query_params.get("token") or ""
            if not secrets.compare_digest(given.encode(), self.token.encode()):
                denied = JSONResponse(
                    {"detail": "A token is required: open the URL `prefs serve` printed (it ends in ?token=...)."},
                    status_code=401,
                )
                await denied(scope, receive, send_with_headers)
                return
        await self.app(scope, receive, send_with_headers)


def _page_app(
    token: str | None,
    allowed_hosts: tuple[str, ...],
    lifespan: Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]] | None = None,
) -> FastAPI:
    """A FastAPI app with the page (``/``, ``/static/*``), the host and token guards and the error handlers."""
    app = FastAPI(title="rewardlab labelling", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
    app.add_middleware(_Guard, token=token)  # added last: the outermost, so host errors get the headers too

    @app.exception_handler(LabelConflict)
    async def conflict(request: Request, exc: LabelConflict) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(ConfigError)
    async def bad_value(request: Request, exc: ConfigError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(_static("index.html"), media_type=_MEDIA[".html"])

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> FileResponse:
        if name not in _STATIC:
            raise HTTPException(404, f"No static file {name!r}; the page uses {', '.join(_STATIC)}.")
        return FileResponse(_static(name), media_type=_MEDIA[Path(name).suffix])

    return app


def waiting_app(
    text: str,
    *,
    token: str | None = None,
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS,
    env: str = "",
    description: str = "",
) -> FastAPI:
    """The page with nothing to label yet: ``/api/next`` answers ``{"done": true, "waiting": true, "message": text}``.

    What the online loop's server shows between two stages (the agent is training); the page
    polls and shows the next stage's pairs when they are published.
    """
    app = _page_app(token, allowed_hosts)
    progress = {"labelled": 0, "total": 0, "mine": 0, "per_minute": None, "labellers": 0}

    @app.get("/api/info")
    def info() -> dict[str, Any]:
        return {"env": env, "description": description, "question": QUESTION, "caption": text, "n_pairs": 0}

    @app.get("/api/next")
    def next_pair(labeller: Annotated[str, Query(pattern=_LABELLER)]) -> dict[str, Any]:
        return {"done": True, "waiting": True, "message": text, "progress": progress}

    @app.get("/api/progress")
    def progress_(labeller: Annotated[str | None, Query(pattern=_LABELLER)] = None) -> dict[str, Any]:
        return progress

    return app


def create_app(
    dataset_dir: str | Path,
    *,
    queries: str | Path | None = None,
    token: str | None = None,
    repeats: int = 1,
    fps: float = 20,
    size: tuple[int, int] | None = (240, 240),
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS,
    caption: str = "",
    done_text: str = "",
) -> FastAPI:
    """The labelling app of one dataset; it holds the dataset's label log open until it shuts down.

    Args:
        dataset_dir: a dataset directory (:meth:`PreferenceDataset.save`).
        queries: the pairs to label (default: ``DATASET/queries.csv``).
        token: when set, every request must carry it (``?token=`` or the ``X-Rewardlab-Token`` header).
        repeats: labels wanted per pair, from different labellers (2+ measures agreement).
        fps: frames per second of the clips.
        size: ``(width, height)`` of each clip.
        allowed_hosts: the ``Host`` headers accepted (guards against DNS rebinding); add the
            address you bind when it is not a loopback one.
        caption: a line the page shows above the clips (the online loop: which stage asks).
        done_text: what the page says once every pair is labelled (default: the page's own line).

    Raises:
        ConfigError: no dataset or queries file, a bad ``repeats``.
        RunBusyError: another server has this dataset open.
    """
    root = Path(dataset_dir)
    dataset = PreferenceDataset.load(root)
    pairs = _read_queue(Path(queries) if queries is not None else root / "queries.csv")
    if len(pairs) and (pairs.min() < 0 or pairs.max() >= len(dataset.segments)):
        raise ConfigError(message("queries", f"segment indices in [0, {len(dataset.segments)})", str(queries)))
    clips = _Clips(dataset, root / "clips", fps, size)
    log = LabelLog(root)
    try:
        queue = LabelQueue(
            log,
            pairs,
            repeats,
            clip_version=lambda pid: f"{CLIP_FORMAT}:" + "/".join(clips.version(int(s)) for s in pairs[pid]),
        )
    except BaseException:
        log.close()
        raise

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        log.close()

    app = _page_app(token, allowed_hosts, lifespan)
    app.state.log, app.state.queue, app.state.dataset = log, queue, dataset
    # the clips' URLs change with the data (the online loop serves one dataset a stage, same segment ids)
    tag = str(json.loads((root / HEADER).read_text(encoding="utf-8")).get("sha256", ""))[:12]

    @app.get("/api/info")
    def info() -> dict[str, Any]:
        env = suite.get(dataset.env)
        return {
            "env": dataset.env,
            "description": env.description,
            "question": QUESTION,
            "caption": caption,
            "n_pairs": len(pairs),
            "repeats": repeats,
            "keys": {
                "left": "ArrowLeft or 1",
                "right": "ArrowRight or 2",
                "equal": "ArrowDown, = or 3",
                "skip": "s",
                "undo": "u or Backspace",
                "details": "i",
            },
        }

    @app.get("/api/next")
    def next_pair(labeller: Annotated[str, Query(pattern=_LABELLER)]) -> dict[str, Any]:
        pid = queue.next_pair(labeller)
        if pid is None:
            return {"done": True, "message": done_text, "progress": queue.progress(labeller)}
        left, right = (int(s) for s in pairs[pid])
        return {
            "done": False,
            "queue": tag,
            "pair_id": pid,
            "left": left,
            "right": right,
            "clips": {"left": f"/api/clips/{left}.gif?d={tag}", "right": f"/api/clips/{right}.gif?d={tag}"},
            "progress": queue.progress(labeller),
        }

    @app.post("/api/label")
    def label(body: LabelRequest) -> dict[str, Any]:
        value = LABEL_WORDS[body.label] if isinstance(body.label, str) else float(body.label)
        event = queue.label(body.labeller, body.pair_id, value, body.request_id)
        return {"event": event, "progress": queue.progress(body.labeller)}

    @app.post("/api/skip")
    def skip(body: SkipRequest) -> dict[str, Any]:
        return {"event": queue.skip(body.labeller, body.pair_id), "progress": queue.progress(body.labeller)}

    @app.post("/api/undo")
    def undo(body: UndoRequest) -> dict[str, Any]:
        return {"event": queue.undo(body.labeller), "progress": queue.progress(body.labeller)}

    @app.get("/api/progress")
    def progress(labeller: Annotated[str | None, Query(pattern=_LABELLER)] = None) -> dict[str, Any]:
        return queue.progress(labeller)

    @app.get("/api/pairs/{pair_id}")
    def pair_meta(pair_id: int) -> dict[str, Any]:
        pid = queue.check_pair_id(pair_id)
        left, right = (int(s) for s in pairs[pid])
        seg = dataset.segments
        sums = {"env_return": seg.returns()} | {f: seg.returns({f: 1.0}) for f in sorted(seg.factors)}
        steps = seg.mask.sum(axis=1)
        side = lambda i: {"segment": i, "steps": int(steps[i])} | {k: float(v[i]) for k, v in sums.items()}
        return {"pair_id": pid, "left": side(left), "right": side(right), "clip_version": queue.clip_version(pid)}

    @app.get("/api/clips/{segment}.gif")
    def clip(segment: int) -> FileResponse:
        if not 0 <= segment < len(dataset.segments):
            raise HTTPException(404, message("segment", f"in [0, {len(dataset.segments)})", segment))
        try:
            path = clips.path(segment)
        except (ConfigError, MissingDependencyError) as exc:
            raise HTTPException(404, f"No clip: {exc}") from exc
        return FileResponse(path, media_type="image/gif", headers={"Cache-Control": "max-age=86400"})

    @app.get("/api/disagreements")
    def disagreement() -> dict[str, Any]:
        found = disagreements(log.events)
        return {"n": len(found), "pairs": found}

    return app


class _Stopped(Exception):
    """SIGTERM reached the labelling server (after uvicorn's graceful shutdown)."""


def _stop(signum: int, frame: object) -> None:
    raise _Stopped


def serve(
    dataset_dir: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str | None = None,
    merge: bool = True,
    on_ready: Callable[[str], None] | None = None,
    **app_kwargs: Any,
) -> tuple[int, int]:
    """Serve the labelling page until interrupted (Ctrl-C or SIGTERM), then merge the label log into the dataset.

    Args:
        dataset_dir: the dataset directory.
        host: the address to bind; anything but loopback needs ``token``.
        port: the TCP port.
        token: the secret every request must carry.
        merge: merge the log into the dataset when the server stops.
        on_ready: called with the page's URL once the app is built (before the socket is bound).
        **app_kwargs: passed to :func:`create_app` (``queries``, ``repeats``, ``fps``, ``size``).

    Returns:
        ``(added, already_there)`` of the merge (``(0, 0)`` without it).

    Raises:
        ConfigError: a non-loopback ``host`` without a token; as :func:`create_app`.
    """
    check_bind(host, token)
    hosts = allowed_hosts_for(host)
    app = create_app(dataset_dir, token=token, allowed_hosts=hosts, **app_kwargs)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
    if on_ready is not None:
        on_ready(url)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False))
    # uvicorn stops gracefully on SIGINT/SIGTERM, then re-raises the signal to the previous handler:
    # turn both into an exception here so that the merge below still runs.
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _stop) if main_thread else None
    try:
        server.run()
    except (KeyboardInterrupt, _Stopped):
        pass
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
        app.state.log.close()
    if not merge:
        return 0, 0
    return merge_labels(dataset_dir, app.state.log.events)
