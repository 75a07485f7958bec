"""REST handlers of ``{base_url}fusion/api/``: tornado over the service's route table.

No business logic lives here (DESIGN §1): each route of
:data:`fusion_jupyter.service.routes.ROUTES` gets a handler that turns the tornado
request into a service request, runs it in the thread pool and writes the reply.
Every route is authenticated and authorized
against the ``fusion`` resource with a ``read`` or ``write`` action, so a custom
Authorizer can let a user watch runs without letting them start or delete any;
only ``health/live`` answers without authentication.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

from jupyter_server.auth.decorator import allow_unauthenticated, authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.iostream import StreamClosedError

from fusion_jupyter.engine.errors import EngineError
from fusion_jupyter.engine.faults import as_engine_error
from fusion_jupyter.server.context import SETTINGS_KEY, FusionContext
from fusion_jupyter.server.errors import ApiError, error_response
from fusion_jupyter.service import files
from fusion_jupyter.service.exchange import FileSlice, Request
from fusion_jupyter.service.routes import ROUTES, Route
from fusion_jupyter.service.validation import too_large

AUTH_RESOURCE = "fusion"
API_PREFIX = "fusion/api"
OPENAPI_FILE = Path(__file__).with_name("openapi.json")

Method = Callable[..., Any]


def reads(method: Method) -> Method:
    """Authenticated, and authorized for the ``read`` action on ``fusion``."""
    return web.authenticated(_refusal_first(authorized("read")(method)))


def writes(method: Method) -> Method:
    """Authenticated, and authorized for the ``write`` action on ``fusion``."""
    return web.authenticated(_refusal_first(authorized("write")(method)))


def _refusal_first(method: Method) -> Method:
    """Raise the refusal :meth:`FusionHandler.prepare` put off until the body was read."""

    @functools.wraps(method)
    def checked(self: FusionHandler, *args: Any, **kwargs: Any) -> Any:
        if self._refusal is not None:
            raise self._refusal
        return method(self, *args, **kwargs)

    return checked


@web.stream_request_body
class FusionHandler(APIHandler):
    """Base of every REST handler: the error shape, the limited JSON body, engine calls.

    The body is streamed (``stream_request_body``) so an oversized one is refused by
    its Content-Length before it is read, and one without a length is dropped as it
    arrives: a request can never make the server hold more than ``max_body_bytes``.
    """

    auth_resource = AUTH_RESOURCE

    @property
    def fusion(self) -> FusionContext:
        """The shared engine context built by the extension app."""
        context: FusionContext = self.settings[SETTINGS_KEY]
        return context

    _refusal: Exception | None = None

    async def prepare(self, **kwargs: Any) -> None:
        """Jupyter's auth, XSRF and origin checks, then the body size from its header.

        A request with a body that is refused here (403 for XSRF, 413) is answered only
        once its body has arrived (and been dropped): answering earlier closes the
        connection under a client still sending, which then sees a reset, not the error.
        """
        self._body = bytearray()
        self._body_size = 0
        try:
            await super().prepare(**kwargs)
            declared = self.request.headers.get("Content-Length", "0")
            limit = self.fusion.limits.max_body_bytes
            if declared.isdigit() and int(declared) > limit:
                raise too_large(int(declared), limit)
        except (web.HTTPError, ApiError) as exc:
            self._refuse(exc)

    def _refuse(self, exc: Exception) -> None:
        # Put off until the handler method runs: answering before tornado has read the
        # (streamed, even empty) body makes it close the keep-alive connection without
        # saying so, and the client's next request on it is reset. GETs included.
        if self._refusal is None:
            self._refusal = exc

    def decode_argument(self, value: bytes, name: str | None = None) -> str:
        """A path argument as text; one that is not UTF-8 is refused (400), in turn."""
        try:
            return super().decode_argument(value, name)
        except web.HTTPError as exc:
            self._refuse(exc)
            return value.decode("utf-8", "replace")

    def data_received(self, chunk: bytes) -> None:
        """Keep the body while it is within the limit; past it, only count."""
        self._body_size += len(chunk)
        if self._refusal is None and self._body_size <= self.fusion.limits.max_body_bytes:
            self._body.extend(chunk)
        else:
            self._body.clear()

    def service_request(self) -> Request:
        """The request as the service takes it (413 when the body went over the limit)."""
        limit = self.fusion.limits.max_body_bytes
        if self._body_size > limit:
            raise too_large(self._body_size, limit)
        query = {key: self.get_query_arguments(key) for key in self.request.query_arguments}
        headers = {name.lower(): value for name, value in self.request.headers.get_all()}
        return Request(
            self.request.method or "GET", self.request.path, query, headers, bytes(self._body)
        )

    def location(self, *parts: str) -> str:
        """The absolute path of an API resource, for Location headers."""
        return url_path_join(self.base_url, API_PREFIX, *parts)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Every error as ``{"error": {code, message, details}}``, never a traceback."""
        exc_info = kwargs.get("exc_info")
        answer = error_response(exc_info[1] if exc_info else None, status_code)
        self.set_status(answer.status)
        if answer.status == 416:
            self.set_header("Content-Range", f"bytes */{answer.body['error']['details']['size']}")
        self.clear_header("Content-Disposition")
        self.finish(json.dumps(answer.body))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Expected refusals are logged in one line; only real failures get a traceback."""
        if isinstance(value, (ApiError, EngineError)):
            self.log.info("fusion %s %s: %s", self.request.method, self.request.path, value)
            return
        fault = as_engine_error(value)
        if fault is not None:  # an outage or a full disk: the engine logs it once, in full
            self.log.warning("fusion %s %s: %s", self.request.method, self.request.path, fault)
            return
        super().log_exception(typ, value, tb)


# --------------------------------------------------------------------------- routes


class RouteHandler(FusionHandler):
    """A path of the service's route table; one method a route (built by :func:`_handler`)."""

    routes: ClassVar[dict[str, Route]] = {}

    async def answer(self, route: Route, args: dict[str, str]) -> None:
        """Run the route in the pool and write its reply."""
        request = self.service_request()
        reply = await self.fusion.call(route.answer, self.fusion.service, request, args)
        self.set_status(reply.status)
        for name, value in reply.headers.items():
            self.set_header(name, value)
        if reply.location is not None:
            self.set_header("Location", self.location(reply.location))
        if reply.file is not None:
            await self._stream(reply.file)
        elif reply.body is not None:
            self.finish(reply.body, set_content_type=reply.headers["Content-Type"])
        elif reply.status == 204:
            self.finish()
        else:
            self.finish(json.dumps(reply.json, allow_nan=False, separators=(",", ":")))

    async def _stream(self, part: FileSlice) -> None:
        """Chunk by chunk, each read in the pool and flushed before the next is read."""
        handle: BinaryIO = await self.fusion.call(part.path.open, "rb")
        try:
            await self.fusion.call(handle.seek, part.start)
            remaining = part.length
            while remaining > 0:
                chunk = await self.fusion.call(handle.read, min(files.CHUNK_BYTES, remaining))
                if not chunk:  # the file shrank while we sent it: cut the connection
                    self.request.connection.close()  # type: ignore[union-attr]
                    return
                remaining -= len(chunk)
                self.write(chunk)
                try:
                    await self.flush()
                except StreamClosedError:
                    return  # the client went away
            self.finish(set_content_type=self._headers["Content-Type"])
        finally:
            await self.fusion.call(handle.close)


