"""Cluster capacity and the first-in-first-out admission queue the executors share."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from desam_proto import client_pb2 as pb

__all__ = ["Capacity", "CapacityQueue"]


@dataclass(frozen=True)
class Capacity:
    """What the whole fake cluster has; a job that asks for more is refused at submit.

    A job's ``cpu_cores`` of 0 counts as one core; ``memory_mb`` and
    ``gpu_count`` count as given; ``disk_mb`` is not accounted.

    Attributes:
        cpu: CPU cores.
        memory_mb: Memory in MiB.
        gpu: GPUs.
    """

    cpu: int = 64
    memory_mb: int = 256 * 1024
    gpu: int = 8

    def __post_init__(self) -> None:
        for name in ("cpu", "memory_mb", "gpu"):
            if getattr(self, name) < 0:
                raise ValueError(f"Capacity.{name} must be >= 0")

    def shortfall(self, resources: pb.ResourceRequirement) -> str | None:
        """Say what a request asks more of than the whole cluster has.

        Args:
            resources: The job's request.

        Returns:
            A sentence naming the first resource that can never fit, or ``None`` if the request fits.
        """
        cpu, memory_mb, gpu = demand(resources)
        for field, wanted, have in (
            ("cpu_cores", cpu, self.cpu),
            ("memory_mb", memory_mb, self.memory_mb),
            ("gpu_count", gpu, self.gpu),
        ):
            if wanted > have:
                return f"resources.{field}={wanted} exceeds the cluster's capacity of {have}"
        return None


def demand(resources: pb.ResourceRequirement) -> tuple[int, int, int]:
    """Return the (cpu, memory_mb, gpu) a request takes while it runs."""
    return max(resources.cpu_cores, 1), resources.memory_mb, resources.gpu_count


class CapacityQueue:
    """Jobs waiting for resources, admitted strictly in arrival order while they fit.

    The head of the queue blocks the jobs behind it even when a later, smaller
    job would fit (no backfilling), so jobs start in the order they were
    submitted. Thread-safe.

    Args:
        capacity: What there is to share.
    """

    def __init__(self, capacity: Capacity) -> None:
        self._capacity = capacity
        self._lock = threading.Lock()
        self._waiting: OrderedDict[str, tuple[int, int, int]] = OrderedDict()
        self._running: dict[str, tuple[int, int, int]] = {}

    def enqueue(self, job_id: str, resources: pb.ResourceRequirement) -> None:
        """Put a job at the end of the queue."""
        with self._lock:
            self._waiting[job_id] = demand(resources)

    def admit(self) -> list[str]:
        """Take jobs off the head of the queue while they fit and reserve their share.

        Returns:
            The admitted job ids, in order; the caller starts them.
        """
        admitted: list[str] = []
        with self._lock:
            while self._waiting:
                job_id, wanted = next(iter(self._waiting.items()))
                if not self._fits(wanted):
                    break
                del self._waiting[job_id]
                self._running[job_id] = wanted
                admitted.append(job_id)
        return admitted

    def take(self, job_id: str, resources: pb.ResourceRequirement) -> None:
        """Reserve a job's share now, out of turn and even if it over-commits (a test said so)."""
        with self._lock:
            self._waiting.pop(job_id, None)
            self._running[job_id] = demand(resources)

    def dequeue(self, job_id: str) -> bool:
        """Take a job off the queue if it is still waiting; return whether it was."""
        with self._lock:
            return self._waiting.pop(job_id, None) is not None

    def release(self, job_id: str) -> None:
        """Forget a job: drop it from the queue, or free the share it held. Unknown ids are ignored."""
        with self._lock:
            self._waiting.pop(job_id, None)
            self._running.pop(job_id, None)

    def waiting(self) -> list[str]:
        """Return the ids still waiting, head first."""
        with self._lock:
            return list(self._waiting)

    def _fits(self, wanted: tuple[int, int, int]) -> bool:
        used = [sum(share[i] for share in self._running.values()) for i in range(3)]
        limits = (self._capacity.cpu, self._capacity.memory_mb, self._capacity.gpu)
        return all(used[i] + wanted[i] <= limits[i] for i in range(3))
