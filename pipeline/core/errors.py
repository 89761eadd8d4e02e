"""The exception hierarchy; the CLI maps these to exit codes and one-line messages."""

from __future__ import annotations

from typing import Any


class NewsauditError(Exception):
    """Base class: every error newsaudit raises on purpose.

    A failure during a stage carries what the article had cost until then: ``stage`` names
    the stage that failed and ``spent`` holds each stage's metrics (``StageMetrics``),
    including the calls, retries and tokens the failed stage used.
    """

    exit_code = 1
    stage: str | None = None
    spent: list[Any] = []  # noqa: RUF012 - replaced per instance, never mutated


class InputError(NewsauditError):
    """The input cannot be read or holds no article; the message names the input and the problem."""

    exit_code = 2


class ConfigError(NewsauditError):
    """The configuration is invalid or a required secret is missing."""

    exit_code = 3


class ProviderError(NewsauditError):
    """The model provider failed (unreachable, rate limited, 5xx) after every retry."""

    exit_code = 4


class ValidationFailure(NewsauditError):
    """The model's output failed validation after every re-ask and could not be salvaged."""

    exit_code = 5


class SetupError(NewsauditError):
    """Installing or starting the embedded model failed."""

    exit_code = 6


class LockedError(NewsauditError):
    """Another process holds the lock on what this one would write (a batch's output folder,
    a database file): refused at once, or after waiting ``waited_s`` seconds. ``pid``,
    ``host`` and ``since`` (ISO 8601, UTC) name the holder when its lock file says (else
    None)."""

    exit_code = 8

    def __init__(
        self,
        message: str,
        *,
        path: str,
        pid: int | None = None,
        host: str | None = None,
        since: str | None = None,
        waited_s: float = 0.0,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.pid = pid
        self.host = host
        self.since = since
        self.waited_s = waited_s