_GUARDS: dict[str, Callable[[Method], Method]] = {
    "none": allow_unauthenticated,
    "read": reads,
    "write": writes,
}


def _method(route: Route) -> Method:
    async def handle(self: RouteHandler, **args: str) -> None:
        await self.answer(route, args)

    handle.__doc__ = f"{route.method} {route.pattern} ({route.access})"
    return _GUARDS[route.access](handle)


def _handler(pattern: str, routes: list[Route]) -> type[RouteHandler]:
    """A handler class answering every method the table has for ``pattern``."""
    methods: dict[str, Any] = {r.method.lower(): _method(r) for r in routes}
    methods["routes"] = {r.method: r for r in routes}
    name = "".join(p.capitalize() for p in pattern.split("/") if p.isalpha()) or "Api"
    return type(f"{name}Handler", (RouteHandler,), methods)


class OpenApiHandler(FusionHandler):
    """``GET openapi.json``: the document shipped in the package."""

    @reads
    async def get(self) -> None:
        """The OpenAPI 3.1 document, as shipped."""
        self.finish(await self.fusion.call(OPENAPI_FILE.read_bytes))


class NotFoundHandler(FusionHandler):
    """Any other path under the API: a JSON 404 rather than Jupyter's HTML page."""

    @reads
    async def get(self, path: str) -> None:
        """404 naming the path."""
        raise ApiError(404, "not_found", f"no API route {path[:200]!r}")

    post = delete = get


def route_table() -> list[tuple[str, type[FusionHandler]]]:
    """``(pattern, handler)`` for every route, relative to ``{base_url}``."""
    routes: list[tuple[str, type[FusionHandler]]] = [("openapi.json", OpenApiHandler)]
    grouped: dict[str, list[Route]] = {}
    for route in ROUTES:
        grouped.setdefault(route.pattern, []).append(route)
    routes += [(pattern, _handler(pattern, group)) for pattern, group in grouped.items()]
    routes.append(("(?P<path>.*)", NotFoundHandler))
    return [(f"/{API_PREFIX}/{pattern}", handler) for pattern, handler in routes]


__all__ = ["AUTH_RESOURCE", "FusionHandler", "route_table"]
