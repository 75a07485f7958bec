"""The Python API: runs from notebook cells and scripts, results straight into pandas.

>>> import fusion_jupyter as fj
>>> client = fj.connect()                                   # doctest: +SKIP
>>> run = client.submit("minimal", {"general_settings.max_iters": 4}, name="baseline")
>>> run.wait()                                              # doctest: +SKIP
>>> run.results()                                           # doctest: +SKIP

:func:`connect` picks the Jupyter server this kernel runs under, or the engine
in-process; :class:`Client`, :class:`Run` and :class:`Sweep` behave the same either way.
"""

from __future__ import annotations

from fusion_jupyter.client.client import Client, Template, ValidationReport
from fusion_jupyter.client.connect import connect
from fusion_jupyter.client.errors import (
    AuthError,
    ConflictError,
    ConnectionError,
    ForbiddenError,
    FusionError,
    NotFoundError,
    Problem,
    RequestTooLargeError,
    RunFailedError,
    ServerError,
    TimeoutError,
    UnavailableError,
    ValidationError,
)
from fusion_jupyter.client.progress import ProgressReporter, Snapshot
from fusion_jupyter.client.run import Artifact, ArtifactList, Progress, Run, RunList, Sweep

__all__ = [
    "Artifact",
    "ArtifactList",
    "AuthError",
    "Client",
    "ConflictError",
    "ConnectionError",
    "ForbiddenError",
    "FusionError",
    "NotFoundError",
    "Problem",
    "Progress",
    "ProgressReporter",
    "RequestTooLargeError",
    "Run",
    "RunFailedError",
    "RunList",
    "ServerError",
    "Snapshot",
    "Sweep",
    "Template",
    "TimeoutError",
    "UnavailableError",
    "ValidationError",
    "ValidationReport",
    "connect",
]
