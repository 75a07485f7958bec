"""Launcher: a form generated from a template, validated as you type; submit shows the run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import traitlets

from fusion_jupyter.client.backend import nest_overrides
from fusion_jupyter.client.client import ValidationReport, config_text
from fusion_jupyter.client.run import Run
from fusion_jupyter.widgets.base import FusionWidget, Transport

if TYPE_CHECKING:
    from fusion_jupyter.client.client import Client


class Launcher(FusionWidget):
    """Start a run from a template without writing code.

    A template picker; a form generated from the template's sections and keys (typed
    inputs, the template's values as defaults, its comments as descriptions); each
    field validated as you type (``configs/validate``, the simulator's own checks),
    its error shown under it; a name and tags; Submit creates the run and shows its
    :class:`RunProgress` in place.

    Parameters
    ----------
    client : Client
        Where runs are created.
    template : str, optional
        The template selected first (default: the first one).
    config : str or pathlib.Path, optional
        Instead of a template: a FUSION INI file (or its text) to run as it is; the form
        shows it for editing, and a file can also be pasted or uploaded there.
    simulator : str
        ``builtin`` or ``fusion`` pre-selected (default: the server's ``simulator``);
        the form shows which simulator will run the config.
    overrides : dict, optional
        Values to pre-fill, ``{section: {key: value}}`` or ``{"section.key": value}``.
    name : str
        The run name pre-filled.
    tags : sequence of str
        The tags pre-filled.
    grid : dict, optional
        Grid axes pre-filled, ``{"section.key": [values]}``: Submit then starts a
        sweep, one run per combination (the form shows the run count, an estimated
        duration, and refuses a grid over the server's limit before sending it).
    transport : {"auto", "direct", "relay"}
        See :class:`~fusion_jupyter.widgets.base.FusionWidget`.

    Attributes
    ----------
    errors : list of dict
        The field errors the form shows now (``{section, key, message}``).
    run_id : str
        The id of the last run submitted from the form ('' before).
    sweep_id : str
        The id of the last sweep submitted from the form ('' before).
    """

    bundle = "launcher"
    template = traitlets.Unicode("").tag(sync=True)
    overrides = traitlets.Dict().tag(sync=True)
    name = traitlets.Unicode("").tag(sync=True)
    tags = traitlets.List(traitlets.Unicode()).tag(sync=True)
    config = traitlets.Unicode("").tag(sync=True)
    simulator = traitlets.Unicode("").tag(sync=True)
    errors = traitlets.List(traitlets.Dict()).tag(sync=True)
    run_id = traitlets.Unicode("").tag(sync=True)
    grid = traitlets.Dict().tag(sync=True)
    sweep_id = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self,
        client: Client,
        template: str = "",
        overrides: Mapping[str, Any] | None = None,
        *,
        config: str | Path | None = None,
        simulator: str = "",
        name: str = "",
        tags: Sequence[str] = (),
        grid: Mapping[str, Sequence[Any]] | None = None,
        transport: Transport = "auto",
        **kwargs: Any,
    ) -> None:
        nested = {
            section: {key: str(value) for key, value in keys.items()}
            for section, keys in nest_overrides(overrides).items()
        }
        super().__init__(
            client,
            transport=transport,
            template=template,
            overrides=nested,
            config=config_text(config) or "",
            simulator=simulator,
            name=name,
            tags=list(tags),
            grid={key: list(values) for key, values in (grid or {}).items()},
            **kwargs,
        )

    @property
    def run(self) -> Run | None:
        """The last run submitted from the form (None before the first)."""
        return self._client.get(self.run_id) if self.run_id else None

    def validate(self) -> ValidationReport:
        """Check the template with ``overrides`` (or the INI text) as the form does; sets
        ``errors``."""
        if self.config:
            report = self._client.validate(config=self.config)
        else:
            template = self.template or self._client.templates()[0].name
            report = self._client.validate(template, self.overrides)
        self.errors = [
            {"section": p.section, "key": p.key, "message": p.message} for p in report.errors
        ]
        return report
