"""INI text: parsing it exactly, and writing a run's frozen ``config.ini`` safely.

The frozen file is handed to a simulator we do not control, so only what reads back
unchanged is ever written: names that stay names, values that stay on one line.
"""

from __future__ import annotations

import configparser
import os
import re
from collections.abc import Mapping

from fusion_jupyter.engine.errors import Problem, ValidationFailed

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

Config = dict[str, dict[str, str]]
"""section -> key -> raw INI string, in file order."""

# C0/C1 controls (tab aside), line/paragraph separators and lone surrogates: each either
# ends an INI line for some reader or cannot be written as UTF-8 at all. None of them
# is printable, so printable text is not searched: the class is compiled only for other
# text (its surrogates make a large charset, 0.7 ms of a simulator start to compile).
_UNSAFE_CHARS = "[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]"
_CHAR_NAMES = {"\n": "a line feed", "\r": "a carriage return", "\x00": "a NUL byte"}
# FUSION's own ConfigParser treats [DEFAULT] as values for every section.
_RESERVED_SECTION = "DEFAULT"
# Not a header any INI text can contain, so a [DEFAULT] section stays an ordinary one
# when we parse and the safety check can refuse it by name.
_NO_DEFAULT_SECTION = "\x00no-default\x00"
_FROZEN_HEADER = "# Frozen by fusion_jupyter when the run was created; never edited afterwards."


def _describe_char(char: str) -> str:
    return _CHAR_NAMES.get(char, "a control or line-separator character") + f" (U+{ord(char):04X})"


def name_problem(section: Any, key: Any, name: Any, what: str) -> Problem | None:
    # ``[A-Za-z_][A-Za-z0-9_]*``, without compiling the pattern.
    if isinstance(name, str) and name.isascii() and name.isidentifier():
        return None
    return Problem(
        str(section),
        str(key),
        f"{what} name {name!r} must be letters, digits and underscores, not starting with a digit",
    )


def value_problem(section: str, key: str, value: Any) -> Problem | None:
    """Why ``value`` would not come back unchanged from an INI file, or None."""
    if not isinstance(value, str):
        return Problem(section, key, f"value must be a string, got {type(value).__name__}")
    printable = value.replace("\t", " ").isprintable()
    bad = None if printable else re.compile(_UNSAFE_CHARS).search(value)
    if bad:
        return Problem(
            section,
            key,
            f"value contains {_describe_char(bad.group())}; a value must stay on one line",
        )
    if value != value.strip():
        return Problem(
            section, key, "value has leading or trailing whitespace, which INI readers drop"
        )
    return None


def _case_problem(seen: dict[str, str], section: str, key: Any) -> Problem | None:
    # FUSION's stock ConfigParser lowercases keys, so "K" and "k" would collide there.
    if not isinstance(key, str) or seen.setdefault(key.lower(), key) == key:
        return None
    return Problem(
        section, key, f"differs from {seen[key.lower()]!r} only in case; FUSION lowercases keys"
    )


def section_name_problem(section: Any) -> Problem | None:
    if section == _RESERVED_SECTION:
        return Problem(section, "", "[DEFAULT] would apply its keys to every section")
    return name_problem(section, "", section, "section")


def _section_problems(section: Any, entries: Any) -> list[Problem]:
    problems = [p for p in (section_name_problem(section),) if p]
    if not isinstance(entries, Mapping):
        kind = type(entries).__name__
        return [*problems, Problem(str(section), "", f"must map keys to values, got {kind}")]
    seen: dict[str, str] = {}
    for key, value in entries.items():
        candidates = (
            name_problem(section, key, key, "key"),
            value_problem(section, key, value),
            _case_problem(seen, section, key),
        )
        problems += [p for p in candidates if p]
    return problems


def safety_problems(config: Mapping[str, Any]) -> list[Problem]:
    return [p for section, entries in config.items() for p in _section_problems(section, entries)]


