"""fusion_jupyter: launch, watch and analyse FUSION simulation runs from Jupyter."""

from fusion_jupyter._version import __version__

__all__ = ["__version__"]


def _jupyter_server_extension_points() -> list[dict[str, object]]:
    """Where jupyter-server finds the extension app (imported only when it loads it)."""
    from fusion_jupyter.server.app import FusionJupyter

    return [{"module": "fusion_jupyter.server.app", "app": FusionJupyter}]
