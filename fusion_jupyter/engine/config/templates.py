"""Named INI templates: a lab's own directories first, then the ones shipped here."""

from __future__ import annotations

import builtins
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fusion_jupyter.engine.config.ini import Config, parse_ini, write_frozen
from fusion_jupyter.engine.config.schema import ENTRIES
from fusion_jupyter.engine.config.values import guess_type
from fusion_jupyter.engine.errors import Conflict, NotFound, Problem, ValidationFailed

SHIPPED_TEMPLATES_DIR: Path = Path(__file__).resolve().parent.parent / "templates"
_TEMPLATE_NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,100}")
_DESCRIPTION_PREFIX = "# description:"


@dataclass(frozen=True)
class TemplateInfo:
    """A template as listed: its name, its one-line description and where it lives."""

    name: str
    description: str
    path: Path

    def to_dict(self) -> dict[str, str]:
        """JSON shape for ``GET templates``."""
        return {**asdict(self), "path": str(self.path)}


def _read_description(path: Path) -> str:
    try:
        with path.open(encoding="utf-8") as handle:
            first = handle.readline().strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return (
        first[len(_DESCRIPTION_PREFIX) :].strip() if first.startswith(_DESCRIPTION_PREFIX) else ""
    )


def _key_comments(text: str) -> dict[tuple[str, str], str]:
    """The comment lines directly above each key: the key's help text in the widgets."""
    comments: dict[tuple[str, str], str] = {}
    section, pending = "", []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(("#", ";")):
            pending.append(stripped.lstrip("#;").strip())
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1]
        elif stripped and line[:1] not in (" ", "\t"):
            key = re.split(r"[=:]", stripped, maxsplit=1)[0].strip()
            if pending:
                comments[(section, key)] = " ".join(pending)
        pending = []
    return comments


def _describe_key(section: str, key: str, raw: str, comment: str | None) -> dict[str, Any]:
    entry = ENTRIES.get((section, key))
    return {
        "value": raw,
        "type": entry.kind if entry else guess_type(raw),
        "description": comment or (entry.description if entry else ""),
        "required": bool(entry and entry.required),
    }


class TemplateLibrary:
    """Named INI templates: the user's directories first, then the shipped ones.

    A name found in an earlier directory shadows the same name later, so a user can
    replace ``minimal`` without touching the package.
    """

    def __init__(self, search_path: Sequence[Path | str] = ()) -> None:
        self.search_path: tuple[Path, ...] = (
            *(Path(directory).expanduser() for directory in search_path),
            SHIPPED_TEMPLATES_DIR,
        )
        self._parsed: dict[Path, tuple[int, Config]] = {}

    def _paths(self) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for directory in self.search_path:
            if not directory.is_dir():
                continue
            for path in sorted(directory.glob("*.ini")):
                if _is_template_name(path.stem) and path.is_file():
                    found.setdefault(path.stem, path)
        return found

    def list(self) -> builtins.list[TemplateInfo]:
        """Every visible template, sorted by name."""
        return [
            TemplateInfo(name, _read_description(path), path)
            for name, path in sorted(self._paths().items())
        ]

    def get(self, name: str) -> TemplateInfo:
        """One template; NotFound lists the names that do exist."""
        self.check_name(name)
        for directory in self.search_path:
            path = directory / f"{name}.ini"
            if path.is_file():
                return TemplateInfo(name, _read_description(path), path)
        available = sorted(self._paths())
        raise NotFound(
            f"no template named {name!r}; available: {', '.join(available) or 'none'}",
            details={"template": name, "available": available},
        )

    @staticmethod
    def check_name(name: str) -> None:
        """Refuse a name that cannot be a template file's stem, naming the rule."""
        if not _is_template_name(name):
            rule = "1-100 letters, digits, '_', '-' and '.', not starting with '.'"
            shown = name if len(name) <= 40 else name[:40] + "..."
            raise ValidationFailed(
                [Problem("template", "", f"{shown!r} is not a template name: {rule}")]
            )

    def text(self, name: str) -> str:
        """The template file as written, comments included."""
        return self.get(name).path.read_text(encoding="utf-8")

    def load(self, name: str) -> Config:
        """The template parsed into a Config (a fresh copy; parsed once per file version)."""
        path = self.get(name).path
        stamp = path.stat().st_mtime_ns
        cached = self._parsed.get(path)
        if cached is None or cached[0] != stamp:
            try:
                cached = (stamp, parse_ini(path.read_text(encoding="utf-8")))
            except ValidationFailed as exc:
                raise ValidationFailed(
                    exc.problems, f"template {name!r} is not valid INI: {exc}"
                ) from exc
            self._parsed[path] = cached
        return {section: dict(entries) for section, entries in cached[1].items()}

    @property
    def save_dir(self) -> Path | None:
        """Where new templates go: the first directory of the search path (a lab's own)."""
        return self.search_path[0] if len(self.search_path) > 1 else None

    def save(
        self, name: str, config: Config, *, description: str = "", replace: bool = False
    ) -> TemplateInfo:
        """Store ``config`` as template ``name`` in :attr:`save_dir`.

        Refuses to shadow an existing template unless ``replace``, so "save as template"
        from a run never silently changes what others launch by that name.
        """
        self.check_name(name)
        directory = self.save_dir
        if directory is None:
            raise ValidationFailed(
                [
                    Problem(
                        "template",
                        "",
                        "no templates directory to save into (c.FusionJupyter.templates_path)",
                    )
                ]
            )
        if not replace and name in self._paths():
            raise Conflict(
                f"a template named {name!r} exists; choose another name or replace it",
                details={"template": name},
            )
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{name}.ini"
        header = f"{_DESCRIPTION_PREFIX} {description.strip()}" if description.strip() else None
        write_frozen(config, path, header=header)
        path.chmod(0o644)
        return TemplateInfo(name, _read_description(path), path)

    def describe(self, name: str) -> dict[str, Any]:
        """What a generated form needs: per section and key its value, type and help text."""
        info = self.get(name)
        text = info.path.read_text(encoding="utf-8")
        comments = _key_comments(text)
        return {
            "name": info.name,
            "description": info.description,
            "sections": {
                section: {
                    key: _describe_key(section, key, raw, comments.get((section, key)))
                    for key, raw in entries.items()
                }
                for section, entries in parse_ini(text).items()
            },
        }


def _is_template_name(name: str) -> bool:
    return bool(_TEMPLATE_NAME_RE.fullmatch(name)) and not name.startswith(".")
