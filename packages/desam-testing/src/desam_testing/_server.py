"""FakeScheduler: a real gRPC server that speaks ``desam.client.ClientService``."""

from __future__ import annotations

import shutil
import tempfile
import threading
import weakref
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any

import grpc

from desam_proto import client_pb2 as pb

from ._auth import Authenticator
from ._blobs import BlobCache, BlobsView
from ._capacity import Capacity
from ._clock import Clock, FakeClock
from ._dispatch import Dispatcher, Handler, Recorder
from ._executor import Executor
from ._faults import Faults
from ._files_service import FileService
from ._host import SchedulerHost
from ._jobs_service import JobService
from ._manual import ManualExecutor
from ._server_tls import ServerTLS
from ._store import TERMINAL, JobStore

__all__ = ["DEFAULT_API_KEYS", "FakeScheduler"]

#: The keys a FakeScheduler accepts when given none: ``sk-test`` for user ``alice``.
DEFAULT_API_KEYS: Mapping[str, str] = MappingProxyType({"sk-test": "alice"})
_MiB = 1024 * 1024


class FakeScheduler:
    """A fake DeSAM scheduler on a real gRPC port, faithful to the wire protocol.

    It keeps jobs in memory and blobs on disk; its executor decides how jobs
    move (by default a :class:`ManualExecutor` the test drives, with a
    :class:`FakeClock`). Use it as a context manager, or call :meth:`start` and
    :meth:`stop`. A stopped scheduler cannot be started again; make a new one
    (on the same port, if you like: the port is free once :meth:`stop` returns).

    Args:
        host: Interface to listen on.
        port: Port to listen on; 0 picks a free one (read it from :attr:`port`).
        api_keys: API key to user name.
        admin_keys: Keys (also in ``api_keys``) that see every user's jobs.
        executor: Moves jobs through their states; default a new :class:`ManualExecutor`.
        clock: Stamps job times; default the executor's choice (a :class:`FakeClock`
            for the manual executor, the system clock for the local one).
        capacity: The cluster's capacity.
        quota_bytes: Each API key's blob cache quota.
        data_dir: Where blobs and job directories go; default a private temporary
            directory removed by :meth:`stop`.
        tls: Serve TLS instead of plaintext.
        max_message_bytes: Largest request message accepted (gRPC's default is 4 MiB).
        auth_via_status: Refuse bad API keys with the gRPC status UNAUTHENTICATED
            instead of an ``INVALID_API_KEY`` reply.
        max_workers: Threads serving calls at once.
        record_requests: Keep every request message for :meth:`requests` (a long-running
            server that receives large uploads should turn this off; counting goes on).

    Example:
        >>> with FakeScheduler() as fake:                    # doctest: +SKIP
        ...     channel = grpc.insecure_channel(fake.address)
        ...     stub = client_pb2_grpc.ClientServiceStub(channel)
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_keys: Mapping[str, str] = DEFAULT_API_KEYS,
        admin_keys: Iterable[str] = (),
        executor: Executor | None = None,
        clock: Clock | None = None,
        capacity: Capacity = Capacity(),  # noqa: B008 - frozen, so sharing it is safe
        quota_bytes: int = 1024 * _MiB,
        data_dir: Path | str | None = None,
        tls: ServerTLS | None = None,
        max_message_bytes: int = 4 * _MiB,
        auth_via_status: bool = False,
        max_workers: int = 32,
        record_requests: bool = True,
    ) -> None:
        self._auth = Authenticator(api_keys, admin_keys, via_status=auth_via_status)
        self._host = host
        self._requested_port = port
        self._tls = tls
        self._max_message_bytes = max_message_bytes
        self._max_workers = max_workers
        self._executor = executor if executor is not None else ManualExecutor()
        self._clock = clock if clock is not None else self._executor.default_clock()
        self._capacity = capacity
        if data_dir is None:
            self._data_dir = Path(tempfile.mkdtemp(prefix="desam-fake-"))
            self._cleanup: weakref.finalize[[Path], FakeScheduler] | None
            self._cleanup = weakref.finalize(self, _remove_tree, self._data_dir)
        else:
            self._data_dir = Path(data_dir)
            self._data_dir.mkdir(parents=True, exist_ok=True)
            self._cleanup = None
        self._store = JobStore(self._clock)
        self._blobs = BlobCache(self._data_dir, quota_bytes)
        self._executor.attach(
            SchedulerHost(self._store, self._blobs, self._data_dir / "jobs", capacity, self._clock)
        )
        jobs = JobService(self._store, self._auth, self._executor, capacity)
        self._jobs = jobs
        files = FileService(self._blobs, self._auth, jobs)
        handlers: dict[str, Handler] = {
            "SubmitJob": jobs.submit_job,
            "QueryJob": jobs.query_job,
            "CancelJob": jobs.cancel_job,
            "ListJobs": jobs.list_jobs,
            "GetJobLogs": jobs.get_job_logs,
            "BatchQueryJobs": jobs.batch_query_jobs,
            "BatchCancelJobs": jobs.batch_cancel_jobs,
            "QueryCacheQuota": files.query_cache_quota,
            "VerifyDependencies": files.verify_dependencies,
            "UploadFile": files.upload_file,
            "SubmitJobWithArtifacts": files.submit_job_with_artifacts,
        }
        self._faults = Faults()
        self._recorder = Recorder(keep_requests=record_requests)
        self._dispatcher = Dispatcher(handlers, self._faults, self._recorder)
        self._lock = threading.Lock()
        self._server: grpc.Server | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._port: int | None = None
        self._stopped = False

    # -- life cycle --------------------------------------------------------------------------------

    def start(self) -> FakeScheduler:
        """Start listening and return ``self``.

        Raises:
            OSError: If the address cannot be bound (e.g. the port is taken).
            RuntimeError: If it was started or stopped before.
        """
        with self._lock:
            if self._server is not None or self._stopped:
                raise RuntimeError("a FakeScheduler starts once; make a new one to start again")
            pool = ThreadPoolExecutor(self._max_workers, thread_name_prefix="desam-fake-rpc")
            server = grpc.server(
                pool,
                handlers=[self._dispatcher.generic_handler()],
                options=[
                    ("grpc.so_reuseport", 0),
                    ("grpc.max_receive_message_length", self._max_message_bytes),
                ],
            )
            address = _join(self._host, self._requested_port)
            try:
                if self._tls is not None:
                    port = server.add_secure_port(address, self._tls.credentials())
                else:
                    port = server.add_insecure_port(address)
            except RuntimeError:
                port = 0
            if not port:
                server.stop(None)
                pool.shutdown(wait=True)
                raise OSError(f"cannot listen on {address}: the port is in use or the address is not local")
            server.start()
            self._server, self._pool, self._port = server, pool, port
        return self

    def stop(self, grace: float | None = 0.0) -> None:
        """Stop serving, stop the executor's jobs, and remove the private data directory.

        Calls held up by injected latency end at once (with UNAVAILABLE). Calling
        ``stop`` again does nothing.

        Args:
            grace: Seconds in-flight calls may still finish in; ``0``/``None`` cancel them now.
        """
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            server, pool = self._server, self._pool
        self._faults.interrupt()
        if server is not None:
            server.stop(grace).wait()
        self._executor.shutdown()
        if pool is not None:
            pool.shutdown(wait=True)
        if self._cleanup is not None:
            self._cleanup()

    def __enter__(self) -> FakeScheduler:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- where it is -------------------------------------------------------------------------------

    @property
    def host(self) -> str:
        """The interface it listens on."""
        return self._host

    @property
    def port(self) -> int:
        """The port it listens on (the real one when asked for port 0).

        Raises:
            RuntimeError: Before :meth:`start`.
        """
        if self._port is None:
            raise RuntimeError("the FakeScheduler has not been started")
        return self._port

    @property
    def address(self) -> str:
        """``"host:port"``, ready for ``grpc.insecure_channel`` (IPv6 hosts in brackets)."""
        return _join(self._host, self.port)

    # -- what tests drive and inspect --------------------------------------------------------------

    @property
    def faults(self) -> Faults:
        """Fault injection for this scheduler's RPCs."""
        return self._faults

    @property
    def executor(self) -> Executor:
        """The executor moving this scheduler's jobs (a :class:`ManualExecutor` unless given another)."""
        return self._executor

    @property
    def manual(self) -> ManualExecutor:
        """The executor, typed as the :class:`ManualExecutor` it must be.

        Raises:
            TypeError: If the scheduler runs another executor.
        """
        if not isinstance(self._executor, ManualExecutor):
            raise TypeError(
                f"this FakeScheduler runs a {type(self._executor).__name__}, not a ManualExecutor"
            )
        return self._executor

    @property
    def clock(self) -> Clock:
        """The clock stamping job times (a :class:`FakeClock` with the manual executor by default)."""
        return self._clock

    @property
    def fake_clock(self) -> FakeClock:
        """The clock, typed as the :class:`FakeClock` it must be.

        Raises:
            TypeError: If the scheduler uses another clock.
        """
        if not isinstance(self._clock, FakeClock):
            raise TypeError(f"this FakeScheduler uses a {type(self._clock).__name__}, not a FakeClock")
        return self._clock

    @property
    def capacity(self) -> Capacity:
        """The cluster's capacity."""
        return self._capacity

    @property
    def data_dir(self) -> Path:
        """Where blobs (``blobs/``) and job directories (``jobs/<job_id>/``) are kept."""
        return self._data_dir

    @property
    def blobs(self) -> BlobsView:
        """The blob cache as a read-only mapping ``sha256 hex -> bytes``."""
        return BlobsView(self._blobs)

    @property
    def jobs(self) -> list[pb.Job]:
        """Copies of all stored jobs, in submission order."""
        return [self._store.snapshot(record.job.job_id) for record in self._store.records()]

    def get_job(self, job_id: str) -> pb.Job:
        """Return a copy of a job as stored (:class:`KeyError` if unknown)."""
        return self._store.snapshot(job_id)

    def logs(self, job_id: str) -> list[str]:
        """Return a job's log lines so far."""
        return list(self._store.require(job_id).logs)

    def owner_of(self, job_id: str) -> str:
        """Return the user whose API key submitted a job (who may see it)."""
        return self._store.require(job_id).owner

    def wait_for_status(self, job_id: str, *statuses: int, timeout: float = 10.0) -> pb.Job:
        """Block until a job reaches one of ``statuses`` (default: any terminal one).

        Returns:
            A copy of the job.

        Raises:
            TimeoutError: If it does not within ``timeout`` seconds.
        """
        wanted = frozenset(statuses) or TERMINAL
        return self._store.wait_for(job_id, lambda job: job.status in wanted, timeout)

    def wait_for_log_lines(self, job_id: str, count: int, *, timeout: float = 10.0) -> list[str]:
        """Block until a job has at least ``count`` log lines, then return all of them.

        Raises:
            TimeoutError: If it does not within ``timeout`` seconds.
        """
        return self._store.wait_for_logs(job_id, count, timeout)

    @property
    def dedup_submissions(self) -> bool:
        """Whether a repeated submission is answered with the job it already created (default True).

        A submission whose metadata carries the ``desam-submission-id`` of a job the same
        user already has returns that job instead of storing a second one. Set this to
        ``False`` to behave like a scheduler that does not de-duplicate, e.g. to show that
        a client's own look-up before resending keeps submissions unique.
        """
        return self._jobs.dedup_submissions

    @dedup_submissions.setter
    def dedup_submissions(self, value: bool) -> None:
        self._jobs.dedup_submissions = bool(value)

    def request_count(self, rpc_name: str | None = None) -> int:
        """Return how many calls of ``rpc_name`` (or of any RPC) arrived.

        Every call counts: refused, faulted or unparsable ones too.

        Raises:
            ValueError: For a name that is not one of the eleven RPCs.
        """
        return self._recorder.calls(rpc_name)

    def requests(self, rpc_name: str) -> list[Any]:
        """Return the request messages ``rpc_name`` received, oldest first.

        They are the generated request classes (``QueryJobRequest`` for ``"QueryJob"``, ...);
        the list is typed loosely so tests can read their fields directly. For
        ``UploadFile`` this is every chunk of every upload, in arrival order.
        """
        return self._recorder.requests(rpc_name)

    def inject_job(self, *, owner: str | None = None, logs: Iterable[str] = (), **fields: Any) -> str:
        """Store a job with arbitrary fields, as if a scheduler had it; the executor is not told.

        Fields left out get defaults: a fresh ``job_id``, ``submit_time`` now,
        ``status`` QUEUED, ``user_id`` the owner. Any number is accepted as
        ``status`` (e.g. 42), and any times (e.g. ``submit_time=1700000000``).

        Args:
            owner: The user who may see it (as mapped from an API key); default the first key's user.
            logs: Log lines it has.
            **fields: ``Job`` fields, e.g. ``name="x"``, ``status=42``,
                ``resources={"cpu_cores": 2}``.

        Returns:
            The job id.
        """
        if owner is None:
            users = self._auth.users()
            if not users:
                raise ValueError("this scheduler has no API keys; say whose job it is with owner=")
            owner = users[0]
        job = pb.Job(**fields)
        job.job_id = job.job_id or self._store.new_job_id()
        if "submit_time" not in fields:
            job.submit_time = self._store.now()
        if "status" not in fields:
            job.status = pb.QUEUED
        if "user_id" not in fields:
            job.user_id = owner
        self._store.add(job, owner)
        self._store.append_log(job.job_id, logs)
        return job.job_id

    def __repr__(self) -> str:
        where = self.address if self._port is not None else "not started"
        executor = type(self._executor).__name__
        return f"<FakeScheduler {where} executor={executor} jobs={len(self._store.records())}>"


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _join(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"
