"""The API's operations, independent of any server: one service every transport uses.

:mod:`~fusion_jupyter.service.api` holds the operations and their checked requests,
:mod:`~fusion_jupyter.service.routes` the one route table, and
:mod:`~fusion_jupyter.service.exchange` the transport-neutral request and reply. The
server (tornado), the embedded client backend and the widgets' kernel relay are thin
adapters over them. Nothing here is imported eagerly, so a client that only forwards
requests does not load the engine.
"""
