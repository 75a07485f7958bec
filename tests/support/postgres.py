"""A real, throw-away PostgreSQL server for the tests.

``PostgresServer.start()`` runs Debian's server binaries (``/usr/lib/postgresql/*/bin``):
``initdb`` into a fresh temporary directory, then ``postgres`` listening on 127.0.0.1
only, on a free port, with its unix socket inside that directory, ``fsync=off`` and
trust authentication. PostgreSQL refuses to run as root, so when we are root the
server runs as the ``postgres`` OS user (which the Debian package creates), or
``nobody``. The server gets a parent-death signal, so it does not outlive a test
process that is killed. ``stop()`` does ``pg_ctl stop -m fast`` and removes the
directory; ``pause()`` and ``resume()`` stop and restart it in place (an outage).

Used by the ``postgres_server`` / ``pg_url`` / ``fresh_pg_url`` / ``db_url`` fixtures in
tests/conftest.py, and usable on its own (benchmarks)::

    with PostgresServer.start() as server:
        url = server.create_database()   # postgresql+psycopg://postgres@127.0.0.1:PORT/test_...
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from tests.support import free_port

SUPERUSER = "postgres"
DIR_PREFIX = "fusion-jupyter-pg-"
INSTALL_HINT = "run `bash scripts/install-test-deps.sh` (installs Debian's postgresql package)"


class PostgresUnavailable(RuntimeError):
    """The server cannot be started here for a reason a test should skip on."""


def start_or_skip() -> PostgresServer:
    """A started server, or a skip naming why there is none (a failure in CI, see
    tests/conftest.py); use it with ``with``, which stops it."""
    try:
        return PostgresServer.start()
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL unavailable: {exc}")


def find_bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<major>/bin`` holding initdb and postgres.

    ``FUSION_JUPYTER_PG_BINDIR`` overrides the search.
    """
    override = os.environ.get("FUSION_JUPYTER_PG_BINDIR")
    candidates = [override] if override else glob.glob("/usr/lib/postgresql/*/bin")

    def major(path: str) -> float:
        try:
            return float(Path(path).parent.name)
        except ValueError:
            return 0.0

    for candidate in sorted(candidates, key=major, reverse=True):
        bindir = Path(candidate)
        if all(os.access(bindir / tool, os.X_OK) for tool in ("initdb", "postgres", "pg_ctl")):
            return bindir
    return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _cleanup_stale_dirs(parent: Path) -> None:
    """Remove directories left by test processes that died without cleaning up."""
    for path in parent.glob(DIR_PREFIX + "*"):
        owner = _read_pid(path / "owner.pid")
        postmaster = _read_pid(path / "data" / "postmaster.pid")
        if owner is None or _pid_alive(owner):
            continue
        if postmaster is not None and _pid_alive(postmaster):
            continue
        shutil.rmtree(path, ignore_errors=True)


