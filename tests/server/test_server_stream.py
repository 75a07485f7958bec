"""The ``stream`` WebSocket through pytest-jupyter: subscribe, resume, batching, status,
bad client messages, and a stalled client that is dropped without holding up others."""

from __future__ import annotations

import asyncio
import gc
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError
from tornado.websocket import WebSocketClientConnection
from traitlets.config import Config

from fusion_jupyter.engine.hub import EventHub
from fusion_jupyter.server.app import FusionJupyter
from fusion_jupyter.server.fanout import Fanout, FrameCache, websocket_text_frame
from fusion_jupyter.server.stream import CLOSE_STALLED, ClientStream, encode_frame
from tests.support import async_wait_until
from tests.support.server_app import SLOW, Api, ReadOnly, create, server_config, wait_status

Message = dict[str, Any]


class Client:
    """A test client on the stream socket, keeping every frame it got."""

    def __init__(self, ws: WebSocketClientConnection) -> None:
        self.ws = ws
        self.frames: list[list[Message]] = []

    async def send(self, **message: Any) -> None:
        await self.ws.write_message(json.dumps(message))

    async def next_frame(self, timeout: float = 30) -> list[Message]:
        raw = await asyncio.wait_for(self.ws.read_message(), timeout)
        assert raw is not None, f"socket closed: {self.ws.close_code} {self.ws.close_reason}"
        frame = json.loads(raw)
        assert isinstance(frame, list) and frame, frame
        self.frames.append(frame)
        return frame

    async def until(self, done: Callable[[Message], bool], timeout: float = 30) -> list[Message]:
        got: list[Message] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            for message in await self.next_frame(max(0.1, remaining)):
                got.append(message)
                if done(message):
                    return got


@pytest.fixture
def connect(jp_ws_fetch: Any) -> Callable[..., Any]:
    async def open_client(**kwargs: Any) -> Client:
        return Client(await jp_ws_fetch("fusion/api", "stream", **kwargs))

    return open_client


def ended(run_id: str) -> Callable[[Message], bool]:
    return lambda m: (
        m["type"] == "status" and m["run_id"] == run_id and m["run"]["status"] == "COMPLETED"
    )


def of_run(messages: list[Message], run_id: str, kind: str) -> list[Message]:
    return [m for m in messages if m.get("run_id") == run_id and m["type"] == kind]


def check_log_contiguous(logs: list[Message], start: int = 0) -> str:
    offset = start
    for message in logs:
        assert message["offset"] == offset
        offset = message["next_offset"]
    return "".join(m["data"] for m in logs)


async def test_follow_a_run_to_completed(api: Api, connect: Any) -> None:
    client = await connect()
    run = await create(api, overrides={"stub": {"delay": 0.01, "stdout_lines": 20}})
    await client.send(op="subscribe", run_id=run["id"], channels=["progress", "logs"])
    got = await client.until(ended(run["id"]))
    ours = [m for m in got if m.get("run_id") == run["id"]]
    data = [m for m in ours if m["type"] != "status"]
    assert data[0] == {"type": "subscribed", "run_id": run["id"], "after": -1, "log_offset": 0}
    progress = of_run(got, run["id"], "progress")
    assert [m["seq"] for m in progress] == list(range(len(progress)))
    assert progress[-1]["event"]["type"] == "complete"
    assert all(m["event"]["seq"] == m["seq"] for m in progress)
    # The run's end comes after its last progress event.
    assert ours.index(progress[-1]) < ours.index(of_run(got, run["id"], "status")[-1])

    # The run has ended, so its log is whole; its last bytes may follow the status.
    size = Path(run["run_dir"], "logs", "sim.log").stat().st_size
    logs = of_run(got, run["id"], "log")
    while not logs or logs[-1]["next_offset"] < size:
        logs += of_run(await client.next_frame(), run["id"], "log")
    text = check_log_contiguous(logs)
    assert text == Path(run["run_dir"], "logs", "sim.log").read_text()


