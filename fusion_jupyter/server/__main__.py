"""``python -m fusion_jupyter.server``: a Jupyter server with this extension as its app.

``python -m fusion_jupyter.server --help-all`` lists every ``FusionJupyter`` setting
with its help text. (``jupyter server --help-all`` prints before any extension is
loaded, so it lists only the server's own classes, for every extension.)
"""

from fusion_jupyter.server.app import FusionJupyter

if __name__ == "__main__":
    FusionJupyter.launch_instance()  # type: ignore[no-untyped-call]
