"""Per-call latency: each client variant against the raw generated stub, on the same server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks import clients
from benchmarks.harness import Row, Timings, acall_by_call, call_by_call, fmt_us, median, paired_ratio
from benchmarks.serve import API_KEY, Server
from desam_proto import client_pb2 as pb

GOAL = 1.05
RPCS = ("get_status", "get_info", "submit_job")


def run(*, calls: int, rounds: int) -> list[Row]:
    with Server("fake") as server:
        rows = _sync(server, calls, rounds)
        loop = asyncio.new_event_loop()
        try:
            rows += loop.run_until_complete(_async(server, calls, rounds))
        finally:
            loop.close()
    return rows


def _rows(section: str, rpc: str, timings: Timings, client: str, stub: str) -> list[Row]:
    raw, default, otel, bare = (timings.wall[k] for k in ("raw", "default", "otel", "bare"))
    ratio = paired_ratio(default, raw)
    plugins = paired_ratio(default, bare)
    cpu_ours, cpu_raw = timings.cpu["default"], timings.cpu["raw"]
    return [
        Row(
            section,
            f"{rpc}: {client} vs {stub}",
            fmt_us(median(default)),
            fmt_us(median(raw)),
            ratio,
            f"≤ {GOAL}×",
            ratio <= GOAL,
        ),
        Row(
            section,
            f"{rpc}: CPU of the calling thread per call, {client} vs {stub}",
            fmt_us(median(cpu_ours)),
            fmt_us(median(cpu_raw)),
            paired_ratio(cpu_ours, cpu_raw),
        ),
        Row(
            section,
            f"{rpc}: {client} with an OpenTelemetry SDK vs {stub}",
            fmt_us(median(otel)),
            fmt_us(median(raw)),
            paired_ratio(otel, raw),
        ),
        Row(
            section,
            f"{rpc}: default plugins vs bare core",
            fmt_us(median(default)),
            fmt_us(median(bare)),
            plugins,
            f"≤ {GOAL}×",
            plugins <= GOAL,
        ),
    ]


def _clear_spans() -> None:
    clients.span_exporter().clear()


def _sync(server: Server, calls: int, rounds: int) -> list[Row]:
    job_id = server.job_id
    channel, stub = clients.sync_stub(server.address)
    made = {variant: clients.sync_client(server.address, variant) for variant in clients.VARIANTS}
    query = pb.QueryJobRequest(api_key=API_KEY, job_id=job_id)
    timeout = clients.TIMEOUT
    raw: dict[str, Callable[[], Any]] = {
        "get_status": lambda: clients.checked(stub.QueryJob(query, timeout=timeout)).job.status,
        "get_info": lambda: clients.checked(stub.QueryJob(query, timeout=timeout)).job,
        "submit_job": lambda: clients.checked(stub.SubmitJob(clients.submit_request(), timeout=timeout)),
    }
    rows: list[Row] = []
    try:
        for rpc in RPCS:
            fns: dict[str, Callable[[], Any]] = {"raw": raw[rpc]}
            for variant, client in made.items():
                fns[variant] = _bind(client, rpc, job_id)
            values = call_by_call(fns, calls, rounds, after_round=_clear_spans)
            rows += _rows("latency, sync", rpc, values, "DeSAMClient", "raw stub")
    finally:
        for client in made.values():
            client.close()
        channel.close()
    return rows


async def _async(server: Server, calls: int, rounds: int) -> list[Row]:
    job_id = server.job_id
    channel, stub = clients.async_stub(server.address)
    made = {variant: clients.async_client(server.address, variant) for variant in clients.VARIANTS}
    query = pb.QueryJobRequest(api_key=API_KEY, job_id=job_id)
    timeout = clients.TIMEOUT

    async def raw_status() -> Any:
        return clients.checked(await stub.QueryJob(query, timeout=timeout)).job.status

    async def raw_info() -> Any:
        return clients.checked(await stub.QueryJob(query, timeout=timeout)).job

    async def raw_submit() -> Any:
        return clients.checked(await stub.SubmitJob(clients.submit_request(), timeout=timeout)).job_id

    raw: dict[str, Callable[[], Awaitable[Any]]] = {
        "get_status": raw_status,
        "get_info": raw_info,
        "submit_job": raw_submit,
    }
    rows: list[Row] = []
    try:
        for rpc in RPCS:
            fns: dict[str, Callable[[], Awaitable[Any]]] = {"raw": raw[rpc]}
            for variant, client in made.items():
                fns[variant] = _bind(client, rpc, job_id)
            values = await acall_by_call(fns, calls, rounds, after_round=_clear_spans)
            rows += _rows("latency, asyncio", rpc, values, "AsyncDeSAMClient", "raw grpc.aio stub")
    finally:
        for client in made.values():
            await client.close()
        await channel.close()
    return rows


def _bind(client: Any, rpc: str, job_id: str) -> Callable[[], Any]:
    if rpc == "submit_job":
        return lambda: client.submit_job(name="bench", command="true")
    method = getattr(client, rpc)
    return lambda: method(job_id)