async def test_a_run_that_ended_before_the_socket_opened_is_heard_to_end(
    api: Api, connect: Any
) -> None:
    """Statuses are live only: a client that follows a finished run gets its status
    once, after the run's history."""
    run = await create(api)
    await wait_status(api, run["id"], "COMPLETED")
    client = await connect()
    await client.send(op="subscribe", run_id=run["id"], channels=["progress"])
    got = await client.until(ended(run["id"]))
    ours = [m for m in got if m.get("run_id") == run["id"]]
    assert ours[0]["type"] == "subscribed"
    assert [m["type"] for m in ours].count("status") == 1
    progress = of_run(got, run["id"], "progress")
    assert progress[-1]["event"]["type"] == "complete"
    assert ours.index(progress[-1]) < ours.index(of_run(got, run["id"], "status")[0])


async def test_frames_the_socket_cannot_take_at_once_arrive_whole_and_in_order(
    api: Api, connect: Any
) -> None:
    """A client that reads nothing until its run has ended: the socket takes only part
    of the log at once, tornado queues the rest of a frame, and every byte arrives."""
    client = await connect()
    run = await create(api, overrides={"stub": {"stdout_lines": 400_000}})
    await client.send(op="subscribe", run_id=run["id"], channels=["logs"])
    await wait_status(api, run["id"], "COMPLETED")
    size = Path(run["run_dir"], "logs", "sim.log").stat().st_size
    assert size > 8 << 20  # more than loopback's socket buffers hold
    logs: list[dict[str, Any]] = []
    while not logs or logs[-1]["next_offset"] < size:
        logs += of_run(await client.next_frame(), run["id"], "log")
    assert check_log_contiguous(logs) == Path(run["run_dir"], "logs", "sim.log").read_text()


async def test_resume_after_seq_and_offset_repeats_nothing(api: Api, connect: Any) -> None:
    run = await create(api, overrides={"stub": {"stdout_lines": 30}})
    await wait_status(api, run["id"], "COMPLETED")
    client = await connect()
    await client.send(op="subscribe", run_id=run["id"], after=4, log_offset=100)
    # A finished run's whole history is ready at once: one frame.
    frame = await client.next_frame()
    while not any(m["type"] == "subscribed" for m in frame):
        frame = await client.next_frame()
    mine = [m for m in frame if m.get("run_id") == run["id"]]
    assert mine[0]["type"] == "subscribed"
    seqs = [m["seq"] for m in mine if m["type"] == "progress"]
    assert seqs[0] == 5 and seqs == list(range(5, seqs[-1] + 1))
    log_text = Path(run["run_dir"], "logs", "sim.log").read_bytes()
    logs = [m for m in mine if m["type"] == "log"]
    assert logs[0]["offset"] == 100
    assert check_log_contiguous(logs, 100).encode() == log_text[100:]


async def test_every_client_gets_every_status(api: Api, connect: Any) -> None:
    watcher = await connect()
    run = await create(api)
    got = await watcher.until(ended(run["id"]))
    statuses = [m["run"]["status"] for m in of_run(got, run["id"], "status")]
    assert statuses[0] == "PENDING" and statuses[-1] == "COMPLETED"
    assert not of_run(got, run["id"], "progress")  # not subscribed: status only
    assert (await api("DELETE", f"runs/{run['id']}"))[0] == 204
    deleted = await watcher.until(lambda m: m["type"] == "status" and m["run_id"] == run["id"])
    assert deleted[-1]["run"]["deleted"] is True


async def test_unsubscribe_stops_the_run_data(api: Api, connect: Any) -> None:
    run = await create(api, overrides=SLOW)
    client = await connect()
    await client.send(op="subscribe", run_id=run["id"], channels=["progress"])
    await client.until(lambda m: m["type"] == "progress")
    await client.send(op="unsubscribe", run_id=run["id"])
    await client.send(op="ping")
    await client.until(lambda m: m["type"] == "pong")
    await api("POST", f"runs/{run['id']}/cancel")
    rest = await client.until(lambda m: m["type"] == "status" and m["run"]["status"] == "CANCELLED")
    assert not [m for m in rest if m["type"] == "progress"]


