"""Test tools for DeSAM: a faithful fake scheduler on a real gRPC port.

* :class:`FakeScheduler` serves all eleven RPCs of ``desam.client.ClientService``
  with the wire protocol's semantics (API keys, permissions, paging, logs,
  cancel, the blob cache with quota, SubmitJobWithArtifacts).
* Executors decide how jobs move: :class:`ManualExecutor` (the test drives,
  with a :class:`FakeClock`) or :class:`LocalExecutor` (really runs commands).
* ``fake.faults`` injects gRPC errors, error replies, latency and lost replies.
* ``desam-dev-server`` (:mod:`desam_testing.devserver`) runs a scheduler with
  the local executor for trying a client without a cluster;
  :mod:`desam_testing.tls` makes test certificates.

Example:
    >>> from desam_testing import FakeScheduler
    >>> with FakeScheduler() as fake:                       # doctest: +SKIP
    ...     stub = ClientServiceStub(grpc.insecure_channel(fake.address))
    ...     reply = stub.SubmitJob(SubmitJobRequest(api_key="sk-test", name="a", command="true"))
    ...     fake.manual.start(reply.job_id)
    ...     fake.manual.succeed(reply.job_id)
"""

from __future__ import annotations

from ._capacity import Capacity
from ._clock import Clock, FakeClock, SystemClock
from ._errors import ErrorCode, StagingError
from ._executor import Executor, ExecutorHost
from ._faults import Fault, Faults
from ._local import LocalExecutor
from ._manual import ManualExecutor
from ._server import DEFAULT_API_KEYS, FakeScheduler
from ._server_tls import ServerTLS
from ._store import SUBMISSION_ID_KEY
from .devprocess import DevServerProcess, run_dev_server

__version__ = "0.2.0"

__all__ = [
    "DEFAULT_API_KEYS",
    "SUBMISSION_ID_KEY",
    "Capacity",
    "Clock",
    "DevServerProcess",
    "ErrorCode",
    "Executor",
    "ExecutorHost",
    "FakeClock",
    "FakeScheduler",
    "Fault",
    "Faults",
    "LocalExecutor",
    "ManualExecutor",
    "ServerTLS",
    "StagingError",
    "SystemClock",
    "__version__",
    "run_dev_server",
]
