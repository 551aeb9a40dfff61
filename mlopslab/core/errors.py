"""The mlopslab exception tree.

    MlopslabError            (exit code 1)
     +-- ConfigError         lab config missing or malformed       (exit 2)
     +-- RecipeError         recipe file, field or override wrong (exit 2)
     +-- RunStateError       a run cannot do that in its status   (exit 2)
     +-- DataValidationError input data violates the recipe schema (exit 3)
     +-- StoreError          the DuckDB store failed               (exit 4)
     +-- ServiceError        the lab service failed                (exit 5)
     |    +-- ServiceUnreachable  ... or could not be reached
     |    +-- ServiceOutdated     ... or speaks another protocol version
     |    +-- UnknownOperation    ... or was asked an operation it lacks
     |    +-- BadRequest          ... or got arguments its operation refuses
     +-- ExecError           Ray or a run process failed to start  (exit 6)
     +-- NotFound            a run, step or key does not exist     (exit 7)
     +-- ResourceError       a request can never fit quota/cluster (exit 8)
     +-- DeployError         a deployment could not be made, changed
                             or rolled back                         (exit 9)

Each carries a one-line message and an optional hint; the CLI prints both and
exits with ``exit_code``.
"""

from __future__ import annotations

from typing import Any


class MlopslabError(Exception):
    """Base of every error mlopslab raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def to_dict(self) -> dict[str, str | int | None]:
        return {"type": type(self).__name__, "message": self.message, "hint": self.hint,
                "exit_code": self.exit_code}


class ConfigError(MlopslabError):
    exit_code = 2


class RecipeError(MlopslabError):
    exit_code = 2


class RunStateError(MlopslabError):
    """A request a run cannot take in its status (resuming a finished run, say)."""

    exit_code = 2


class DataValidationError(MlopslabError):
    exit_code = 3


class StoreError(MlopslabError):
    exit_code = 4


class ServiceError(MlopslabError):
    exit_code = 5


class ServiceUnreachable(ServiceError):
    """The service could not be reached (not: it answered with an error)."""


class ServiceOutdated(ServiceError):
    """The service speaks another protocol version (an older or newer mlopslab)."""


class UnknownOperation(ServiceError):
    """A request named an operation the service does not have."""


class BadRequest(ServiceError):
    """A request's arguments do not match its operation's request type."""


class ExecError(MlopslabError):
    exit_code = 6


class NotFound(MlopslabError):
    exit_code = 7


class ResourceError(MlopslabError):
    """A run asks for more than its quota or the cluster can ever give."""

    exit_code = 8


class DeployError(MlopslabError):
    """A deployment could not be made, changed or rolled back."""

    exit_code = 9


_BY_NAME = {
    cls.__name__: cls
    for cls in (
        MlopslabError,
        ConfigError,
        RecipeError,
        RunStateError,
        DataValidationError,
        StoreError,
        ServiceError,
        ServiceUnreachable,
        ServiceOutdated,
        UnknownOperation,
        BadRequest,
        ExecError,
        NotFound,
        ResourceError,
        DeployError,
    )
}


def error_from_dict(data: dict[str, Any]) -> MlopslabError:
    """Rebuild an error sent over the service socket."""
    cls = _BY_NAME.get(str(data.get("type")), MlopslabError)
    error = cls(str(data.get("message")), data.get("hint"))
    if isinstance(data.get("exit_code"), int):
        error.exit_code = data["exit_code"]
    return error
