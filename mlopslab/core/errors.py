"""The mlopslab exception tree.

    MlopslabError            (exit code 1)
     +-- ConfigError         lab config missing or malformed       (exit 2)
     +-- RecipeError         recipe file, field or override wrong (exit 2)
     +-- RunStateError       a run cannot do that in its status   (exit 2)
     +-- RefError            a run or model reference is malformed (exit 2)
     +-- FilterError         a filter or sort expression is wrong  (exit 2)
     +-- DataValidationError input data violates the recipe schema (exit 3)
     +-- StoreError          the DuckDB store failed               (exit 4)
     +-- ServiceError        the lab service failed                (exit 5)
     |    +-- ServiceUnreachable  ... or could not be reached
     |    +-- ServiceOutdated     ... or speaks another protocol version
     |    +-- UnknownOperation    ... or was asked an operation it lacks
     |    +-- BadRequest          ... or got arguments its operation refuses
     |         +-- EventError     ... or an event it cannot read
     +-- ExecError           Ray or a run process failed to start  (exit 6)
     +-- NotFound            a run, step or key does not exist     (exit 7)
     +-- ResourceError       a request can never fit quota/cluster (exit 8)
     +-- DeployError         a deployment could not be made, changed
                             or rolled back                         (exit 9)
     +-- RegistryError       a model version cannot be registered  (exit 1)
     +-- PromotionRefused    the gates do not allow a promotion    (exit 1)
     +-- ModelError          a model does not load or cannot be fed
                             the holdout data                      (exit 1)

Each carries a one-line message and an optional hint; the CLI prints both and
exits with ``exit_code``. The service sends an error as ``to_dict()`` and the client
rebuilds it with ``error_from_dict``, so it arrives as its own type: every error that
can cross that boundary is defined here.
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


class RefError(MlopslabError):
    """A reference that cannot be parsed (exit 2, like other bad input)."""

    exit_code = 2


class FilterError(MlopslabError, ValueError):
    """A filter or sort expression that cannot be parsed or is ill-typed.

    ``message`` says what is wrong (and, for parse errors, quotes the
    expression with a caret under the offending position); ``hint`` says what
    would be valid.  ``position`` is the 0-based offset into ``expression``
    when known (they stay on this side of the service: the message carries them).
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        hint: str | None = "",
        *,
        position: int | None = None,
        expression: str | None = None,
    ) -> None:
        MlopslabError.__init__(self, message, hint)
        self.position = position
        self.expression = expression

    def __str__(self) -> str:
        return f"{self.message}\nhint: {self.hint}" if self.hint else self.message


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


class EventError(BadRequest):
    """An event this version cannot read: an unknown kind, a missing field."""


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


class RegistryError(MlopslabError):
    """A model version cannot be registered: its model, data or metadata is missing."""


class PromotionRefused(MlopslabError):
    """Promotion was asked for and the gates do not allow it (exit 1, like a failed gate)."""

    exit_code = 1


class ModelError(MlopslabError):
    """A model that does not load or cannot be fed the holdout data."""


def _tree(cls: type[MlopslabError]) -> list[type[MlopslabError]]:
    return [cls, *(sub for child in cls.__subclasses__() for sub in _tree(child))]


_BY_NAME = {cls.__name__: cls for cls in _tree(MlopslabError) if cls.__module__ == __name__}
"""Every error defined here, by name: the ones `error_from_dict` can rebuild."""


def error_from_dict(data: dict[str, Any]) -> MlopslabError:
    """Rebuild an error sent over the service socket."""
    cls = _BY_NAME.get(str(data.get("type")), MlopslabError)
    error = cls(str(data.get("message")), data.get("hint"))
    if isinstance(data.get("exit_code"), int):
        error.exit_code = data["exit_code"]
    return error