@dataclass
class PostgresServer:
    bindir: Path
    base_dir: Path
    port: int
    process: subprocess.Popen[bytes]
    run_as: tuple[int, int] | None  # (uid, gid) when we had to drop root
    host: str = "127.0.0.1"
    user: str = SUPERUSER
    startup_seconds: float = 0.0
    _stopped: bool = field(default=False, repr=False)

    # --- paths -------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "postgres.log"

    # --- start / stop ------------------------------------------------------------

    @classmethod
    def start(
        cls, *, timeout: float = 60.0, parent_dir: str | os.PathLike[str] | None = None
    ) -> PostgresServer:
        """initdb + start a server; raise PostgresUnavailable if it cannot run here."""
        started = time.monotonic()
        bindir = find_bindir()
        if bindir is None:
            where = os.environ.get("FUSION_JUPYTER_PG_BINDIR") or "/usr/lib/postgresql/*/bin"
            raise PostgresUnavailable(
                f"PostgreSQL server binaries not found (looked for initdb, postgres, pg_ctl in "
                f"{where}); {INSTALL_HINT}"
            )
        try:
            import psycopg  # noqa: F401  (the URLs we hand out need it)
        except ImportError as exc:
            raise PostgresUnavailable(
                f"psycopg is not installed ({exc}); run `pip install -e '.[test]'`"
            ) from exc

        run_as = _unprivileged_ids()
        parent = Path(parent_dir or tempfile.gettempdir())
        _cleanup_stale_dirs(parent)
        base_dir = Path(tempfile.mkdtemp(prefix=DIR_PREFIX, dir=parent))
        try:
            (base_dir / "owner.pid").write_text(f"{os.getpid()}\n")
            (base_dir / "sock").mkdir()
            if run_as is not None:
                if not _traversable_by(base_dir, *run_as):
                    raise PostgresUnavailable(
                        f"{base_dir} is not reachable by uid {run_as[0]}; set TMPDIR to a "
                        "world-traversable directory such as /tmp"
                    )
                for path in (base_dir, base_dir / "sock"):
                    os.chown(path, *run_as)
                os.chmod(base_dir, 0o700)
            _run(
                [
                    str(bindir / "initdb"),
                    "--pgdata",
                    str(base_dir / "data"),
                    "--username",
                    SUPERUSER,
                    "--auth",
                    "trust",
                    "--encoding",
                    "UTF8",
                    "--no-locale",
                    "--no-sync",
                ],
                run_as,
                what="initdb",
            )
            last_error = ""
            for _attempt in range(3):  # a free port can be taken before we bind it
                port = free_port()
                process = _spawn_postgres(bindir, base_dir, port, run_as)
                server = cls(bindir, base_dir, port, process, run_as)
                try:
                    server._wait_ready(deadline=started + timeout)
                except _PortTaken as exc:
                    last_error = str(exc)
                    server._kill()
                    continue
                server.startup_seconds = time.monotonic() - started
                return server
            raise RuntimeError(f"PostgreSQL could not bind a free port: {last_error}")
        except BaseException:
            shutil.rmtree(base_dir, ignore_errors=True)
            raise

    def _wait_ready(self, deadline: float) -> None:
        import psycopg

        while True:
            code = self.process.poll()
            if code is not None:
                log = self.log_tail()
                self._kill()
                if "could not bind" in log or "Address already in use" in log:
                    raise _PortTaken(log)
                raise RuntimeError(f"PostgreSQL exited with code {code} at start-up:\n{log}")
            try:
                with psycopg.connect(self.conninfo(), connect_timeout=2):
                    return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    log = self.log_tail()
                    self._kill()
                    raise RuntimeError(
                        f"PostgreSQL not ready after start-up timeout ({exc}):\n{log}"
                    ) from exc
            time.sleep(0.02)

    def stop(self) -> None:
        """pg_ctl stop -m fast (SIGKILL if that fails), then remove the directory."""
        if self._stopped:
            return
        self._stopped = True
        try:
            if self.process.poll() is None:
                try:
                    _run(
                        [
                            str(self.bindir / "pg_ctl"),
                            "stop",
                            "-D",
                            str(self.data_dir),
                            "-m",
                            "fast",
                            "-w",
                            "-t",
                            "30",
                        ],
                        self.run_as,
                        what="pg_ctl stop",
                        timeout=40,
                    )
                    self.process.wait(timeout=10)
                except (RuntimeError, subprocess.TimeoutExpired):
                    self._kill()
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def pause(self) -> None:
        """``pg_ctl stop -m fast``, keeping the data: a database outage, until :meth:`resume`."""
        _run(
            [str(self.bindir / "pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "fast", "-w"],
            self.run_as,
            what="pg_ctl stop",
            timeout=40,
        )
        self.process.wait(timeout=10)

    def resume(self, timeout: float = 30.0) -> None:
        """Start the server again after :meth:`pause`, on the same port and data."""
        self.process = _spawn_postgres(self.bindir, self.base_dir, self.port, self.run_as)
        self._wait_ready(deadline=time.monotonic() + timeout)

    def _kill(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGQUIT)  # immediate shutdown
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- using it ----------------------------------------------------------------

    def url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy URL (psycopg 3 driver) for a database on this server."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{dbname}"

    def conninfo(self, dbname: str = "postgres") -> str:
        """libpq connection string, for psycopg.connect()."""
        return f"host={self.host} port={self.port} user={self.user} dbname={dbname}"

    def execute(
        self, sql: str, params: Any = None, dbname: str = "postgres"
    ) -> list[tuple[Any, ...]]:
        """Run one statement in autocommit mode; return its rows (if any)."""
        import psycopg

        with psycopg.connect(self.conninfo(dbname), autocommit=True) as conn:
            cur = conn.execute(sql, params)
            return cur.fetchall() if cur.description is not None else []

    def create_database(self, name: str | None = None) -> str:
        """CREATE DATABASE (named test_<hex> unless given); return its URL."""
        name = name or f"test_{uuid.uuid4().hex[:16]}"
        _check_identifier(name)
        self.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """DROP DATABASE, disconnecting whoever is still connected to it."""
        _check_identifier(name)
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return "(no PostgreSQL log)"
        return "\n".join(text.splitlines()[-lines:])


class _PortTaken(RuntimeError):
    pass


def _check_identifier(name: str) -> None:
    if not name or not all(c.isalnum() or c == "_" for c in name) or len(name) > 63:
        raise ValueError(f"not a plain database name: {name!r}")


def _unprivileged_ids() -> tuple[int, int] | None:
    """(uid, gid) to run the server as when we are root, else None."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return entry.pw_uid, entry.pw_gid
    raise PostgresUnavailable(
        "running as root and no 'postgres' or 'nobody' user to run the server as"
    )


def _traversable_by(path: Path, uid: int, gid: int) -> bool:
    """Can uid/gid reach ``path``? (Every parent directory searchable by it.)"""
    for parent in path.resolve().parents:
        st = parent.stat()
        if st.st_uid == uid:
            ok = st.st_mode & 0o100
        elif st.st_gid == gid:
            ok = st.st_mode & 0o010
        else:
            ok = st.st_mode & 0o001
        if not ok:
            return False
    return True


def _as_user(argv: list[str], run_as: tuple[int, int] | None) -> list[str]:
    """Prefix argv so it runs as ``run_as`` and dies with its parent."""
    setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
    prefix = [setpriv, "--pdeathsig", "SIGQUIT"]
    if run_as is not None:
        uid, gid = run_as
        prefix += [f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]
    elif not os.access(setpriv, os.X_OK):
        return argv
    return [*prefix, "--", *argv]


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(LC_ALL="C", LANG="C", HOME="/tmp" if os.geteuid() == 0 else env.get("HOME", "/tmp"))
    return env


def _run(
    argv: list[str],
    run_as: tuple[int, int] | None,
    *,
    what: str,
    timeout: float = 120,
) -> None:
    proc = subprocess.run(
        _as_user(argv, run_as),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=_child_env(),
        cwd="/",
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        output = proc.stdout.decode(errors="replace")
        raise RuntimeError(f"{what} failed with exit code {proc.returncode}:\n{output}")


def _spawn_postgres(
    bindir: Path, base_dir: Path, port: int, run_as: tuple[int, int] | None
) -> subprocess.Popen[bytes]:
    settings = {
        "listen_addresses": "127.0.0.1",
        "port": str(port),
        "unix_socket_directories": str(base_dir / "sock"),
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "max_connections": "200",
        "shared_buffers": "32MB",
        "log_min_messages": "warning",
        "log_min_error_statement": "panic",
    }
    argv = [str(bindir / "postgres"), "-D", str(base_dir / "data")]
    for key, value in settings.items():
        argv += ["-c", f"{key}={value}"]
    log_fd = os.open(base_dir / "postgres.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        # Own session: a Ctrl-C aimed at pytest must not shut the server down under
        # the teardown; the parent-death signal still stops it if pytest dies.
        return subprocess.Popen(
            _as_user(argv, run_as),
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=log_fd,
            env=_child_env(),
            cwd="/",
            start_new_session=True,
        )
    finally:
        os.close(log_fd)
