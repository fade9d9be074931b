"""What only the asyncio client has: loop rules and many concurrent calls."""

from __future__ import annotations

import asyncio

import pytest

from desam_client import AsyncDeSAMClient, ConfigurationError
from desam_testing import FakeScheduler


def test_created_with_no_running_loop_works_in_the_loop_that_uses_it(fake: FakeScheduler) -> None:
    client = AsyncDeSAMClient(host=fake.host, port=fake.port, api_key="sk-test")  # no loop runs here

    async def use() -> str:
        job_id = await client.submit_job(name="no loop at creation", command="true")
        return str(await client.get_status(job_id))

    assert asyncio.run(use()) == "QUEUED"

    async def other_loop() -> None:
        await client.list_jobs()

    with pytest.raises(ConfigurationError, match="event loop"):
        asyncio.run(other_loop())
    asyncio.run(client.close())
    assert client.closed


def test_one_thousand_concurrent_submissions(fake: FakeScheduler) -> None:
    async def main() -> list[str]:
        async with AsyncDeSAMClient(host=fake.host, port=fake.port, api_key="sk-test") as client:
            return await asyncio.gather(
                *(client.submit_job(name=f"c{i}", command="true") for i in range(1000))
            )

    ids = asyncio.run(main())
    assert len(set(ids)) == 1000
    assert fake.request_count("SubmitJob") == 1000
    assert len(fake.jobs) == 1000
