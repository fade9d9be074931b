"""What the sync and the asyncio client share: settings, plugins and per-call options. No I/O."""

from __future__ import annotations

import enum
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from desam_client import config as config_mod
from desam_client._pipeline.retry import NO_RETRY, RetryPolicy
from desam_client._pipeline.runner import CallOptions, PipelineCore
from desam_client.config import ClientConfig
from desam_client.exceptions import ConfigurationError
from desam_client.plugins.manager import Hooks, build_manager, default_plugins, transport_factory

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider


class _Default(enum.Enum):
    DEFAULT = "DEFAULT"

    def __repr__(self) -> str:
        return "DEFAULT"


#: Sentinel for per-call ``call_timeout=`` and ``retry=``: "use the client's setting".
#: Distinct from None, which means "no deadline" / "no retries".
DEFAULT = _Default.DEFAULT

TimeoutArg = float | None | _Default
RetryArg = RetryPolicy | None | _Default


class ClientBase:
    """Configuration, plugins and option handling shared by both clients."""

    _transport_kind: str
    """The name of the transport used when none is given."""
    _runner_class: Any
    """SyncRunner or AsyncRunner: how this client runs its flows."""
    _runner: Any

    def __init__(
        self,
        host: str | None = None,
        port: int | None = None,
        api_key: str | None = None,
        cert_path: str | os.PathLike[str] | None = None,
        timeout: float = 30.0,
        *,
        target: str | None = None,
        tls: bool | None = None,
        client_cert_path: str | os.PathLike[str] | None = None,
        client_key_path: str | os.PathLike[str] | None = None,
        server_name: str | None = None,
        allow_insecure: bool = False,
        channel_options: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        load_balancing: str | None = None,
        retry: RetryArg = DEFAULT,
        plugins: Iterable[object] = (),
        load_entrypoint_plugins: bool = True,
        transport: str | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self._config: ClientConfig = config_mod.resolve(
            host=host,
            port=port,
            api_key=api_key,
            cert_path=cert_path,
            timeout=timeout,
            target=target,
            tls=tls,
            client_cert_path=client_cert_path,
            client_key_path=client_key_path,
            server_name=server_name,
            allow_insecure=allow_insecure,
            channel_options=channel_options,
            retry=_client_retry(retry),
            load_balancing=load_balancing,
        )
        if isinstance(plugins, (str, bytes)) or not isinstance(plugins, Iterable):
            raise ConfigurationError("plugins: must be a list of plugin objects", argument="plugins")
        builtin = default_plugins(self._config.api_key, tracer_provider=tracer_provider)
        self._plugin_manager = build_manager(builtin, list(plugins), autoload=load_entrypoint_plugins)
        self._core = PipelineCore(self._config, Hooks(self._plugin_manager))
        name = transport or self._transport_kind
        self._transport = transport_factory(self._plugin_manager, name)(self._config)
        want_async = self._transport_kind == "grpc-asyncio"
        if bool(getattr(self._transport, "is_async", False)) != want_async:
            kind = "an asyncio" if want_async else "a blocking"
            raise ConfigurationError(f"transport: {name!r} is not {kind} transport", argument="transport")
        self._runner = self._runner_class(self._core, self._transport)

    @property
    def config(self) -> ClientConfig:
        """The resolved settings (the API key is never shown in its repr)."""
        return self._config

    @property
    def plugin_manager(self) -> Any:
        """The client's pluggy ``PluginManager`` (to inspect or add plugins)."""
        return self._plugin_manager

    @property
    def closed(self) -> bool:
        """True once ``close()`` was called."""
        return self._core.closed

    def _options(self, call_timeout: TimeoutArg, retry: RetryArg) -> CallOptions:
        timeout = self._config.timeout if call_timeout is DEFAULT else call_timeout
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0
        ):
            raise ConfigurationError(
                f"call_timeout: must be a positive number of seconds or None, got {timeout!r}",
                argument="call_timeout",
            )
        if retry is DEFAULT:
            policy = self._config.retry
        elif retry is None:
            policy = NO_RETRY
        elif isinstance(retry, RetryPolicy):
            policy = retry
        else:
            raise ConfigurationError(
                f"retry: must be a RetryPolicy, None or DEFAULT, got {retry!r}", argument="retry"
            )
        return CallOptions(None if timeout is None else float(timeout), policy)

    def __repr__(self) -> str:
        state = ", closed" if self.closed else ""
        return f"{type(self).__name__}(target={self._config.target!r}, security={self._config.security!r}{state})"


def _client_retry(retry: RetryArg) -> RetryPolicy:
    if retry is DEFAULT:
        return RetryPolicy()
    if retry is None:
        return NO_RETRY
    if isinstance(retry, RetryPolicy):
        return retry
    raise ConfigurationError(f"retry: must be a RetryPolicy or None, got {retry!r}", argument="retry")
