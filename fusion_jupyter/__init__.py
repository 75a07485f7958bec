"""fusion_jupyter: launch, watch and analyse FUSION simulation runs from Jupyter."""

from fusion_jupyter._version import __version__

__all__ = ["__version__"]