@pytest.mark.parametrize(
    ("message", "key"),
    [
        ("not json", ""),
        ("[1]", "op"),
        (json.dumps({"op": "dance"}), "op"),
        (json.dumps({}), "op"),
        (json.dumps({"op": "subscribe"}), "run_id"),
        (json.dumps({"op": "subscribe", "run_id": "x", "after": -2}), "after"),
        (json.dumps({"op": "subscribe", "run_id": "x", "after": True}), "after"),
        (json.dumps({"op": "subscribe", "run_id": "x", "log_offset": 1.5}), "log_offset"),
        (json.dumps({"op": "subscribe", "run_id": "x", "channels": ["video"]}), "channels"),
        (json.dumps({"op": "subscribe", "run_id": "x", "extra": 1}), "extra"),
        (json.dumps({"op": "subscribe", "run_id": "0123456789ab"}), None),
        ('{"op": "subscribe", "run_id": "\\ud800"}', "run_id"),
        ('{"op": "subscribe", "run_id": "' + "r" * 300 + '"}', None),
    ],
)
async def test_bad_messages_get_an_error_and_keep_the_socket(
    connect: Any, message: str, key: str | None
) -> None:
    client = await connect()
    await client.ws.write_message(message)
    errors = await client.until(lambda m: m["type"] == "error")
    error = errors[-1]["error"]
    assert set(error) == {"code", "message", "details"}
    if key is None:
        assert error["code"] == "not_found"
    else:
        assert key in [d["key"] for d in error["details"]], error
    await client.send(op="ping")
    assert (await client.until(lambda m: m["type"] == "pong"))[-1] == {"type": "pong"}


async def test_oversized_message_closes_the_socket(connect: Any) -> None:
    client = await connect()
    await client.ws.write_message("x" * (65 * 1024))
    assert await asyncio.wait_for(client.ws.read_message(), 10) is None
    assert client.ws.close_code == 1009


async def test_stalled_client_is_closed_and_others_go_on(
    api: Api, connect: Any, app: FusionJupyter
) -> None:
    """A client whose socket never drains is dropped; a normal client is not delayed."""
    assert app.context is not None
    ctx = app.context
    ctx.stream = type(ctx.stream)(send_buffer_bytes=64 * 1024, stall_seconds=0.5)
    closed: list[tuple[int, str]] = []
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    stalled = ClientStream(ctx, lambda _frame: never, lambda c, r: closed.append((c, r)))
    healthy = await connect()

    run = await create(api, overrides={"stub": {"stdout_lines": 20_000, "delay": 0.01}})
    await stalled.handle(json.dumps({"op": "subscribe", "run_id": run["id"]}))
    await healthy.send(op="subscribe", run_id=run["id"], channels=["progress"])
    got = await healthy.until(ended(run["id"]))
    assert of_run(got, run["id"], "progress")[-1]["event"]["type"] == "complete"
    await async_wait_until(lambda: closed, 10, "the stalled client to be dropped")
    assert closed[0][0] == CLOSE_STALLED and "too slow" in closed[0][1]
    assert stalled.closed and not stalled.subs


def test_a_published_message_is_encoded_once_for_every_subscriber() -> None:
    hub = EventHub(lambda _run_id: None)
    subs = [hub.subscribe("r1", notify=lambda: None, channels=["progress"]) for _ in range(3)]
    hub.publish_progress("r1", [{"seq": 0, "type": "iteration", "erlang": 300.0, "t": 1.5}])
    hub.publish_status({"id": "r1", "status": "RUNNING", "name": "caf\u00e9"})
    drained = [sub.drain() for sub in subs]
    first = drained[0]
    assert [m["type"] for m in first] == ["progress", "status"]
    for other in drained[1:]:  # the very same objects, so one cached text
        assert all(a is b for a, b in zip(first, other, strict=True))
    frames = [encode_frame(messages) for messages in drained]
    assert frames[0] == json.dumps(first, separators=(",", ":"))
    assert all(frame == frames[0] for frame in frames)
    assert first[0].json() is first[0].json()  # type: ignore[attr-defined]
    mixed = [{"type": "pong"}, *first, {"type": "lagged", "run_id": "r1", "after": 3}]
    assert encode_frame(mixed) == json.dumps(mixed, separators=(",", ":"))


