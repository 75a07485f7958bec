"""Where a config's topology and modulation files may be, and how relative paths resolve.

FUSION resolves ``mod_assumption_path`` (and its topology files) against its project
root. A server also answers read-only users' ``configs/validate``, so a path must be
confined before anything is said about it: otherwise ``network = /etc/shadow`` would
tell a stranger that the file exists.
"""

from __future__ import annotations

import os

from fusion_jupyter._namedtuple import NamedTuple
from fusion_jupyter.engine.config.schema import FUSION_NETWORKS, GENERAL
from fusion_jupyter.engine.errors import Problem

TYPE_CHECKING = False
if TYPE_CHECKING:
    from _typeshed import StrPath

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
    line (:class:`~fusion_jupyter.engine.config.schema.SchemaEntry`); paths as
    :mod:`os.path` takes them, as the command line does without pathlib.
    """

    fusion_root: StrPath | None = None
    allowed: tuple[StrPath, ...] = ()
    topology_files: bool = True

    def roots(self) -> tuple[str, ...]:
        """Every directory a file may be in, symlinks resolved."""
        found = (self.fusion_root, *self.allowed)
        return tuple(os.path.realpath(path) for path in found if path is not None)

    def locate(self, raw: str) -> tuple[str | None, str | None]:
        """The file ``raw`` names, or why it is refused (never whether it exists outside).

        A relative path resolves against FUSION's root; without a known root it cannot
        be checked here and ``(None, None)`` says so (the simulator resolves it).
        """
        path = os.path.expanduser(raw)
        if not os.path.isabs(path):
            if self.fusion_root is None:
                return None, None
            path = os.path.join(self.fusion_root, path)
        resolved = os.path.realpath(path)
        if not any(_within(resolved, root) for root in self.roots()):
            return None, (
                f"{raw!r} is outside the directories configs may read files from "
                "(FUSION's root and c.FusionJupyter.data_paths)"
            )
        if not os.path.isfile(resolved):
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
        if not os.path.isabs(value):
            return f"unknown network {value!r}: use one of {names}, or a topology file's path"
        return self.locate(value)[1]


def _within(path: str, root: str) -> bool:
    """Whether ``path`` is ``root`` or under it (both absolute and resolved), as
    ``PurePath.is_relative_to`` says."""
    return os.path.commonpath((path, root)) == root
