"""The DeSAM client wire contract: generated messages and gRPC stubs.

``desam_proto.client_pb2`` holds the messages and the ``JobStatus`` enum of the
proto package ``desam.client``; ``desam_proto.client_pb2_grpc`` holds the
``ClientServiceStub`` and the servicer base. The source of truth is
``proto/desam/client/client.proto`` in this distribution's sdist.
"""

from __future__ import annotations

__version__ = "0.2.0"

#: The gRPC service name, as it appears in method paths.
SERVICE_NAME = "desam.client.ClientService"

__all__ = ["SERVICE_NAME", "__version__"]
