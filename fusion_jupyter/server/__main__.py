"""``jupyter fusion`` (or ``python -m fusion_jupyter.server``): a Jupyter server with this
extension as its app, the way ``jupyter lab`` is one with JupyterLab's.

``jupyter fusion --help-all`` lists every ``FusionJupyter`` setting with its help
text. (``jupyter server --help-all`` prints its help before any extension is loaded,
so it lists only the server's own classes, whatever the extension.)
"""

from fusion_jupyter.server.app import FusionJupyter


def main() -> None:
    """Start a Jupyter server whose default app is this extension."""
    FusionJupyter.launch_instance()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    main()
