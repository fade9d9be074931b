"""Built-in plugin: one structlog event per call and one per retry.

The SDK never configures logging. structlog's defaults print to standard
output, so events are emitted only once the application has configured
structlog (``structlog.configure(...)``, or ``structlog.testing.capture_logs()``
in tests), or when the client is given ``plugins=[StructlogEvents(always=True)]``
(which replaces the built-in instance).

Events: ``desam.call`` (``rpc``, ``duration_ms``, ``attempts``, ``outcome``,
``job_id``, and ``error_type``/``error_code``/``grpc_code`` on failure; level
debug on success, info on failure) and ``desam.retry`` (``rpc``, ``attempt``,
``delay_s``, ``error_type``; level info). No event carries the API key.
"""

from __future__ import annotations

from typing import Any

import structlog

from desam_client._pipeline.call import CallInfo
from desam_client.exceptions import DeSAMError
from desam_client.plugins import hookimpl


class StructlogEvents:
    """Emits ``desam.call`` and ``desam.retry`` events through ``structlog.get_logger("desam_client")``.

    Args:
        always: Emit even when structlog has not been configured (then with
            structlog's default output, standard output).
    """

    def __init__(self, *, always: bool = False) -> None:
        self._always = always
        self._log = structlog.get_logger("desam_client")

    def _enabled(self) -> bool:
        return self._always or structlog.is_configured()

    @hookimpl
    def desam_call_retry(self, call: CallInfo, error: DeSAMError, delay: float) -> None:
        """Log the retry."""
        if self._enabled():
            self._log.info(
                "desam.retry",
                rpc=call.rpc,
                job_id=call.job_id,
                attempt=call.attempt,
                delay_s=round(delay, 4),
                error_type=type(error).__name__,
                error_code=error.error_code,
                grpc_code=error.grpc_code.name if error.grpc_code is not None else None,
            )

    @hookimpl
    def desam_call_end(self, call: CallInfo, error: DeSAMError | None) -> None:
        """Log the call's outcome."""
        if not self._enabled():
            return
        fields: dict[str, Any] = {
            "rpc": call.rpc,
            "job_id": call.job_id,
            "attempts": call.attempt,
            "duration_ms": round(call.elapsed * 1000, 3),
            "outcome": "ok" if error is None else "error",
        }
        if error is None:
            self._log.debug("desam.call", **fields)
            return
        self._log.info(
            "desam.call",
            **fields,
            error_type=type(error).__name__,
            error_code=error.error_code,
            grpc_code=error.grpc_code.name if error.grpc_code is not None else None,
            error=str(error),
        )
