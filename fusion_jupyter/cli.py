"""``fusion-jupyter``: submit, watch and read FUSION runs from a terminal.

    fusion-jupyter submit minimal --wait        # run the quick template, with a progress bar
    fusion-jupyter results latest               # its blocking probability per traffic load

It connects like :func:`fusion_jupyter.connect`: ``--url``/``--token`` (or the
``FUSION_JUPYTER_URL``/``FUSION_JUPYTER_TOKEN`` environment variables), a JupyterHub
single-user environment, else the embedded engine (``--embedded`` forces it). Errors
are one line on stderr and a non-zero exit status: 1 for a failed request or run, 2
for bad arguments, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    import pandas as pd

    from fusion_jupyter.client import Client, Run

PROG = "fusion-jupyter"
RESULT_FORMATS = ("table", "csv", "json", "parquet")
SUMMARY_COLUMNS = ("erlang", "iterations", "blocking_mean", "ci_lower", "ci_upper")


class UsageError(Exception):
    """Bad arguments: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


# --------------------------------------------------------------------------- helpers


def _out(text: str = "", file: IO[str] | None = None) -> None:
    print(text, file=file or sys.stdout, flush=True)


def parse_sets(items: Sequence[str]) -> dict[str, str]:
    """``["section.key=value", ...]`` as flat overrides; a malformed item is a UsageError."""
    overrides: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        section, dot, key = name.strip().partition(".")
        if not sep or not dot or not section or not key:
            raise UsageError(f"--set {item!r}: expected section.key=value")
        overrides[f"{section}.{key.strip()}"] = value.strip()
    return overrides


def parse_grid(items: Sequence[str]) -> dict[str, list[str]]:
    """``["section.key=v1,v2", ...]`` as a sweep grid; a malformed item is a UsageError.

    Values stay the INI strings they are on the command line; the engine checks them as
    it checks ``--set``. A key given twice is refused rather than silently merged.
    """
    grid: dict[str, list[str]] = {}
    for item in items:
        ((name, text),) = parse_sets([item]).items()
        values = [value.strip() for value in text.split(",")]
        if not all(values):
            raise UsageError(f"--grid {item!r}: expected section.key=v1,v2,... with no empty value")
        if name in grid:
            raise UsageError(f"--grid {name} given twice: list all its values in one --grid")
        grid[name] = values
    if not grid:
        raise UsageError("a sweep needs at least one --grid section.key=v1,v2,...")
    return grid


def parse_options(items: Sequence[str]) -> dict[str, Any]:
    """``["partition=debug", "extra=--qos=low", ...]`` as executor options.

    ``extra`` may repeat (each is one more sbatch option); other keys are single.
    """
    options: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key or not value.strip():
            raise UsageError(f"--option {item!r}: expected key=value")
        if key == "extra":
            options.setdefault("extra", []).append(value.strip())
        else:
            options[key] = value.strip()
    return options


def _executor_text(run: Run) -> str:
    """``local``, or ``slurm job 123 on node01 (pending: Priority)``."""
    parts = [run.executor]
    if run.job_id:
        parts.append(f"job {run.job_id}")
    if run.node:
        parts.append(f"on {run.node}")
    if run.pending_reason:
        parts.append(f"(pending: {run.pending_reason})")
    return " ".join(parts)


def _local_time(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _seconds(run: Run) -> str:
    duration = run.duration
    return f"{duration.total_seconds():.1f} s" if duration is not None else "-"


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
        for row in [header, *rows]
    ]
    return "\n".join(line.rstrip() for line in lines)


def _overrides_text(run: Run) -> str:
    pairs = [f"{s}.{k}={v}" for s, entries in run.overrides.items() for k, v in entries.items()]
    return " ".join(pairs) or "-"


# --------------------------------------------------------------------------- commands


def config_source(target: str) -> tuple[str | None, Path | None]:
    """``(template, None)`` for a bare name, ``(None, path)`` for an INI file.

    A target that names a file, or looks like one (a path separator or ``.ini``), is a
    file; anything else is a template name, as ``submit minimal`` always meant.
    """
    path = Path(target)
    looks_like_file = path.suffix.lower() == ".ini" or len(path.parts) > 1
    if looks_like_file or path.is_file():
        if not path.is_file():
            raise UsageError(f"{target}: no such file")
        return None, path
    return target, None


