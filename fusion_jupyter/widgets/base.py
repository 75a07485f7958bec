"""What every FUSION widget shares: its built front-end, its transport, its kernel end.

A widget's front-end (``js/src/widgets/<name>.ts``, built into ``static/<name>.js``)
decides how to reach the runs (see ``js/src/widgets/parts/connection.ts``): straight to
the Jupyter server that serves the page when the kernel's client uses that server,
otherwise through the kernel. The Python side says which server its client uses
(``_transport``) and answers the front-end's messages:

- ``{"kind": "fusion", "op": "ws", "data": "<stream op>"}``: the stream protocol,
  relayed by :class:`~fusion_jupyter.widgets.relay.KernelRelay` (frames come back as
  ``{"kind": "fusion-frame", "messages": [...]}``, sent from a background thread, so
  they keep coming while the kernel runs a cell);
- ``{"kind": "fusion", "op": "http", "id", method, path, query, body}``: the REST API,
  answered in a worker thread by :mod:`fusion_jupyter.widgets.rpc`;
- ``{"kind": "fusion", "op": "call", "id", "name", "args"}``: a widget command that
  needs the kernel (``_cmd_<name>`` methods, e.g. load into pandas).

Requests are answered with ``{"kind": "fusion-reply", "id", "status", "json"}`` (and
raw bytes as the message's first buffer).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, cast

import anywidget
import traitlets

from fusion_jupyter.client import errors
from fusion_jupyter.client.backend import JSON, Message
from fusion_jupyter.widgets import rpc
from fusion_jupyter.widgets.relay import KernelRelay

if TYPE_CHECKING:
    from fusion_jupyter.client.client import Client

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
Transport = Literal["auto", "direct", "relay"]
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="fusion-widgets-http")


class FrontEndMissing(RuntimeError):
    """The built front-end bundle is not there (a source checkout without the JS build)."""


class _Bundle:
    """A built front-end file, read on first use by an instance.

    anywidget reads ``_esm``/``_css`` when a widget class is defined and when an
    instance is created; reading lazily keeps ``import fusion_jupyter.widgets`` working
    (and ``Run`` falling back to its HTML view) where the bundles were never built.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._text: str | None = None

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None:
            return self
        if self._text is None:
            path = STATIC / self.name
            try:
                self._text = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                raise FrontEndMissing(
                    f"the widget front-end {path} is not built: `pip install .` builds it, "
                    "or run `npm ci && npm run build:widgets` in js/"
                ) from None
        return self._text


def transport_setting(client: Client, transport: Transport) -> dict[str, str]:
    """The ``_transport`` trait: the server the client talks to ('' when embedded)."""
    if transport not in ("auto", "direct", "relay"):
        raise ValueError(f"transport must be 'auto', 'direct' or 'relay', not {transport!r}")
    server = str(getattr(client.backend, "url", "")) if client.mode == "remote" else ""
    return {"server_url": server, "mode": transport}


class FusionWidget(anywidget.AnyWidget):
    """Base of the FUSION widgets (not displayed by itself).

    Parameters
    ----------
    client : Client
        Where the runs are (``fusion_jupyter.connect()``).
    transport : {"auto", "direct", "relay"}
        How the front-end gets live updates: ``auto`` straight from the Jupyter server
        serving the page when the client uses that server, else through the kernel;
        ``direct`` or ``relay`` to force one way.
    """

    bundle: ClassVar[str] = ""

    _transport = traitlets.Dict().tag(sync=True)
    #: Set by the front-end: "direct" or "relay" (empty until a view connected).
    transport_used = traitlets.Unicode("").tag(sync=True)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if cls.__dict__.get("bundle"):
            cls._esm = _Bundle(f"{cls.bundle}.js")
            cls._css = _Bundle(f"{cls.bundle}.css")
        super().__init_subclass__(**kwargs)

    def __init__(self, client: Client, *, transport: Transport = "auto", **kwargs: Any) -> None:
        setting = transport_setting(client, transport)
        self._client = client
        self._relay = KernelRelay.of(client.backend)
        self._reply_lock = threading.Lock()
        super().__init__(_transport=setting, **kwargs)
        self.on_msg(self._on_custom_message)

    @property
    def relayed(self) -> bool:
        """Whether the front-end will surely go through the kernel (embedded engine, or
        relay forced); otherwise it decides in the page."""
        mode = self._transport.get("mode")
        return mode == "relay" or (mode == "auto" and not self._transport.get("server_url"))

    @property
    def client(self) -> Client:
        """The client the widget shows runs of."""
        return self._client

    # ---- the relay sink ---------------------------------------------------------------

    def deliver(self, messages: list[Message]) -> None:
        """Send one frame of relayed stream messages to the front-end."""
        self.send({"kind": "fusion-frame", "messages": messages})

    def close(self) -> None:
        """Close the widget and drop its relay subscriptions."""
        relay = self.__dict__.get("_relay")  # absent when __init__ refused its arguments
        if relay is not None:
            relay.drop(self)
        super().close()

    # ---- messages from the front-end ---------------------------------------------------

    def _on_custom_message(self, _widget: Any, content: Any, buffers: list[bytes]) -> None:
        if not isinstance(content, dict) or content.get("kind") != "fusion":
            return
        op = content.get("op")
        if op == "ws":
            self._relay.handle(self, str(content.get("data", "")))
        elif op == "http":
            _POOL.submit(self._answer_http, content)
        elif op == "call":
            self._answer_call(content)

    def _answer_http(self, content: Mapping[str, Any]) -> None:
        try:
            reply = rpc.answer(self._client.backend, rpc.request_from_message(content))
        except Exception as exc:  # a bug: answer it rather than leave the page waiting
            log.exception("fusion widget: answering %s failed", content.get("path"))
            error = {"code": "server_error", "message": str(exc), "details": None}
            reply = rpc.Reply(500, {"error": error})
        self._reply(content.get("id"), reply)

    def _answer_call(self, content: Mapping[str, Any]) -> None:
        name = str(content.get("name", ""))
        args = content.get("args") if isinstance(content.get("args"), dict) else {}
        handler = getattr(self, f"_cmd_{name}", None)
        if handler is None:
            error = {"code": "not_found", "message": f"no command {name!r}", "details": None}
            self._reply(content.get("id"), rpc.Reply(404, {"error": error}))
            return
        try:
            result = cast(Callable[[dict[str, Any]], JSON], handler)(cast(dict[str, Any], args))
            reply = rpc.Reply(200, result)
        except errors.FusionError as exc:
            reply = rpc.error_reply(exc)
        except (ValueError, KeyError, TypeError) as exc:
            reply = rpc.Reply(400, {"error": {"code": "bad_request", "message": str(exc)}})
        self._reply(content.get("id"), reply)

    def _reply(self, request_id: Any, reply: rpc.Reply) -> None:
        content: dict[str, Any] = {
            "kind": "fusion-reply",
            "id": request_id,
            "status": reply.status,
            "headers": reply.headers,
        }
        buffers: list[bytes] = []
        if reply.body is not None:
            buffers.append(reply.body)
        else:
            content["json"] = reply.json
        with self._reply_lock:
            self.send(content, buffers=buffers or None)


__all__ = ["STATIC", "FrontEndMissing", "FusionWidget", "Transport", "transport_setting"]
