"""The transport interface, for plugins that add a transport through ``desam_transports``.

A transport is the only code that touches the network. A plugin registers a
factory by name (``{"my-transport": factory}``); ``DeSAMClient(transport=...)``
picks it. The factory is called with the client's
:class:`~desam_client.config.ClientConfig` and returns an object implementing
:class:`SyncTransport` (``is_async = False``) or :class:`AsyncTransport`
(``is_async = True``). A transport raises :class:`RpcFailure` for any gRPC
status but OK; the client maps it to its exceptions, retries and closes.
"""

from __future__ import annotations

from desam_client._transport.base import AsyncTransport, Metadata, RpcFailure, SyncTransport

__all__ = ["AsyncTransport", "Metadata", "RpcFailure", "SyncTransport"]
