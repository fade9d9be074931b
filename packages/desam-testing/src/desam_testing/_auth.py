"""API keys: who is calling, and which jobs they may see."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import grpc

from ._errors import ErrorCode, ReplyError, RpcAbort
from ._store import JobRecord

__all__ = ["Authenticator", "Caller"]


@dataclass(frozen=True)
class Caller:
    """The owner of a valid API key.

    Attributes:
        key: The API key (never put it in a message).
        user: The user the key belongs to.
        admin: Whether the key sees every user's jobs.
    """

    key: str = field(repr=False)
    user: str
    admin: bool = False

    def may_see(self, record: JobRecord) -> bool:
        """Whether this caller may see or touch a job."""
        return self.admin or record.owner == self.user


class Authenticator:
    """Maps API keys to callers.

    Args:
        api_keys: Key to user.
        admin_keys: Keys (also in ``api_keys``) that see every job.
        via_status: Refuse a bad key with the gRPC status UNAUTHENTICATED instead of
            an ``INVALID_API_KEY`` reply.
    """

    def __init__(self, api_keys: Mapping[str, str], admin_keys: Iterable[str], *, via_status: bool) -> None:
        self._users = dict(api_keys)
        self._admins = frozenset(admin_keys)
        unknown = self._admins - self._users.keys()
        if unknown:
            raise ValueError(
                f"{len(unknown)} admin key(s) are not in api_keys; map every admin key to a user"
            )
        if not all(self._users):
            raise ValueError("an API key cannot be empty")
        self._via_status = via_status
        # Callers are immutable: made once per key, not once per call.
        self._callers = {
            key: Caller(key=key, user=user, admin=key in self._admins) for key, user in self._users.items()
        }

    def users(self) -> list[str]:
        """Return the distinct user names, in key order."""
        return list(dict.fromkeys(self._users.values()))

    def user_of(self, api_key: str) -> str:
        """Return the user of a key (:class:`KeyError` if unknown)."""
        return self._users[api_key]

    def authenticate(self, api_key: str) -> Caller:
        """Return the caller of a key, or refuse the call.

        Raises:
            ReplyError: INVALID_API_KEY (or :class:`RpcAbort` UNAUTHENTICATED with ``via_status``).
        """
        caller = self._callers.get(api_key) if api_key else None
        if caller is None:
            message = "missing API key" if not api_key else "invalid API key"
            if self._via_status:
                raise RpcAbort(grpc.StatusCode.UNAUTHENTICATED, message)
            raise ReplyError(ErrorCode.INVALID_API_KEY, message)
        return caller
