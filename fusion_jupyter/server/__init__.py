"""The jupyter-server extension: the engine behind Jupyter's auth, as REST and one WebSocket.

``app.FusionJupyter`` is the ExtensionApp; ``handlers`` holds the REST routes,
``stream`` the WebSocket, ``events`` the jupyter_events bridge. Nothing here imports
at package import time, so ``import fusion_jupyter`` stays cheap in a kernel.
"""
