"""The remote backend: the server extension's REST API and WebSocket (DESIGN §4).

HTTP goes through one ``httpx.Client`` (connection reuse keeps a call to a local
server near a millisecond); live updates through the ``stream`` WebSocket
(``websockets``, its threaded client for :meth:`RemoteBackend.stream` and its asyncio
client for :meth:`RemoteBackend.astream`). Authentication is Jupyter's own: the
server's token in an ``Authorization: token ...`` header.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pandas as pd
from websockets.asyncio.client import ClientConnection as AsyncConnection
from websockets.asyncio.client import connect as aconnect
from websockets.exceptions import WebSocketException
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as sconnect

from fusion_jupyter.client import errors
from fusion_jupyter.client.backend import (
    CHANNELS,
    Backend,
    Message,
    Mode,
    artifact_path,
    run_path,
)
from fusion_jupyter.service.exchange import Reply, Request

API_PREFIX = "fusion/api/"
DEFAULT_TIMEOUT = 30.0
DOWNLOAD_CHUNK = 1 << 16
#: Request headers a relayed request keeps (the rest are the page's, not the API's).
FORWARDED_HEADERS = ("range", "content-type")
#: How long the relay's reader blocks on its socket before checking whether to stop.
RELAY_RECEIVE_TIMEOUT = 0.25
RELAY_RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)


def normalize_url(url: str) -> str:
    """``url`` with a scheme and a trailing slash (``localhost:8888`` -> ``http://localhost:8888/``)."""
    url = url.strip()
    if "://" not in url:
        url = "http://" + url
    return url if url.endswith("/") else url + "/"


def websocket_url(api_url: str) -> str:
    """The ``stream`` WebSocket address under an API base URL."""
    parts = urlsplit(api_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path + "stream", "", ""))


def _auth_headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"token {token}"} if token else {}


def _hint(status: int, url: str) -> str:
    if status in (401, 403):
        return (
            f"the Jupyter server at {url} refused the request (HTTP {status}): "
            "the token is missing or wrong; pass token=... (fusion-jupyter --token)"
        )
    if status == 404:
        return (
            f"{url} answered 404: is the fusion_jupyter server extension enabled there? "
            "(jupyter server extension list)"
        )
    return f"{url} answered HTTP {status}"


def error_for_response(response: httpx.Response) -> errors.FusionError:
    """The typed exception for an error response, with a useful message even when the
    body is not our JSON error (Jupyter's own 403 page, a proxy's 502, ...)."""
    try:
        payload = response.json()
    except ValueError:
        payload = None
    body = payload.get("error") if isinstance(payload, Mapping) else None
    status = response.status_code
    hint = _hint(status, str(response.request.url))
    if not isinstance(body, Mapping):
        return errors.error_from_payload(status, None, hint)
    if status in (401, 403) and not body.get("details"):
        # Jupyter's own refusal (no or wrong token); a refused path carries details.
        return errors.AuthError(f"{hint} [{body.get('message')}]", status=status)
    return errors.error_from_payload(status, payload, hint)


def _is_api_json(response: httpx.Response) -> bool:
    """Whether an answer is the API's own JSON rather than a file's bytes (files are
    sent with ``Accept-Ranges``, whatever their type)."""
    kind = response.headers.get("Content-Type", "")
    return kind.startswith("application/json") and "Accept-Ranges" not in response.headers


def _raise_errors(messages: list[Message]) -> list[Message]:
    for message in messages:
        if message.get("type") == "error":
            raise errors.error_from_payload(None, message, "stream error")
    return messages


def _parse(raw: str | bytes) -> list[Message]:
    """A frame's messages (one or a list), as sent."""
    data = json.loads(raw)
    return [m for m in (data if isinstance(data, list) else [data]) if isinstance(m, dict)]


