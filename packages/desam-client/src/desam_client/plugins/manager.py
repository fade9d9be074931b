"""Builds a client's plugin manager and calls its hooks safely."""

from __future__ import annotations

import inspect
import logging
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pluggy

from desam_client._pipeline.call import CallInfo
from desam_client._pipeline.retry import RetryPolicy
from desam_client.exceptions import ConfigurationError, DeSAMError
from desam_client.plugins import DISABLE_AUTOLOAD_ENV, ENTRY_POINT_GROUP, hookspecs
from desam_client.plugins.builtin import ApiKeyAuth, BackoffRetry, GrpcTransports

_stdlib_log = logging.getLogger("desam_client.plugins")


def default_plugins(api_key: str, *, tracer_provider: Any = None) -> list[object]:
    """The built-in plugins a client starts with, tracing and logging included.

    Args:
        api_key: The key the client was created with (the auth plugin's answer).
        tracer_provider: An OpenTelemetry ``TracerProvider`` for the tracing
            plugin; None uses the global one.
    """
    from desam_client.plugins.logging import StructlogEvents
    from desam_client.plugins.tracing import OpenTelemetryTracing

    return [
        ApiKeyAuth(api_key),
        BackoffRetry(),
        GrpcTransports(),
        OpenTelemetryTracing(tracer_provider=tracer_provider),
        StructlogEvents(),
    ]


def autoload_enabled(requested: bool) -> bool:
    """Entry-point plugins load unless switched off by argument or environment."""
    return requested and os.environ.get(DISABLE_AUTOLOAD_ENV, "").strip().lower() not in {"1", "true", "yes"}


def build_manager(
    builtin: Sequence[object], extra: Iterable[object], *, autoload: bool
) -> pluggy.PluginManager:
    """Specs, then built-in plugins, then entry points, then the caller's plugins.

    A plugin in ``extra`` whose class is that of a built-in plugin replaces that
    built-in. Every registration problem is a :class:`ConfigurationError`.
    """
    extra = list(extra)
    replaced = {type(plugin) for plugin in extra}
    pm = _CountingPluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for plugin in builtin:
        if type(plugin) not in replaced:
            pm.register(plugin, name=f"desam.builtin.{type(plugin).__name__}")
    if autoload_enabled(autoload):
        load_entrypoint_plugins(pm)
    for plugin in extra:
        _register(pm, plugin, None, f"plugins: cannot register {_describe(plugin)}")
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as error:
        raise ConfigurationError(f"plugins: {error}", argument="plugins") from error
    return pm


def load_entrypoint_plugins(pm: pluggy.PluginManager) -> int:
    """Register the plugins of the ``desam.plugins`` entry points; return how many.

    An entry point names a module, an object or a class; a class is
    instantiated with no arguments. Entry points whose name is blocked
    (``pm.set_blocked(name)``) or already registered are skipped.
    """
    import importlib.metadata  # here, not at the top: it costs ~15 ms to import, and most clients never ask

    count = 0
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        name = entry_point.name
        if pm.has_plugin(name) or pm.is_blocked(name):
            continue
        where = f"entry point {name!r} ({entry_point.value}) of group {ENTRY_POINT_GROUP!r}"
        hint = f"; set {DISABLE_AUTOLOAD_ENV}=1 or pass load_entrypoint_plugins=False to skip entry points"
        try:
            plugin = entry_point.load()
            if inspect.isclass(plugin):
                plugin = plugin()
        except Exception as error:
            raise ConfigurationError(
                f"plugins: {where} failed to load: {type(error).__name__}: {error}{hint}", argument="plugins"
            ) from error
        _register(pm, plugin, name, f"plugins: {where} cannot be registered")
        count += 1
    return count


def _register(pm: pluggy.PluginManager, plugin: object, name: str | None, what: str) -> None:
    try:
        pm.register(plugin, name=name)
    except (pluggy.PluginValidationError, ValueError) as error:
        raise ConfigurationError(f"{what}: {error}", argument="plugins") from error


def _describe(plugin: object) -> str:
    kind = "module" if inspect.ismodule(plugin) else "plugin"
    label = getattr(plugin, "__name__", None) or type(plugin).__qualname__
    return f"{kind} {label}"


