"""Running transfer flows (:mod:`desam_client._core.transfer`) on a client's call pipeline.

The client's runner drives the flow; this module only executes the instructions
that are particular to transfers. Local work runs in place for the
sync client and in a worker thread for the asyncio client; parallel sub-flows run one
after the other, or concurrently with a bound.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any, TypeVar

from desam_client._core.flow import Sleep, Step
from desam_client._core.transfer import Local, Parallel, TransferFlow, Upload, upload_limits
from desam_client._pipeline.runner import AsyncRunner, CallOptions, SyncRunner

T = TypeVar("T")


def upload_options(upload: Upload[Any], options: CallOptions) -> CallOptions:
    """The call options of one upload: deadline and budget scaled to its size."""
    timeout, budget = upload_limits(
        upload.size, upload.deadline, options.timeout, options.retry.total_timeout
    )
    return CallOptions(timeout, dataclasses.replace(options.retry, total_timeout=budget))


def run_sync(runner: SyncRunner, flow: TransferFlow[T], options: CallOptions) -> T:
    """Run a transfer flow (or any plain flow) with blocking calls and return its result."""
    return runner.run(
        flow, options, execute=lambda instruction, opts: _execute_sync(runner, instruction, opts)
    )


def _execute_sync(runner: SyncRunner, instruction: Any, options: CallOptions) -> Any:
    if isinstance(instruction, Local):
        return instruction.run()
    if isinstance(instruction, Upload):
        return runner.step(instruction.step, upload_options(instruction, options))
    if isinstance(instruction, Parallel):
        return [run_sync(runner, flow, options) for flow in instruction.flows]
    if isinstance(instruction, (Step, Sleep)):
        return runner.execute(instruction, options)
    raise TypeError(f"a transfer flow cannot yield {instruction!r}")


async def run_async(runner: AsyncRunner, flow: TransferFlow[T], options: CallOptions) -> T:
    """Run a transfer flow (or any plain flow) with ``await`` and return its result."""
    return await runner.run(
        flow, options, execute=lambda instruction, opts: _execute_async(runner, instruction, opts)
    )


async def _execute_async(runner: AsyncRunner, instruction: Any, options: CallOptions) -> Any:
    if isinstance(instruction, Local):
        return await asyncio.to_thread(instruction.run)
    if isinstance(instruction, Upload):
        return await _upload_async(runner, instruction, options)
    if isinstance(instruction, Parallel):
        return await _gather(runner, instruction, options)
    if isinstance(instruction, (Step, Sleep)):
        return await runner.execute(instruction, options)
    raise TypeError(f"a transfer flow cannot yield {instruction!r}")


async def _upload_async(runner: AsyncRunner, upload: Upload[Any], options: CallOptions) -> Any:
    """Run an upload with its size-scaled deadline and budget."""
    return await runner.step(upload.step, upload_options(upload, options))


async def _gather(runner: AsyncRunner, parallel: Parallel, options: CallOptions) -> list[Any]:
    """Run the sub-flows at most ``parallel.limit`` at a time; the first failure cancels the rest."""
    gate = asyncio.Semaphore(parallel.limit)

    async def one(flow: TransferFlow[Any]) -> Any:
        async with gate:
            return await run_async(runner, flow, options)

    tasks = [asyncio.ensure_future(one(flow)) for flow in parallel.flows]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
