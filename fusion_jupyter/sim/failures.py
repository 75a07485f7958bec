"""Where FUSION itself fails in the middle of a run, and the built-in simulator with it.

Some of FUSION's failures depend on the traffic as well as the config, so they cannot
be refused before the run. The built-in simulator computes what FUSION computes, in
FUSION's order, so it meets the same operands at the same request; there it stops as
FUSION stops, with an error that says what FUSION raises and why, instead of a
traceback of its own. The command line exits with its own code for it (3).
"""

from __future__ import annotations


class FusionFailure(Exception):
    """FUSION raises at this point of the run too: the run stops where FUSION's does."""

    def at(self, where: str) -> FusionFailure:
        """The same failure, saying where in the run it happened."""
        return FusionFailure(f"{where}: {self}")
