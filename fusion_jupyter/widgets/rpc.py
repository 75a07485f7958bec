"""The REST API answered by the kernel, for widget front-ends that cannot reach a server.

A front-end in relay mode sends ``{method, path, query, headers, body}`` (the request
it would send to ``{base_url}fusion/api/``) through its widget model; the kernel's
client backend answers it (:meth:`~fusion_jupyter.client.backend.Backend.answer`): the
embedded one through the same service and route table as the server, the remote one
by forwarding it to the server. So the front-end gets the server's answers, limits
and error bodies whichever way it is connected.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pandas as pd

from fusion_jupyter.client import errors
from fusion_jupyter.client.backend import JSON, Backend
from fusion_jupyter.service.errors import error_body
from fusion_jupyter.service.exchange import Reply, Request


def request_from_message(content: Mapping[str, Any]) -> Request:
    """The request in the ``http`` message of a widget front-end."""
    query = content.get("query") or {}
    headers = content.get("headers") or {}
    body = content.get("body")
    return Request(
        str(content.get("method") or "GET").upper(),
        str(content.get("path") or "").strip("/"),
        {str(k): [str(v)] for k, v in query.items() if v is not None},
        {str(k).lower(): str(v) for k, v in headers.items()},
        body.encode() if isinstance(body, str) else b"",
    )


def frame_to_table(frame: pd.DataFrame) -> JSON:
    """``{"columns": [...], "rows": [{column: value}]}``, NaN as null (as the server sends)."""
    columns = [str(c) for c in frame.columns]
    rows = json.loads(frame.to_json(orient="values", date_format="iso", double_precision=15))
    return {"columns": columns, "rows": [dict(zip(columns, row, strict=True)) for row in rows]}


_STATUS_OF: tuple[tuple[type[errors.FusionError], int], ...] = (
    (errors.ValidationError, 400),
    (errors.ForbiddenError, 403),
    (errors.AuthError, 401),
    (errors.NotFoundError, 404),
    (errors.ConflictError, 409),
    (errors.RequestTooLargeError, 413),
    (errors.ConnectionError, 502),
)


def error_reply(exc: errors.FusionError) -> Reply:
    """The status and ``{"error": {code, message, details}}`` of a client error."""
    status = exc.status or next((s for cls, s in _STATUS_OF if isinstance(exc, cls)), 500)
    details = exc.details
    if isinstance(exc, errors.ValidationError) and exc.problems:
        details = [{"section": p.section, "key": p.key, "message": p.message} for p in exc.problems]
    return Reply(status, error_body(exc.code, exc.message, details))


def answer(backend: Backend, request: Request) -> Reply:
    """The reply to one request (never raises for a bad request or a failed call)."""
    try:
        reply = backend.answer(request)
    except errors.FusionError as exc:  # the server could not be reached
        return error_reply(exc)
    if reply.file is not None:
        reply = Reply(reply.status, body=reply.content(), headers=reply.headers)
    return reply


__all__ = ["Reply", "Request", "answer", "error_reply", "frame_to_table", "request_from_message"]
