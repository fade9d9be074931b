"""Conversion between protobuf messages and the public models. Pure functions."""

from __future__ import annotations

from datetime import datetime, timezone

from desam_client.models import Job, JobStatus, Resource
from desam_proto import client_pb2 as pb


def timestamp(seconds: int) -> datetime | None:
    """Unix seconds to an aware UTC datetime; 0 (or less) means "not yet" and becomes None."""
    if seconds <= 0:
        return None
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def resource_from_proto(msg: pb.ResourceRequirement) -> Resource:
    """The model of a ``ResourceRequirement``."""
    return Resource(cpu=msg.cpu_cores, memory_mb=msg.memory_mb, gpu=msg.gpu_count, disk_mb=msg.disk_mb)


def resource_to_proto(resource: Resource) -> pb.ResourceRequirement:
    """The ``ResourceRequirement`` of a model."""
    return pb.ResourceRequirement(
        cpu_cores=resource.cpu, memory_mb=resource.memory_mb, gpu_count=resource.gpu, disk_mb=resource.disk_mb
    )


def job_from_proto(msg: pb.Job) -> Job:
    """The model of a ``Job`` message; empty optional fields become None."""
    raw_status = int(msg.status)
    return Job(
        job_id=msg.job_id,
        user_id=msg.user_id,
        name=msg.name,
        command=msg.command,
        status=JobStatus.from_number(raw_status),
        status_code=raw_status,
        resources=resource_from_proto(msg.resources),
        working_dir=msg.working_dir or None,
        env=dict(msg.env) if msg.env else None,
        timeout=msg.timeout or None,
        retries=msg.retries,
        artifacts=list(msg.artifacts) if msg.artifacts else None,
        labels=dict(msg.labels) if msg.labels else None,
        description=msg.description or None,
        metadata=dict(msg.metadata) if msg.metadata else None,
        submit_time=timestamp(msg.submit_time),
        start_time=timestamp(msg.start_time),
        finish_time=timestamp(msg.finish_time),
        error_message=msg.error_message or None,
        executor_id=msg.executor_id or None,
    )
