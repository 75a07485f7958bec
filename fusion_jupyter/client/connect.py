"""Finding the engine to talk to: :func:`connect`."""

from __future__ import annotations

import logging
import os
import re
import socket
import sys
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from fusion_jupyter.client import errors
from fusion_jupyter.client.client import Client
from fusion_jupyter.client.remote import DEFAULT_TIMEOUT, RemoteBackend, normalize_url

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 2.0
_KERNEL_FILE_RE = re.compile(r"kernel-(?P<id>.+)\.json")


def connect(
    url: str | None = None,
    token: str | None = None,
    *,
    embedded: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    **engine_settings: Any,
) -> Client:
    """Connect to the Jupyter server this code runs under, or start the engine in-process.

    The first of these that applies decides:

    1. ``embedded=True``: the engine in this process (see below).
    2. ``url`` given: that Jupyter server, with ``token`` (default: the token of a
       running server at that URL, else the ``JUPYTER_TOKEN`` environment variable).
    3. Inside a JupyterHub single-user server: the server named by
       ``JUPYTERHUB_SERVICE_URL`` (or ``JUPYTERHUB_SERVICE_PREFIX``) with
       ``JUPYTERHUB_API_TOKEN``.
    4. Inside a Jupyter kernel: the running Jupyter server (as listed by
       ``jupyter_server.serverapp.list_running_servers()``) that owns this kernel,
       with its token. A server without the fusion_jupyter extension is skipped with
       a warning.
    5. Otherwise the **embedded engine**: runs are started and watched from this
       process, with the same defaults as the server extension (runs under
       ``<jupyter data dir>/fusion_jupyter/runs``, the SQLite database beside them;
       ``JUPYTER_DATA_DIR`` moves both), so runs appear in both places. Runs outlive
       this process.

    Parameters
    ----------
    url : str, optional
        A Jupyter server's URL including its base path, e.g. ``http://127.0.0.1:8888/``.
    token : str, optional
        The server's token.
    embedded : bool
        Use the in-process engine even when a server is running.
    timeout : float
        Seconds before an HTTP request to the server is abandoned.
    **engine_settings
        Settings of the embedded engine (``runs_dir``, ``db_url``,
        ``max_concurrent_runs``, ``simulator_command``, ... as in
        :class:`fusion_jupyter.engine.EngineSettings`); only with the embedded engine.

    Returns
    -------
    Client
        ``repr(client)`` says which mode it is in and where.

    Raises
    ------
    AuthError
        The server refused the token.
    ConnectionError
        The server given by ``url`` cannot be reached.
    NotFoundError
        The server has no fusion_jupyter extension.

    Examples
    --------
    >>> import fusion_jupyter as fj
    >>> client = fj.connect()                        # doctest: +SKIP
    >>> client = fj.connect("http://127.0.0.1:8888/", token="...")  # doctest: +SKIP
    >>> client = fj.connect(embedded=True, runs_dir="/tmp/runs")   # doctest: +SKIP
    """
    if embedded:
        return embedded_client(**engine_settings)
    remote = _explicit(url, token) or _from_jupyterhub() or _from_kernel()
    if remote is None:
        return embedded_client(**engine_settings)
    if engine_settings:
        raise TypeError(
            f"engine settings ({', '.join(sorted(engine_settings))}) apply to the embedded "
            "engine only: pass embedded=True, or configure the server extension instead"
        )
    server_url, server_token, explicit = remote
    backend = RemoteBackend(server_url, server_token, timeout=timeout)
    try:
        backend.check()
    except errors.NotFoundError:
        backend.close()
        if explicit:
            raise
        warnings.warn(
            f"the Jupyter server at {server_url} has no fusion_jupyter extension; "
            "using the embedded engine",
            stacklevel=2,
        )
        return embedded_client()
    except errors.FusionError:
        backend.close()
        raise
    return Client(backend)