class _CountingPluginManager(pluggy.PluginManager):
    """A PluginManager that counts registrations, so callers can cache what they derive from it."""

    generation = 0

    def register(self, plugin: object, name: str | None = None) -> str | None:
        self.generation += 1
        return super().register(plugin, name)

    def unregister(self, plugin: object | None = None, name: str | None = None) -> Any | None:
        self.generation += 1
        return super().unregister(plugin, name)


#: One hook implementation as the pipeline calls it: ``(function, argnames, plugin_name)``.
_Impl = tuple[Any, tuple[str, ...], str]


class Hooks:
    """The pipeline's view of the plugin manager: typed calls, guarded observers."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self._hook = pm.hook
        self._plans: dict[str, tuple[int | None, list[_Impl], bool]] = {}

    def _plan(self, name: str) -> tuple[list[_Impl], bool]:
        """A hook's implementations in pluggy's calling order, and whether one is a wrapper.

        Each is ``(function, argnames, plugin_name)``; with a wrapper among them only pluggy
        may call them. Calling the functions directly spares pluggy's general machinery on
        every call. Plans are rebuilt when a plugin is registered or unregistered later
        through ``client.plugin_manager``.
        """
        generation = getattr(self.pm, "generation", None)
        cached = self._plans.get(name)
        if cached is not None and generation is not None and cached[0] == generation:
            return cached[1], cached[2]
        impls = getattr(self._hook, name).get_hookimpls()
        wrapped = any(impl.hookwrapper or getattr(impl, "wrapper", False) for impl in impls)
        plan = [(impl.function, tuple(impl.argnames), impl.plugin_name) for impl in reversed(impls)]
        self._plans[name] = (generation, plan, wrapped)
        return plan, wrapped

    def api_key(self, call: CallInfo) -> Any:
        """The key (or an awaitable of it, for async plugins)."""
        plan, wrapped = self._plan("desam_api_key")
        if wrapped:
            return self._hook.desam_api_key(call=call)
        for function, argnames, _ in plan:  # firstresult: the first answer that is not None
            answer = function(call) if argnames else function()
            if answer is not None:
                return answer
        return None

    def metadata(self, call: CallInfo) -> list[tuple[str, str]]:
        """Every plugin's metadata pairs, in one list."""
        plan, wrapped = self._plan("desam_call_metadata")
        if wrapped:
            answers = self._hook.desam_call_metadata(call=call)
        else:
            answers = [function(call) if argnames else function() for function, argnames, _ in plan]
        pairs: list[tuple[str, str]] = []
        for answer in answers:
            if answer:
                pairs.extend(answer.items() if isinstance(answer, Mapping) else answer)
        return pairs

    def retry_delay(self, call: CallInfo, error: DeSAMError, policy: RetryPolicy) -> float | None:
        """Seconds to wait before retrying, or None to give up."""
        answer = self._hook.desam_retry_delay(call=call, error=error, policy=policy)
        if answer is None or answer is False:
            return None
        if answer is True:
            return 0.0
        if isinstance(answer, (int, float)) and math.isfinite(answer) and answer >= 0:
            return float(answer)
        raise ConfigurationError(
            f"plugins: desam_retry_delay answered {answer!r}; expected a number of "
            "seconds >= 0, True, False or None",
            argument="plugins",
        )

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
        # Each observer runs on its own, in pluggy's order, so one failing plugin neither
        # breaks the call nor silences the plugins after it.
        for function, argnames, plugin_name in self._plan(name)[0]:
            try:
                function(*[kwargs[arg] for arg in argnames])
            except Exception as error:
                _report_plugin_error(name, plugin_name, error)


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
        raise ConfigurationError(
            f"transport: unknown transport {name!r} (known: {known})", argument="transport"
        ) from None


def is_awaitable(value: Any) -> bool:
    """Whether a hook answered with something to await."""
    return type(value) is not str and inspect.isawaitable(value)  # a key, the usual answer: no checks


def _report_plugin_error(hook: str, plugin: str, error: Exception) -> None:
    """Through structlog when the application configured it, else through the standard logging."""
    import structlog  # here, not at the top: importing it costs ~20 ms, a plugin error is rare

    text = f"{type(error).__name__}: {error}"
    if structlog.is_configured():
        structlog.get_logger("desam_client").warning(
            "desam.plugin_error", hook=hook, plugin=plugin, error=text
        )
    else:
        _stdlib_log.warning("DeSAM plugin %s failed in %s: %s", plugin, hook, text)
