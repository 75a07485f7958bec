"""ArtifactTable: a run's files; preview, load into pandas, download."""

from __future__ import annotations

import keyword
import sys
from collections.abc import MutableMapping
from typing import Any

from fusion_jupyter.client import errors
from fusion_jupyter.client.backend import JSON
from fusion_jupyter.client.run import Run
from fusion_jupyter.widgets.base import Transport
from fusion_jupyter.widgets.rpc import frame_to_table
from fusion_jupyter.widgets.run_progress import RunWidget

PREVIEW_ROWS = 20


def kernel_namespace() -> MutableMapping[str, Any]:
    """The notebook's variables (the IPython user namespace)."""
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    if shell is None:
        raise errors.FusionError("load into pandas needs an IPython kernel")
    namespace: MutableMapping[str, Any] = shell.user_ns
    return namespace


def connect_code(run: Run) -> str:
    """How to reach ``run`` from code, in the mode the widget's client uses."""
    args = "embedded=True" if run._client.mode == "embedded" else ""
    return f"fj.connect({args}).get({run.id!r})"


class ArtifactTable(RunWidget):
    """A run's files: relative path, kind, size and modification time, sortable.

    Table files (``.csv``, ``.parquet``, ``.json``, ``.jsonl``) can be previewed (their
    first rows) and loaded into pandas: the DataFrame is put into the notebook under
    the chosen name, and the code that does the same is shown. Any file can be
    downloaded.

    Parameters
    ----------
    run : Run
        The run whose files to show.
    namespace : mapping, optional
        Where "load into pandas" puts DataFrames (default: the notebook's variables).
    transport : {"auto", "direct", "relay"}
        See :class:`~fusion_jupyter.widgets.base.FusionWidget`.

    Attributes
    ----------
    loaded : dict
        ``{variable name: artifact path}`` of what was loaded into the kernel.
    """

    bundle = "artifact_table"

    def __init__(
        self,
        run: Run,
        *,
        namespace: MutableMapping[str, Any] | None = None,
        transport: Transport = "auto",
        **kwargs: Any,
    ) -> None:
        self._namespace = namespace
        self.loaded: dict[str, str] = {}
        super().__init__(run, transport=transport, **kwargs)

    def load(self, path: str, name: str) -> JSON:
        """Load an artifact into the kernel as ``name`` (what the front-end's button does).

        Returns ``{name, rows, columns, code}``; raises ValidationError for a name that
        is not a Python identifier or a file pandas cannot read.
        """
        name = name.strip()
        if not name.isidentifier() or keyword.iskeyword(name):
            raise errors.ValidationError(
                f"{name!r} is not a valid Python variable name",
                [errors.Problem("args", "name", "must be a Python identifier")],
            )
        frame = self.run._backend.load_artifact(self.run_id, path)
        namespace = self._namespace if self._namespace is not None else kernel_namespace()
        namespace[name] = frame
        self.loaded[name] = path
        code = (
            "import fusion_jupyter as fj\n"
            f"{name} = {connect_code(self.run)}.artifacts[{path!r}].load()"
        )
        return {"name": name, "rows": len(frame), "columns": len(frame.columns), "code": code}

    def preview(self, path: str, rows: int = PREVIEW_ROWS) -> JSON:
        """The first ``rows`` rows of a table file: ``{columns, rows, total_rows}``."""
        frame = self.run._backend.load_artifact(self.run_id, path)
        table = frame_to_table(frame.head(max(1, min(int(rows), 500))))
        return {**table, "total_rows": len(frame)}

    # Commands of the front-end (base.FusionWidget._answer_call).

    def _cmd_load(self, args: dict[str, Any]) -> JSON:
        return self.load(str(args["path"]), str(args.get("name", "df")))

    def _cmd_preview(self, args: dict[str, Any]) -> JSON:
        return self.preview(str(args["path"]), int(args.get("rows", PREVIEW_ROWS)))