def _subscribe_op(run_id: str, channels: Sequence[str], after: int, log_offset: int) -> str:
    return json.dumps(
        {
            "op": "subscribe",
            "run_id": run_id,
            "channels": list(channels),
            "after": after,
            "log_offset": log_offset,
        }
    )


def _for_run(messages: list[Message], run_id: str | None) -> list[Message]:
    # Every client gets every run's status changes; a run's stream keeps its own.
    if run_id is None:
        return messages
    return [m for m in messages if m.get("run_id") in (run_id, None)]


class _WebSocketStream:
    """A threaded WebSocket connection following one run (or all statuses)."""

    def __init__(self, ws: ClientConnection, run_id: str | None) -> None:
        self._stack = contextlib.ExitStack()
        self._ws = self._stack.enter_context(ws)
        self._run_id = run_id

    def send(self, text: str) -> None:
        """Send one operation (``subscribe``)."""
        self._ws.send(text)

    def messages(self, timeout: float | None) -> list[Message]:
        """The next frame's messages as sent, errors included ([] on time-out)."""
        try:
            raw = self._ws.recv(timeout=timeout)
        except TimeoutError:
            return []
        except (WebSocketException, OSError) as exc:
            raise errors.ConnectionError(f"the live stream closed: {exc}") from exc
        return _parse(raw)

    def receive(self, timeout: float | None) -> list[Message]:
        return _for_run(_raise_errors(self.messages(timeout)), self._run_id)

    def close(self) -> None:
        self._stack.close()


class _AsyncWebSocketStream:
    """The asyncio twin of :class:`_WebSocketStream`."""

    def __init__(self, ws: AsyncConnection, run_id: str | None) -> None:
        self._ws = ws  # entered by RemoteBackend.astream
        self._run_id = run_id

    async def receive(self, timeout: float | None) -> list[Message]:
        try:
            raw = await asyncio.wait_for(self._ws.recv(), timeout)
        except asyncio.TimeoutError:
            return []
        except (WebSocketException, OSError) as exc:
            raise errors.ConnectionError(f"the live stream closed: {exc}") from exc
        return _for_run(_raise_errors(_parse(raw)), self._run_id)

    async def close(self) -> None:
        await self._ws.close()


class ForwardedSession:
    """A stream session of the server, through one WebSocket read by a thread.

    The page's operations are sent on as they are; if the socket breaks (a server
    restart), it is opened again and every followed run subscribed again from the
    last seq and log byte forwarded, so nothing is missed or sent twice.
    """

    def __init__(self, backend: RemoteBackend, notify: Callable[[], None]) -> None:
        self._backend = backend
        self._notify = notify
        self._lock = threading.Lock()
        self._ready: list[Message] = []
        #: run id -> [channels, after, log_offset]: where to resume after a reconnection.
        self.subs: dict[str, list[Any]] = {}
        self._stop = threading.Event()
        self._ws = backend.stream(None)
        threading.Thread(target=self._read, name="fusion-relay-forward", daemon=True).start()

    def handle(self, raw: str | bytes) -> None:
        try:
            op = json.loads(raw)
        except ValueError:
            op = None
        if isinstance(op, dict) and isinstance(op.get("run_id"), str):
            with self._lock:
                if op.get("op") == "subscribe":
                    channels = op.get("channels") or list(CHANNELS)
                    start = [op.get("after", -1), op.get("log_offset", 0)]
                    self.subs[op["run_id"]] = [channels, *start]
                elif op.get("op") == "unsubscribe":
                    self.subs.pop(op["run_id"], None)
        self._send(raw if isinstance(raw, str) else raw.decode("utf-8", "replace"))

    def subscribe(self, run_id: str, channels: list[str], after: int, log_offset: int) -> None:
        self.handle(_subscribe_op(run_id, channels, after, log_offset))

    def unsubscribe(self, run_id: str) -> None:
        self.handle(json.dumps({"op": "unsubscribe", "run_id": run_id}))

    def subscriptions(self) -> dict[str, list[str]]:
        with self._lock:
            return {run_id: sorted(place[0]) for run_id, place in self.subs.items()}

    def collect(self) -> list[Message]:
        with self._lock:
            ready, self._ready = self._ready, []
        return ready

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(Exception):
            self._ws.close()

    def _send(self, text: str) -> None:
        with contextlib.suppress(errors.FusionError, WebSocketException, OSError):
            self._ws.send(text)  # a broken socket is re-opened by the reader

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                messages = self._ws.messages(RELAY_RECEIVE_TIMEOUT)
            except errors.ConnectionError:
                self._reconnect()
                continue
            if messages:
                self._deliver(messages)

    def _deliver(self, messages: list[Message]) -> None:
        with self._lock:
            for message in messages:
                place = self.subs.get(str(message.get("run_id")))
                if place is not None and message.get("type") == "progress":
                    place[1] = max(place[1], int(message.get("seq", -1)))
                elif place is not None and message.get("type") == "log":
                    place[2] = max(place[2], int(message.get("next_offset", 0)))
            self._ready.extend(messages)
        self._notify()

    def _reconnect(self) -> None:
        last = itertools.repeat(RELAY_RETRY_SECONDS[-1])
        for pause in itertools.chain(RELAY_RETRY_SECONDS, last):
            if self._stop.wait(pause):
                return
            try:
                ws = self._backend.stream(None)
            except errors.FusionError:
                continue
            with contextlib.suppress(Exception):
                self._ws.close()
            self._ws = ws
            with self._lock:
                resume = {run_id: list(place) for run_id, place in self.subs.items()}
            for run_id, (channels, after, log_offset) in resume.items():
                self._send(_subscribe_op(run_id, channels, after, log_offset))
            return