def _source_label(template: str | None, path: Path | None) -> str:
    return f"template {template!r}" if template is not None else f"file {str(path)!r}"


def _labels(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments ``submit`` and ``sweep`` take alike from the command line."""
    return {
        "name": args.name or "",
        "tags": args.tag or [],
        "executor": args.executor,
        "executor_options": parse_options(args.option) or None,
        "simulator": args.simulator,
    }


def cmd_submit(client: Client, args: argparse.Namespace) -> int:
    """Create a run; with --wait follow it to the end."""
    template, path = config_source(args.template)
    run = client.submit(template, parse_sets(args.set), config=path, **_labels(args))
    if args.quiet:
        _out(run.id)
    else:
        _out(f"Submitted run {run.id} from {_source_label(template, path)} ({_where(client)}).")
    if not args.wait:
        if not args.quiet:
            if run.status == "PENDING":
                _out("It is queued: it starts when one of the running runs ends.")
            _out(f"Follow it with: {PROG} logs {run.id} --follow")
        return 0
    try:
        run.wait(timeout=args.timeout, progress=not args.quiet)
    except KeyboardInterrupt:
        _out(
            f"Stopped waiting; run {run.id} goes on ({PROG} cancel {run.id} stops it).", sys.stderr
        )
        return 130
    return _report_end(run, args.quiet)


def cmd_sweep(client: Client, args: argparse.Namespace) -> int:
    """Create a sweep (a grid of runs); with --wait follow it to the end."""
    template, path = config_source(args.template)
    sweep = client.sweep(
        template, parse_grid(args.grid), parse_sets(args.set), config=path, **_labels(args)
    )
    if args.quiet:
        _out(sweep.id)
    else:
        count = len(sweep.runs)
        _out(
            f"Submitted sweep {sweep.id}: {count} runs from {_source_label(template, path)} "
            f"({_where(client)})."
        )
    if not args.wait:
        if not args.quiet:
            _out(f"Follow it with: {PROG} sweeps")
        return 0
    try:
        sweep.wait(timeout=args.timeout, progress=not args.quiet)
    except KeyboardInterrupt:
        _out(f"Stopped waiting; sweep {sweep.id} goes on.", sys.stderr)
        return 130
    counts = sweep.status_counts
    if not args.quiet:
        _out(f"Sweep {sweep.id}: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    return 0 if set(counts) == {"COMPLETED"} else 1


def cmd_sweeps(client: Client, args: argparse.Namespace) -> int:
    """A table of sweeps, newest first, with their runs counted by status."""
    sweeps = client.sweeps(limit=args.limit)
    if not sweeps:
        _out(
            f"No sweeps yet. Start one with: {PROG} sweep blocking "
            "--grid routing_settings.k_paths=1,2,3"
        )
        return 0
    rows = [
        [
            s.id,
            s.name or "-",
            " x ".join(f"{key.split('.')[-1]}({len(values)})" for key, values in s.grid.items()),
            str(s.total),
            ", ".join(f"{n} {status.lower()}" for status, n in sorted(s.status_counts.items())),
            _local_time(s.created_at),
        ]
        for s in sweeps
    ]
    _out(_table(rows, ["ID", "NAME", "GRID", "RUNS", "STATUS", "CREATED"]))
    return 0


def _where(client: Client) -> str:
    return f"server {client.location}" if client.mode == "remote" else "embedded engine"


def _report_end(run: Run, quiet: bool) -> int:
    if run.status == "COMPLETED":
        if not quiet:
            _out(f"Run {run.id} COMPLETED in {_seconds(run)}.")
            _out(f"See its results with: {PROG} results {run.id}")
        return 0
    _out(f"Run {run.id} {run.status}.", sys.stderr)
    if run.error:
        _out(run.error, sys.stderr)
    return 1


def cmd_runs(client: Client, args: argparse.Namespace) -> int:
    """A table of runs, newest first."""
    page = client.runs(
        status=args.status,
        tag=args.tag,
        name=args.name,
        template=args.template,
        sweep=args.sweep,
        limit=args.limit,
    )
    if not page:
        filtered = any((args.status, args.tag, args.name, args.template, args.sweep))
        _out(
            "No runs match."
            if filtered
            else f"No runs yet. Start one with: {PROG} submit minimal --wait"
        )
        return 0
    rows = [
        [
            r.id,
            r.status + (f" ({r.pending_reason})" if r.pending_reason else ""),
            f"{r.snapshot().percent:.0f}%",
            r.name or "-",
            r.template,
            r.executor + (f" {r.job_id}" if r.job_id else ""),
            _local_time(r.created_at),
        ]
        for r in page
    ]
    _out(_table(rows, ["ID", "STATUS", "DONE", "NAME", "TEMPLATE", "EXECUTOR", "CREATED"]))
    if page.next_cursor:
        _out(f"(newest {len(page)} shown; --limit N shows more)")
    return 0


def cmd_show(client: Client, args: argparse.Namespace) -> int:
    """Everything about one run."""
    run = client.run(args.id)
    detail = run.progress.describe()
    fields = [
        ("id", run.id),
        ("name", run.name or "-"),
        ("status", run.status),
        ("progress", f"{run.snapshot().percent:.0f}%" + (f" ({detail})" if detail else "")),
        ("template", run.template),
        ("overrides", _overrides_text(run)),
        ("tags", ", ".join(run.tags) or "-"),
        ("sweep", run.sweep_id or "-"),
        ("executor", _executor_text(run)),
        ("simulator", str(run.to_dict().get("simulator") or "-")),
        ("created", _local_time(run.created_at)),
        ("started", _local_time(run.started_at)),
        ("completed", _local_time(run.completed_at)),
        ("duration", _seconds(run)),
        ("exit code", "-" if run.exit_code is None else str(run.exit_code)),
        ("run dir", str(run.to_dict().get("run_dir") or "-")),
    ]
    for label, value in fields:
        _out(f"{label + ':':<11} {value}")
    if run.error:
        _out("error:")
        _out("\n".join("  " + line for line in run.error.splitlines()))
    return 0


def cmd_logs(client: Client, args: argparse.Namespace) -> int:
    """A run's log, its last lines, or followed live."""
    run = client.run(args.id)
    if args.follow:
        for text in run.follow_logs():
            sys.stdout.write(text)
            sys.stdout.flush()
        return 0
    text = run.logs(tail=args.tail) if args.tail is not None else run.logs()
    sys.stdout.write(text)
    return 0


def cmd_cancel(client: Client, args: argparse.Namespace) -> int:
    """Stop a run."""
    run = client.run(args.id).cancel()
    _out(f"Run {run.id} {run.status}.")
    return 0


def cmd_delete(client: Client, args: argparse.Namespace) -> int:
    """Forget a finished run (and remove its files with --purge)."""
    run = client.run(args.id)
    run.delete(purge=args.purge)
    where = str(run.to_dict().get("run_dir") or "")
    files = "its files were removed" if args.purge else f"its files stay in {where}"
    _out(f"Deleted run {run.id}; {files}.")
    return 0


def cmd_results(client: Client, args: argparse.Namespace) -> int:
    """The per-Erlang results of a run as a table, CSV, JSON or Parquet."""
    fmt = _results_format(args.format, args.output)
    run = client.run(args.id)
    frame = run.results()
    if fmt == "table":
        return _print_summary(run, frame)
    data = _encode(frame, fmt)
    if args.output:
        Path(args.output).write_bytes(data)
        _out(f"Wrote {len(frame)} rows to {args.output}.", sys.stderr)
    elif fmt == "parquet":
        raise UsageError("parquet is binary: write it to a file with -o FILE")
    else:
        sys.stdout.write(data.decode())
    return 0


def _results_format(fmt: str | None, output: str | None) -> str:
    if fmt:
        return fmt
    suffix = Path(output).suffix.lower().lstrip(".") if output else ""
    if output and suffix not in RESULT_FORMATS[1:]:
        raise UsageError(f"cannot tell the format of {output!r}: pass --format csv|json|parquet")
    return suffix or "table"


def _encode(frame: pd.DataFrame, fmt: str) -> bytes:
    if fmt == "csv":
        return frame.to_csv(index=False).encode()
    if fmt == "json":
        rows = json.loads(frame.to_json(orient="records", date_format="iso"))
        return (
            json.dumps({"columns": list(frame.columns), "rows": rows}, indent=1) + "\n"
        ).encode()
    import io

    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _print_summary(run: Run, frame: pd.DataFrame) -> int:
    title = f"Run {run.id}" + (f" {run.name!r}" if run.name else "") + f" ({run.template})"
    if frame.empty:
        _out(f"{title} is {run.status} and has no results yet.")
        if not run.done:
            _out(f"Watch it with: {PROG} logs {run.id} --follow")
        return 0 if run.status == "COMPLETED" or not run.done else 1
    _out(f"{title}, {run.status}: blocking probability per traffic load")
    _out()
    columns = [c for c in SUMMARY_COLUMNS if c in frame.columns]
    formatters = dict.fromkeys(columns, _number)
    _out(frame[columns].to_string(index=False, formatters=formatters, col_space=10))
    _out()
    _out("erlang         the offered traffic load")
    _out("blocking_mean  share of requests refused for lack of a free path and spectrum")
    _out("               (0 = every request was served), averaged over the iterations")
    _out("ci_lower/upper its confidence interval")
    _out(f"All {len(frame.columns)} columns: {PROG} results {run.id} --format csv")
    return 0


def _number(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if number.is_integer() or number != number:  # whole, or NaN
        return f"{number:g}"
    return f"{number:.1e}" if abs(number) < 1e-4 else f"{number:.4f}"


def cmd_templates(client: Client, args: argparse.Namespace) -> int:
    """The templates runs start from (or one template's text)."""
    if args.name:
        sys.stdout.write(client.template(args.name).text or "")
        return 0
    rows = [[t.name, t.description] for t in client.templates()]
    _out(_table(rows, ["NAME", "DESCRIPTION"]))
    return 0


def cmd_save_template(client: Client, args: argparse.Namespace) -> int:
    """Save a run's frozen config, or an INI file, as a template."""
    name = client.save_template(
        args.name,
        run=args.run,
        config=args.file,
        description=args.description,
        replace=args.replace,
    )
    _out(f"Saved template {name!r}: {PROG} submit {name}")
    return 0


def cmd_validate(client: Client, args: argparse.Namespace) -> int:
    """Check an INI file or a template, with --set overrides on top."""
    template, path = config_source(args.target)
    report = client.validate(template, parse_sets(args.set), config=path)
    _out(f"{args.target}: {report}")
    return 0 if report.valid else 1


# --------------------------------------------------------------------------- parser


def _connection_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("connection")
    group.add_argument(
        "--url",
        default=argparse.SUPPRESS,
        help="Jupyter server URL (default: $FUSION_JUPYTER_URL, else JupyterHub's, else embedded)",
    )
    group.add_argument("--token", default=argparse.SUPPRESS, help="the server's token")
    group.add_argument(
        "--embedded",
        action="store_true",
        default=argparse.SUPPRESS,
        help="use the engine in this process, even if a server is running",
    )
    return options


def _add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    def command(name: str, fn: Callable[..., int], help_text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = sub.add_parser(
            name, help=help_text, description=help_text, parents=[common]
        )
        parser.set_defaults(func=fn)
        return parser

    p = command("submit", cmd_submit, "create a run from a template or an INI file")
    _creation_arguments(p, "run")

    p = command("sweep", cmd_sweep, "run a parameter grid from a template or an INI file")
    p.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="SECTION.KEY=V1,V2,...",
        help="a grid axis (repeatable): one run per combination of all axes' values",
    )
    _creation_arguments(p, "sweep")

    p = command("sweeps", cmd_sweeps, "list sweeps, newest first, with their runs' statuses")
    p.add_argument("--limit", type=int, default=20, help="show at most this many")

    p = command("runs", cmd_runs, "list runs, newest first")
    p.add_argument(
        "--status",
        type=str.upper,
        choices=["PENDING", "RUNNING", "CANCELLING", "COMPLETED", "FAILED", "CANCELLED"],
    )
    p.add_argument("--tag")
    p.add_argument("--name", help="only runs whose name contains this text")
    p.add_argument("--template")
    p.add_argument("--sweep", help="a sweep id")
    p.add_argument("--limit", type=int, default=20)

    for name, fn, text in (
        ("show", cmd_show, "everything about one run"),
        ("cancel", cmd_cancel, "stop a run"),
    ):
        command(name, fn, text).add_argument("id", help="run id, or 'latest'")

    p = command("logs", cmd_logs, "a run's log")
    p.add_argument("id", help="run id, or 'latest'")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing until the run ends")
    p.add_argument("--tail", type=int, metavar="N", help="only the last N lines")

    p = command("delete", cmd_delete, "forget a finished run")
    p.add_argument("id", help="run id, or 'latest'")
    p.add_argument("--purge", action="store_true", help="also remove its directory and files")

    p = command("results", cmd_results, "a run's blocking probability per traffic load")
    p.add_argument("id", help="run id, or 'latest'")
    p.add_argument("--format", choices=RESULT_FORMATS, help="default: a table, or from -o's suffix")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of the terminal")

    p = command("templates", cmd_templates, "list templates, or print one")
    p.add_argument("name", nargs="?", help="print this template's INI text")

    p = command(
        "save-template", cmd_save_template, "save a run's config or an INI file as a template"
    )
    p.add_argument("name", help="the new template's name")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", help="a run id: its frozen config")
    source.add_argument("--file", type=Path, help="a FUSION INI file")
    p.add_argument("--description", default="", help="one line shown in template lists")
    p.add_argument("--replace", action="store_true", help="replace a template of that name")

    p = command("validate", cmd_validate, "check an INI file, or a template with --set overrides")
    p.add_argument("target", metavar="FILE_OR_TEMPLATE")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")


def _creation_arguments(p: argparse.ArgumentParser, what: str) -> None:
    """The arguments ``submit`` and ``sweep`` share: the config, overrides, labels, executor."""
    p.add_argument(
        "template",
        metavar="TEMPLATE|FILE.ini",
        help="a template name (see: templates), or the path of a FUSION INI file",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a config value (repeatable)",
    )
    p.add_argument("--name", help=f"a label for the {what}")
    p.add_argument("--tag", action="append", help="a tag (repeatable)")
    p.add_argument("--executor", help="where to run it: local or slurm (default: the engine's)")
    p.add_argument(
        "--simulator",
        choices=["builtin", "fusion"],
        help="which simulator runs it (default: c.FusionJupyter.simulator)",
    )
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an executor option, e.g. partition=debug, time=01:00:00, extra=--qos=low",
    )
    p.add_argument(
        "--wait", action="store_true", help=f"follow the {what} to its end, with a progress bar"
    )
    p.add_argument(
        "--timeout", type=float, help="with --wait: give up waiting after this many seconds"
    )
    p.add_argument("-q", "--quiet", action="store_true", help=f"print only the {what} id")


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    common = _connection_options()
    parser = _Parser(
        prog=PROG,
        description="Launch, watch and read FUSION optical-network simulation runs.",
        epilog=f"Start here: {PROG} submit minimal --wait && {PROG} results latest",
        parents=[common],
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    _add_commands(sub, common)
    return parser


def _connect(args: argparse.Namespace) -> Client:
    from fusion_jupyter.client import connect

    url = getattr(args, "url", None) or os.environ.get("FUSION_JUPYTER_URL") or None
    token = getattr(args, "token", None) or os.environ.get("FUSION_JUPYTER_TOKEN") or None
    if getattr(args, "embedded", False) and url:
        raise UsageError("--embedded and --url exclude each other")
    return connect(url, token, embedded=getattr(args, "embedded", False))


def _fail(message: str, code: int) -> int:
    text = " ".join(message.split("\n")[0].split()) if code == 2 else message.strip()
    print(f"{PROG}: error: {text}", file=sys.stderr, flush=True)
    return code


def _one_line(exc: BaseException) -> str:
    from fusion_jupyter.client import ValidationError

    if isinstance(exc, ValidationError) and exc.problems:
        return "invalid config: " + "; ".join(str(p) for p in exc.problems)
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (the console script exits with it)."""
    from fusion_jupyter.client import FusionError

    try:
        args = build_parser().parse_args(argv)
        with _connect(args) as client:
            return int(args.func(client, args))
    except UsageError as exc:
        return _fail(str(exc), 2)
    except FusionError as exc:
        return _fail(_one_line(exc), 1)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (| head): nothing more to say
        return 0
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except OSError as exc:
        return _fail(str(exc), 1)
    except Exception as exc:
        if os.environ.get("FUSION_JUPYTER_DEBUG"):
            raise
        hint = "FUSION_JUPYTER_DEBUG=1 shows the traceback"
        return _fail(f"internal error: {type(exc).__name__}: {exc} ({hint})", 1)
