"""Executors: where a run's launcher process runs (this machine, or a Slurm cluster)."""

from fusion_jupyter.engine.executors.base import Executor, ProcessRef
from fusion_jupyter.engine.executors.local import LocalExecutor

__all__ = ["Executor", "LocalExecutor", "ProcessRef"]