def embedded_client(**engine_settings: Any) -> Client:
    """A client on the engine in this process (see :func:`connect`)."""
    from fusion_jupyter.client.embedded import EmbeddedBackend

    return Client(EmbeddedBackend(**engine_settings))


# --------------------------------------------------------------------------- discovery

Found = tuple[str, str | None, bool]  # url, token, given explicitly


def _explicit(url: str | None, token: str | None) -> Found | None:
    if url is None:
        return None
    url = normalize_url(url)
    if token is None:
        token = _token_of_running(url) or os.environ.get("JUPYTER_TOKEN") or None
    return url, token, True


def _from_jupyterhub() -> Found | None:
    token = os.environ.get("JUPYTERHUB_API_TOKEN")
    url = os.environ.get("JUPYTERHUB_SERVICE_URL")
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX")
    if not token or not (url or prefix):
        return None
    if not url:
        server = next((s for s in running_servers() if s.get("base_url") == prefix), None)
        if server is None:
            return None
        url = str(server["url"])
    return normalize_url(url), token, False


def _from_kernel() -> Found | None:
    kernel_id = current_kernel_id()
    if kernel_id is None:
        return None
    server = server_of_kernel(kernel_id, running_servers())
    if server is None:
        return None
    return normalize_url(str(server["url"])), server.get("token") or None, False


def current_kernel_id() -> str | None:
    """The id of the Jupyter kernel this code runs in (from its connection file), or None."""
    if "ipykernel" not in sys.modules:
        return None
    try:
        from ipykernel.connect import get_connection_file

        path = get_connection_file()
    except Exception:  # not inside a running kernel
        return None
    match = _KERNEL_FILE_RE.fullmatch(Path(path).name)
    return match.group("id") if match else None


def running_servers() -> list[dict[str, Any]]:
    """The Jupyter servers running on this machine for this user (their runtime files)."""
    try:
        from jupyter_server.serverapp import list_running_servers
    except ImportError:
        return []
    try:
        return list(list_running_servers())
    except OSError:
        return []


def _headers(server: Mapping[str, Any]) -> dict[str, str]:
    token = server.get("token")
    return {"Authorization": f"token {token}"} if token else {}


def server_of_kernel(
    kernel_id: str, servers: Iterable[Mapping[str, Any]], timeout: float = PROBE_TIMEOUT
) -> Mapping[str, Any] | None:
    """The server (a runtime-file dict) whose ``api/kernels`` has ``kernel_id``, or None."""
    for server in servers:
        url = str(server.get("url") or "")
        if not url.startswith(("http://", "https://")):
            continue  # a UNIX-socket server: not reachable by URL
        try:
            response = httpx.get(
                f"{normalize_url(url)}api/kernels/{kernel_id}",
                headers=_headers(server),
                timeout=timeout,
            )
        except httpx.HTTPError as exc:
            log.debug("server %s did not answer: %s", url, exc)
            continue
        if response.status_code == 200:
            return server
    return None


# A server listening on every interface (0.0.0.0) records that address in its URL.
_LOCAL_HOSTS = frozenset(
    {"localhost", "127.0.0.1", "::1", "0.0.0.0", "", socket.gethostname()}  # noqa: S104
)


def same_server(first: str, second: str) -> bool:
    """Whether two URLs name the same server: same scheme, port and base path, and the
    same host (any name of this machine counts as the same)."""
    a, b = urlsplit(normalize_url(first)), urlsplit(normalize_url(second))
    hosts = {a.hostname or "", b.hostname or ""}
    same_host = len(hosts) == 1 or hosts <= _LOCAL_HOSTS
    return (a.scheme, a.port, a.path) == (b.scheme, b.port, b.path) and same_host


def _token_of_running(url: str) -> str | None:
    for server in running_servers():
        if same_server(str(server.get("url") or ""), url):
            token = server.get("token")
            return str(token) if token else None
    return None