def check_values_safe(config: Config) -> None:
    """Refuse any section, key or value that would not be read back exactly from the file.

    The frozen file is handed to a simulator we do not control, so a value that smuggles
    in a line break (a new key or section), gets trimmed, or clashes with FUSION's own
    reading of the file must be stopped here, naming ``section.key``.
    """
    problems = safety_problems(config)
    if problems:
        raise ValidationFailed(problems)


class _CaseSensitiveParser(configparser.ConfigParser):
    """FUSION keys are case-sensitive to us: keep them as written."""

    def optionxform(self, optionstr: str) -> str:
        return optionstr


def _unrepr(text: str) -> str:
    # ParsingError keeps repr(line); show the line itself. Imported here, for a bad
    # file only: ``ast`` costs a run 17 M instructions (see literal.py).
    import ast

    try:
        return str(ast.literal_eval(text)).strip()
    except (ValueError, SyntaxError):
        return text


def _parse_problem(exc: configparser.Error) -> Problem:
    if isinstance(exc, configparser.DuplicateOptionError):
        return Problem(exc.section, exc.option, f"key given twice (line {exc.lineno})")
    if isinstance(exc, configparser.DuplicateSectionError):
        return Problem(exc.section, "", f"section given twice (line {exc.lineno})")
    if isinstance(exc, configparser.MissingSectionHeaderError):
        return Problem("", "", f"line {exc.lineno}: a key before any [section] header")
    if isinstance(exc, configparser.ParsingError):
        lines = "; ".join(
            f"line {number}: cannot read {_unrepr(text)!r}" for number, text in exc.errors
        )
        return Problem("", "", lines)
    return Problem("", "", str(exc))


def parse_ini(text: str) -> Config:
    """INI text as a Config, raw strings kept exactly (no interpolation, keys as written)."""
    parser = _CaseSensitiveParser(interpolation=None, default_section=_NO_DEFAULT_SECTION)
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        raise ValidationFailed([_parse_problem(exc)]) from exc
    return {section: dict(parser[section]) for section in parser.sections()}


def render_ini(config: Config, header: str | None = None) -> str:
    """The config as INI text that parses back to exactly ``config``.

    By construction: ``check_values_safe`` admits only names and one-line, untrimmed
    values that ConfigParser reads back unchanged, and every ``key = value`` line is
    written as is. (Parsing the text again here cost 0.55 ms a run, a third of a
    1,000-run sweep's creation; the tests parse odd and random values back instead.)
    """
    check_values_safe(config)
    blocks = [header or _FROZEN_HEADER]
    for section, entries in config.items():
        lines = [f"[{section}]"]
        lines += [f"{key} = {value}" if value else f"{key} =" for key, value in entries.items()]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable, not only the file's bytes.
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write_atomically(text: str, path: Path, *, durable: bool) -> None:
    # Imported here: the simulator's process only reads configs, and starts for every run.
    import tempfile
    from pathlib import Path

    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    temp_path = Path(temporary)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        temp_path.chmod(0o444)
        temp_path.replace(path)
    except BaseException:
        temp_path.unlink(missing_ok=True)
        raise
    if durable:
        _fsync_directory(path.parent)


def write_frozen(
    config: Config, path: Path, *, durable: bool = True, header: str | None = None
) -> None:
    """Write a run's ``config.ini``: atomic, read-only, and proven to read back exactly.

    Readers never see a half-written file (temp file + rename). The text is checked
    to parse back to ``config`` before it is written, and the bytes on disk are
    compared with it afterwards; on any difference the file is removed and
    ValidationFailed raised. ``durable=False`` skips the fsyncs, for callers that
    write many files and flush them together (see :func:`flush_to_disk`).
    """
    text = render_ini(config, header)
    _write_atomically(text, path, durable=durable)
    if path.read_text(encoding="utf-8") != text:
        path.unlink(missing_ok=True)
        raise ValidationFailed([Problem("", "", f"{path} did not read back as written")])


def make_durable(path: Path) -> None:
    """Make one file written with ``durable=False``, and its name, survive a crash."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    _fsync_directory(path.parent)


def flush_to_disk() -> None:
    """Make every file written so far durable at once (cheaper than one fsync each)."""
    os.sync()
