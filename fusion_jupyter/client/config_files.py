"""The ``c.FusionJupyter.*`` engine settings of the Jupyter config files.

The server extension gets them from jupyter-server, which reads
``jupyter_server_config.py`` / ``.json`` in every directory of
``jupyter_config_path()``; the embedded engine (notebooks without a server, the
command line) reads the same files here, so that both run the same simulator with
the same settings.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from jupyter_core.paths import jupyter_config_path
from traitlets.config.loader import (
    Config,
    ConfigFileNotFound,
    JSONFileConfigLoader,
    PyFileConfigLoader,
)

from fusion_jupyter.engine.settings import EngineSettings

#: The files jupyter-server reads, then the extension's own (later ones win).
CONFIG_FILES = ("jupyter_server_config", "jupyter_fusion_jupyter_config")
SECTION = "FusionJupyter"


def load_jupyter_config(paths: list[str] | None = None) -> Config:
    """Every config file merged as jupyter-server merges them: a directory earlier in
    ``jupyter_config_path()`` wins over a later one, and a ``.json`` over the ``.py``."""
    merged = Config()
    for directory in reversed(paths if paths is not None else jupyter_config_path()):
        for base in CONFIG_FILES:
            for loader in (
                PyFileConfigLoader(f"{base}.py", path=directory),
                JSONFileConfigLoader(f"{base}.json", path=directory),
            ):
                try:
                    merged.merge(loader.load_config())
                except ConfigFileNotFound:
                    continue
    return merged


def configured_engine_settings(paths: list[str] | None = None) -> dict[str, Any]:
    """The engine settings (:class:`EngineSettings` fields) set as ``c.FusionJupyter.*``."""
    section = load_jupyter_config(paths).get(SECTION, {})
    names = {f.name for f in fields(EngineSettings)}
    return {name: value for name, value in section.items() if name in names}
