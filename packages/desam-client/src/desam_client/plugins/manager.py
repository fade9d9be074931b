"""Builds a client's plugin manager and calls its hooks safely."""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Iterable, Sequence
from typing import Any

import pluggy
import structlog

from desam_client._pipeline.call import CallInfo
from desam_client._pipeline.retry import RetryPolicy
from desam_client.exceptions import ConfigurationError, DeSAMError
from desam_client.plugins import DISABLE_AUTOLOAD_ENV, ENTRY_POINT_GROUP, hookspecs
from desam_client.plugins.builtin import ApiKeyAuth, BackoffRetry, GrpcTransports

_stdlib_log = logging.getLogger("desam_client.plugins")


def default_plugins(api_key: str) -> list[object]:
    """The built-in plugins a client starts with, tracing and logging included."""
    from desam_client.plugins.logging import StructlogEvents
    from desam_client.plugins.tracing import OpenTelemetryTracing

    return [ApiKeyAuth(api_key), BackoffRetry(), GrpcTransports(), OpenTelemetryTracing(), StructlogEvents()]


def autoload_enabled(requested: bool) -> bool:
    """Entry-point plugins load unless switched off by argument or environment."""
    return requested and os.environ.get(DISABLE_AUTOLOAD_ENV, "").strip().lower() not in {"1", "true", "yes"}


def build_manager(builtin: Sequence[object], extra: Iterable[object], *, autoload: bool) -> pluggy.PluginManager:
    """Specs, then built-in plugins, then entry points, then the caller's plugins."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for plugin in builtin:
        pm.register(plugin, name=f"desam.builtin.{type(plugin).__name__}")
    if autoload_enabled(autoload):
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for plugin in extra:
        pm.register(plugin)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as error:
        raise ConfigurationError(f"plugins: {error}", argument="plugins") from error
    return pm


class Hooks:
    """The pipeline's view of the plugin manager: typed calls, guarded observers."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self._hook = pm.hook

    def api_key(self, call: CallInfo) -> Any:
        """The key (or an awaitable of it, for async plugins)."""
        return self._hook.desam_api_key(call=call)

    def metadata(self, call: CallInfo) -> list[tuple[str, str]]:
        """Every plugin's metadata pairs, in one list."""
        pairs: list[tuple[str, str]] = []
        for answer in self._hook.desam_call_metadata(call=call):
            if answer:
                pairs.extend(answer)
        return pairs

    def retry_delay(self, call: CallInfo, error: DeSAMError, policy: RetryPolicy) -> float | None:
        """Seconds to wait before retrying, or None to give up."""
        answer = self._hook.desam_retry_delay(call=call, error=error, policy=policy)
        if answer is None or answer is False:
            return None
        return 0.0 if answer is True else float(answer)

    def start(self, call: CallInfo) -> None:
        """Run every ``desam_call_start`` observer."""
        self._observe("desam_call_start", {"call": call})

    def retry(self, call: CallInfo, error: DeSAMError, delay: float) -> None:
        """Run every ``desam_call_retry`` observer."""
        self._observe("desam_call_retry", {"call": call, "error": error, "delay": delay})

    def end(self, call: CallInfo, error: DeSAMError | None) -> None:
        """Run every ``desam_call_end`` observer."""
        self._observe("desam_call_end", {"call": call, "error": error})

    def _observe(self, name: str, kwargs: dict[str, Any]) -> None:
        # Each observer runs on its own, so one failing plugin neither breaks the call
        # nor silences the plugins after it.
        for impl in reversed(getattr(self._hook, name).get_hookimpls()):
            try:
                impl.function(*[kwargs[arg] for arg in impl.argnames])
            except Exception as error:  # noqa: BLE001 - a plugin must never break a call
                _report_plugin_error(name, impl.plugin_name, error)


def transport_factory(pm: pluggy.PluginManager, name: str) -> Any:
    """The transport factory registered under ``name``."""
    factories: dict[str, Any] = {}
    for answer in pm.hook.desam_transports():
        if answer:
            factories.update(answer)
    try:
        return factories[name]
    except KeyError:
        known = ", ".join(sorted(factories))
        raise ConfigurationError(f"transport: unknown transport {name!r} (known: {known})",
                                 argument="transport") from None


def is_awaitable(value: Any) -> bool:
    """Whether a hook answered with something to await."""
    return inspect.isawaitable(value)


def _report_plugin_error(hook: str, plugin: str, error: Exception) -> None:
    """Through structlog when the application configured it, else through the standard logging."""
    text = f"{type(error).__name__}: {error}"
    if structlog.is_configured():
        structlog.get_logger("desam_client").warning("desam.plugin_error", hook=hook, plugin=plugin, error=text)
    else:
        _stdlib_log.warning("DeSAM plugin %s failed in %s: %s", plugin, hook, text)