def test_prebuilt_frames_are_rfc_6455_text_frames() -> None:
    """The examples of RFC 6455 §5.7 (unmasked), as text frames."""
    assert websocket_text_frame(b"Hello") == b"\x81\x05Hello"
    assert websocket_text_frame(b"x" * 125)[:2] == b"\x81\x7d"
    assert websocket_text_frame(b"x" * 256)[:4] == b"\x81\x7e\x01\x00"
    assert websocket_text_frame(b"x" * 65535)[:4] == b"\x81\x7e\xff\xff"
    big = websocket_text_frame(b"x" * 65536)
    assert big[:10] == b"\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00" and len(big) == 65546


async def test_clients_woken_together_get_the_same_frame_bytes(
    api: Api, app: FusionJupyter, tmp_path: Path
) -> None:
    """One publish to many clients: one pass, one frame object, the same bytes for all."""
    assert app.context is not None
    sent: list[list[Any]] = [[] for _ in range(3)]
    clients = [ClientStream(app.context, out.append, lambda _code, _reason: None) for out in sent]
    gate = tmp_path / "go"
    run = await create(api, overrides={"stub": {"wait_for": str(gate), "delay": 0.005}})
    for client in clients:
        op = {"op": "subscribe", "run_id": run["id"], "channels": ["progress"]}
        await client.handle(json.dumps(op))
    await async_wait_until(
        lambda: all(any('"subscribed"' in f.text for f in out) for out in sent), 10, "acks"
    )
    gate.touch()

    def completed(out: list[Any]) -> bool:
        return any('"type":"complete"' in frame.text for frame in out)

    await async_wait_until(lambda: all(map(completed, sent)), 30, "every client to get it all")
    live = [f for f in sent[0] if '"type":"iteration"' in f.text]
    for other in sent[1:]:
        # The same messages make the same text only in the same pass (each event is
        # delivered once), where they must be the very same object, not a copy. (The
        # sync thread may add a run's folded progress to one client's frame only.)
        by_text = {f.text: f for f in other}
        same = [f for f in live if f.text in by_text]
        assert all(by_text[f.text] is f for f in same)
        assert len(same) >= len(live) / 2 > 0
    assert live[0].wire() is live[0].wire()
    for client in clients:
        client.shutdown()


async def test_fanout_passes_take_at_most_their_share_of_the_loop() -> None:
    """Wake-ups during the quiet time a pass earned wait for the next pass, together."""
    loop = asyncio.get_running_loop()
    fanout = Fanout(loop, share=0.1)
    passes: list[tuple[FrameCache, float, list[str]]] = []  # one frame cache a pass

    class Busy:
        def __init__(self, name: str) -> None:
            self.name = name

        def kick(self, frames: FrameCache | None = None) -> None:
            assert frames is not None
            if not passes or passes[-1][0] is not frames:
                passes.append((frames, loop.time(), []))
            passes[-1][2].append(self.name)
            end = time.thread_time() + 0.01  # 10 ms of CPU a client
            while time.thread_time() < end:
                pass

    a, b = Busy("a"), Busy("b")
    fanout.wake(a)
    await async_wait_until(lambda: passes, 5, "the first pass")
    fanout.wake(a)
    fanout.wake(b)
    fanout.wake(a)
    await async_wait_until(lambda: len(passes) == 2, 5, "the second pass")
    assert passes[0][2] == ["a"] and passes[1][2] == ["a", "b"]
    # 10 ms of CPU at a share of 0.1: the next pass no sooner than 100 ms after the
    # first began (the first kick noted the time a little after: a loaded machine may
    # preempt the loop in between).
    assert passes[1][1] - passes[0][1] >= 0.07


