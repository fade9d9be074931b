"""C-14: the API key appears nowhere, not in errors, reprs, log events or spans (both clients).

Case: ``api_key="sk-canary-Sup3rS3cret"``; the scheduler answers one call with
INVALID_API_KEY and another with transport errors (UNAVAILABLE, retried, then
INTERNAL), each echoing the key in its message; structlog captured at every level
(DEBUG included); OpenTelemetry spans captured in memory.
Expected: ``Sup3rS3cret`` appears in no exception (str, repr, args, attributes,
traceback, chained causes), no client or config repr, no log event (every value
stringified), no span attribute, event attribute, status description or recorded
exception.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from desam_client import AuthenticationError, DeSAMError, RetryPolicy, SubmissionUnknownError
from desam_testing import FakeScheduler

CANARY = "sk-canary-" + "Sup3rS3cret"
SECRET = "Sup3rS3cret"


@pytest.fixture
def canary_fake() -> Iterator[FakeScheduler]:
    """A fake scheduler that accepts the canary key (so calls also succeed)."""
    with FakeScheduler(api_keys={CANARY: "carol"}) as scheduler:
        yield scheduler


def _exception_texts(error: BaseException) -> list[str]:
    texts: list[str] = []
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        item = pending.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        texts += [
            str(item),
            repr(item),
            repr(item.args),
            repr(vars(item)),
            "".join(traceback.format_exception(type(item), item, item.__traceback__)),
        ]
        pending += [item.__cause__, item.__context__]
    return texts


def test_c14_the_api_key_appears_nowhere(
    make_client: Any, canary_fake: FakeScheduler, tracing: Any, captured_logs: list[Any]
) -> None:
    fake = canary_fake
    client = make_client(
        host=fake.host,
        port=fake.port,
        api_key=CANARY,
        tracer_provider=tracing.provider,
        retry=RetryPolicy(max_attempts=4, initial_backoff=0.01),
    )
    errors: list[DeSAMError] = []

    job_id = client.submit_job(name="c14", command="true")
    assert client.get_info(job_id).job_id == job_id

    # The scheduler refuses the key, and quotes it.
    fake.faults.add("QueryJob", error_code="INVALID_API_KEY", message=f"invalid API key {CANARY!r}", times=1)
    with pytest.raises(AuthenticationError) as refused:
        client.get_info(job_id)
    errors.append(refused.value)

    # Transport errors that quote it: UNAVAILABLE (retried), then INTERNAL (permanent).
    fake.faults.add(
        "QueryJob", status=grpc.StatusCode.UNAVAILABLE, message=f"no route for key={CANARY}", times=1
    )
    fake.faults.add("QueryJob", status=grpc.StatusCode.INTERNAL, message=f"panic: api_key={CANARY}", times=1)
    with pytest.raises(DeSAMError) as failed:
        client.get_info(job_id)
    assert failed.value.grpc_code is grpc.StatusCode.INTERNAL
    errors.append(failed.value)

    # A submission whose reply is lost, with the key in the status: its error quotes the cause.
    fake.faults.add("SubmitJob", lose_reply=True, message=f"reset by peer ({CANARY})", times=1)
    with pytest.raises(SubmissionUnknownError) as unknown:
        client.submit_job(name="c14-lost", command="true", retry=None)
    errors.append(unknown.value)

    # The test is not vacuous: the key went out, the echoes came back and were redacted,
    # a retry was logged and traced.
    assert fake.requests("SubmitJob")[0].api_key == CANARY
    assert all("***" in str(error) for error in errors)
    assert any(e.get("event") == "desam.retry" for e in captured_logs)
    spans = tracing.spans()
    assert len(spans) == 5
    assert any(event.name == "desam.retry" for span in spans for event in span.events)

    texts = [text for error in errors for text in _exception_texts(error)]
    texts += [repr(client), str(client), repr(client.config), str(client.config)]
    texts += [repr(plugin) for plugin in client.plugin_manager.get_plugins()]
    texts += [repr(captured_logs)] + [str(value) for event in captured_logs for value in event.values()]
    texts += [span.to_json() for span in tracing.exporter.get_finished_spans()]
    leaks = [text for text in texts if SECRET in text]
    assert leaks == []
