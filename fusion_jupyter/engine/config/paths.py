"""Where a config's topology and modulation files may be, and how relative paths resolve.

FUSION resolves ``mod_assumption_path`` (and its topology files) against its project
root. A server also answers read-only users' ``configs/validate``, so a path must be
confined before anything is said about it: otherwise ``network = /etc/shadow`` would
tell a stranger that the file exists.
"""

from __future__ import annotations

from pathlib import Path

from fusion_jupyter._namedtuple import NamedTuple
from fusion_jupyter.engine.config.schema import FUSION_NETWORKS, GENERAL
from fusion_jupyter.engine.errors import Problem

#: The keys whose values name files a simulator reads.
FILE_KEYS = frozenset({(GENERAL, "mod_assumption_path"), ("topology_settings", "network")})


def names_a_file(problem: Problem) -> bool:
    """Whether ``problem`` is about a key that names a file (refused or unreadable)."""
    return (problem.section, problem.key) in FILE_KEYS


class DataPaths(NamedTuple):
    """The directories a config's files may come from, and what the simulator accepts.

    ``fusion_root`` is FUSION's project root when FUSION is installed (relative paths
    resolve there, as FUSION resolves them); ``allowed`` are further directories a lab
    keeps its own topology and modulation files in (``c.FusionJupyter.data_paths``);
    ``topology_files`` says whether the simulator takes a topology file's path as
    ``network`` (the built-in one does, FUSION accepts only its named networks).
    A NamedTuple rather than a dataclass, for the start-up of the simulator's command
    line (:class:`~fusion_jupyter.engine.config.schema.SchemaEntry`).
    """

    fusion_root: Path | None = None
    allowed: tuple[Path, ...] = ()
    topology_files: bool = True

    def roots(self) -> tuple[Path, ...]:
        """Every directory a file may be in, symlinks resolved."""
        found = (self.fusion_root, *self.allowed)
        return tuple(path.resolve() for path in found if path is not None)

    def locate(self, raw: str) -> tuple[Path | None, str | None]:
        """The file ``raw`` names, or why it is refused (never whether it exists outside).

        A relative path resolves against FUSION's root; without a known root it cannot
        be checked here and ``(None, None)`` says so (the simulator resolves it).
        """
        path = Path(raw).expanduser()
        if not path.is_absolute():
            if self.fusion_root is None:
                return None, None
            path = self.fusion_root / path
        resolved = path.resolve()
        if not any(resolved.is_relative_to(root) for root in self.roots()):
            return None, (
                f"{raw!r} is outside the directories configs may read files from "
                "(FUSION's root and c.FusionJupyter.data_paths)"
            )
        if not resolved.is_file():
            return None, f"{raw!r} is not a file"
        return resolved, None

    def network_problem(self, value: str) -> str | None:
        """Why ``network = value`` is refused, or None."""
        if value in FUSION_NETWORKS:
            return None
        names = ", ".join(FUSION_NETWORKS)
        if not self.topology_files:
            # FUSION's own words (fusion/io/structure.py), then what it accepts.
            return f"Unknown network name: '{value}' (FUSION's networks: {names})"
        if not Path(value).is_absolute():
            return f"unknown network {value!r}: use one of {names}, or a topology file's path"
        return self.locate(value)[1]