class TestFrozenStartupHeap:
    @pytest.fixture
    def jp_server_config(self, tmp_path: Path) -> Config:
        return server_config(tmp_path, freeze_startup_heap=True)

    async def test_the_heap_is_frozen_once_the_loop_runs(self, app: FusionJupyter) -> None:
        try:
            for _ in range(100):
                if gc.get_freeze_count():
                    break
                await asyncio.sleep(0.01)
            assert gc.get_freeze_count() > 0
        finally:
            gc.unfreeze()  # this process is the test run, not a server


class TestCompressedStream:
    """With per-message deflate negotiated, frames are compressed per client, not shared."""

    @pytest.fixture
    def jp_server_config(self, tmp_path: Path) -> Config:
        return server_config(tmp_path, {"websocket_compression_options": {}})

    async def test_a_compressing_client_gets_everything(self, api: Api, connect: Any) -> None:
        run = await create(api, overrides={"stub": {"stdout_lines": 2_000}})
        await wait_status(api, run["id"], "COMPLETED")
        client = await connect(compression_options={})
        assert "permessage-deflate" in client.ws.headers.get("Sec-WebSocket-Extensions", "")
        await client.send(op="subscribe", run_id=run["id"])
        log_text = Path(run["run_dir"], "logs", "sim.log").read_text()
        logs: list[Message] = []
        while not logs or logs[-1]["next_offset"] < len(log_text):
            logs += of_run(await client.next_frame(), run["id"], "log")
        assert check_log_contiguous(logs) == log_text


class TestKeepalive:
    """Every client is pinged by one timer; a client that stops answering is closed."""

    @pytest.fixture
    def jp_server_config(self, tmp_path: Path) -> Config:
        # Pings every 0.5 s, a 1.5 s timeout: margin for the answering clients on a
        # loaded machine (they share the test's event loop with the server).
        return server_config(tmp_path, ws_ping_interval_seconds=0.5)

    async def test_clients_that_answer_stay_and_one_that_does_not_is_closed(
        self, app: FusionJupyter, connect: Any
    ) -> None:
        assert app.context is not None
        answering = [await connect() for _ in range(3)]
        silent = await connect()
        # Tornado's client answers every ping with a pong: not this one.
        protocol: Any = silent.ws.protocol
        protocol._send_pong = lambda _data: None
        pinger = app.context.pinger
        assert len(pinger) == 4
        # Closed once no pong came for the timeout (pinged three times meanwhile).
        assert await asyncio.wait_for(silent.ws.read_message(), 10) is None
        await async_wait_until(lambda: len(pinger) == 3, timeout=10)
        for client in answering:  # pinged and answering all along: open and served
            await client.send(op="ping")
            await client.until(lambda m: m["type"] == "pong")
            client.ws.close()
        await async_wait_until(lambda: len(pinger) == 0, timeout=10)
        assert pinger._timer is None


class TestReadOnlyStream:
    @pytest.fixture
    def jp_server_config(self, tmp_path: Path) -> Config:
        return server_config(tmp_path, {"authorizer_class": ReadOnly})

    async def test_read_only_user_may_stream(self, connect: Any) -> None:
        client = await connect()
        await client.send(op="ping")
        await client.until(lambda m: m["type"] == "pong")


class NoFusion(ReadOnly):
    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return resource != "fusion"


class TestForbiddenStream:
    @pytest.fixture
    def jp_server_config(self, tmp_path: Path) -> Config:
        return server_config(tmp_path, {"authorizer_class": NoFusion})

    async def test_refused(self, connect: Any) -> None:
        with pytest.raises(HTTPClientError) as caught:
            await connect()
        assert caught.value.code == 403


async def test_wrong_token_refused(connect: Any) -> None:
    with pytest.raises(HTTPClientError) as caught:
        await connect(headers={"Authorization": "token wrong"})
    assert caught.value.code == 403


async def test_a_failure_while_handling_a_message_closes_with_a_close_frame(
    connect: Any, app: FusionJupyter, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert app.context is not None

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(app.context.manager, "subscribe", broken)
    client = await connect()
    await client.send(op="subscribe", run_id="0123456789ab")
    assert await asyncio.wait_for(client.ws.read_message(), 10) is None
    assert client.ws.close_code == 1011
