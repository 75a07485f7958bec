"""Overrides: a user's changes on top of a template or file, in any shape clients send."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fusion_jupyter.engine.config.ini import (
    Config,
    name_problem,
    section_name_problem,
    value_problem,
)
from fusion_jupyter.engine.config.values import to_ini
from fusion_jupyter.engine.errors import Problem, ValidationFailed


def _override_items(
    overrides: Mapping[str, Any], problems: list[Problem]
) -> list[tuple[Any, Any, Any]]:
    items: list[tuple[Any, Any, Any]] = []
    for name, value in overrides.items():
        if isinstance(name, str) and "." in name:
            section, _, key = name.partition(".")
            items.append((section, key, value))
        elif isinstance(value, Mapping):
            items.extend((name, key, inner) for key, inner in value.items())
        else:
            problems.append(
                Problem(
                    str(name),
                    "",
                    "expected {section: {key: value}} or {'section.key': value}",
                )
            )
    return items


def _override_problem(section: Any, key: Any, value: Any) -> tuple[str, Problem | None]:
    for problem in (section_name_problem(section), name_problem(section, key, key, "key")):
        if problem:
            return "", problem
    try:
        text = to_ini(value)
    except ValueError as exc:
        return "", Problem(section, key, f"value {exc}")
    return text, value_problem(section, key, text)


def normalize_overrides(overrides: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Overrides in any accepted shape as ``{section: {key: ini_string}}``.

    Clients send nested ``{section: {key: value}}`` (the REST API) or flat
    ``{"section.key": value}`` (sweep grids), with Python values; everything downstream
    only has to deal with the INI strings FUSION will read. Every problem is reported.
    """
    problems: list[Problem] = []
    result: dict[str, dict[str, str]] = {}
    for section, key, value in _override_items(overrides, problems):
        text, problem = _override_problem(section, key, value)
        if problem:
            problems.append(problem)
        elif result.setdefault(section, {}).setdefault(key, text) != text:
            problems.append(Problem(section, key, "given twice with different values"))
    if problems:
        raise ValidationFailed(problems)
    return result


def merge(base: Config, overrides: Mapping[str, Any]) -> Config:
    """A new config: ``base`` with ``overrides`` applied (new sections and keys appended)."""
    merged = {section: dict(entries) for section, entries in base.items()}
    for section, entries in normalize_overrides(overrides).items():
        merged.setdefault(section, {}).update(entries)
    return merged