class RemoteBackend(Backend):
    """Talks to the fusion_jupyter server extension of a Jupyter server.

    Parameters
    ----------
    url : str
        The Jupyter server's base URL, e.g. ``http://127.0.0.1:8888/`` (with the
        server's ``base_url`` path, such as ``/user/alice/`` under JupyterHub).
    token : str, optional
        The server's token (or a JupyterHub API token).
    timeout : float
        Seconds before an HTTP request is abandoned.
    transport : httpx.BaseTransport, optional
        Replaces the network (tests use ``httpx.MockTransport``).
    """

    mode: Mode = "remote"

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = normalize_url(url)
        self.api_url = self.url + API_PREFIX
        self.token = token
        self.timeout = timeout
        self._http = httpx.Client(
            base_url=self.api_url,
            headers=_auth_headers(token),
            timeout=timeout,
            transport=transport,
        )

    def describe(self) -> str:
        return self.url

    def close(self) -> None:
        self._http.close()

    # ---- HTTP -------------------------------------------------------------------------

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise errors.ConnectionError(
                f"cannot reach the Jupyter server at {self.url}: {exc or type(exc).__name__}"
            ) from exc

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One API call; an error answer raises the matching typed exception."""
        response = self._send(method, path, **kwargs)
        if response.status_code >= 400:
            raise error_for_response(response)
        return response

    def call(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> Any:
        """One API call's JSON answer (None for 204)."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        kwargs: dict[str, Any] = {"params": query} if query else {}
        if body is not None:
            kwargs["json"] = body
        response = self.request(method, path, **kwargs)
        if response.status_code == 204:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise errors.ServerError(
                f"{method} {response.request.url} did not answer JSON (HTTP {response.status_code})"
            ) from exc

    def answer(self, request: Request) -> Reply:
        """Forward a raw request to the server and return its answer as it is."""
        headers = {k: v for k, v in request.headers.items() if k in FORWARDED_HEADERS}
        response = self._send(
            request.method,
            request.path,
            params=dict(request.query),
            headers=headers,
            content=request.body or None,
        )
        kept = {
            name: response.headers[name]
            for name in ("Content-Type", "Content-Range", "Content-Disposition", "Accept-Ranges")
            if name in response.headers
        }
        if _is_api_json(response):
            return Reply(response.status_code, response.json(), headers=kept)
        if response.status_code == 204:
            return Reply(204, headers=kept)
        return Reply(response.status_code, body=response.content, headers=kept)

    def check(self) -> None:
        """Fail now, with a clear error, if the server is unreachable, lacks the
        extension, or refuses the token."""
        self.request("GET", "health/live")
        self.request("GET", "templates")

    # ---- files ------------------------------------------------------------------------

    def read_artifact(self, run_id: str, path: str) -> bytes:
        return self.request("GET", artifact_path(run_id, path)).content

    @contextlib.contextmanager
    def _streamed(self, path: str) -> Iterator[httpx.Response]:
        try:
            with self._http.stream("GET", path) as response:
                if response.status_code >= 400:
                    response.read()
                    raise error_for_response(response)
                yield response
        except httpx.TransportError as exc:
            raise errors.ConnectionError(f"download from {self.url} failed: {exc}") from exc

    def download_artifact(self, run_id: str, path: str, dest: Path) -> None:
        partial = dest.with_name(f".{dest.name}.part")
        try:
            with (
                self._streamed(artifact_path(run_id, path)) as response,
                partial.open("wb") as fh,
            ):
                for chunk in response.iter_bytes(DOWNLOAD_CHUNK):
                    fh.write(chunk)
            partial.replace(dest)
        finally:
            partial.unlink(missing_ok=True)

    def load_artifact(self, run_id: str, path: str) -> pd.DataFrame:
        from fusion_jupyter.engine import artifacts

        with tempfile.TemporaryDirectory(prefix="fusion-artifact-") as tmp:
            local = Path(tmp) / Path(path).name
            self.download_artifact(run_id, path, local)
            with errors.engine_errors():
                return artifacts.load(local)

    def results(self, run_id: str) -> pd.DataFrame:
        response = self.request("GET", run_path(run_id, "results"), params={"format": "parquet"})
        return pd.read_parquet(io.BytesIO(response.content))

    # ---- live -------------------------------------------------------------------------

    def _ws_failure(self, exc: Exception) -> errors.FusionError:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status:
            return errors.error_from_payload(
                status, None, _hint(status, websocket_url(self.api_url))
            )
        return errors.ConnectionError(f"cannot open the live stream of {self.url}: {exc}")

    def _ws_options(self) -> dict[str, Any]:
        return {
            "uri": websocket_url(self.api_url),
            "additional_headers": _auth_headers(self.token),
            "open_timeout": self.timeout,
            "max_size": None,
        }

    def stream(
        self,
        run_id: str | None,
        channels: Sequence[str] = CHANNELS,
        after: int = -1,
        log_offset: int = 0,
    ) -> _WebSocketStream:
        try:
            ws = sconnect(**self._ws_options())
        except (WebSocketException, OSError) as exc:
            raise self._ws_failure(exc) from exc
        stream = _WebSocketStream(ws, run_id)
        if run_id is not None and channels:  # statuses and folded progress come anyway
            stream.send(_subscribe_op(run_id, channels, after, log_offset))
        return stream

    def open_session(self, notify: Callable[[], None]) -> ForwardedSession:
        """The server's own stream session, through a WebSocket (for the widgets' relay)."""
        return ForwardedSession(self, notify)

    async def astream(
        self,
        run_id: str | None,
        channels: Sequence[str] = CHANNELS,
        after: int = -1,
        log_offset: int = 0,
    ) -> _AsyncWebSocketStream:
        try:
            ws = await aconnect(**self._ws_options()).__aenter__()
        except (WebSocketException, OSError) as exc:
            raise self._ws_failure(exc) from exc
        if run_id is not None and channels:  # statuses and folded progress come anyway
            await ws.send(_subscribe_op(run_id, channels, after, log_offset))
        return _AsyncWebSocketStream(ws, run_id)
