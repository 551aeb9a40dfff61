"""References to things in a lab, as users type them.

    model:churn@3          version 3 of model churn   (also churn@3)
    model:churn:champion   the version an alias points at (also churn:champion)
    model:churn@latest     the newest version          (churn alone means the same)
    run:250101-120000-ab12 a run (any unambiguous prefix or suffix of its id)
    data:sha256:9f2c...    a data version (a prefix of the hash is enough)
    gate:gr-...            a gate report
    deployment:NAME        a deployment

and points in time (`models history --at`): ISO dates and times, `now`, `today`,
`yesterday`, or an age such as `2h`, `3d`, `3d ago`, `1h30m ago`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from mlopslab.core.durations import parse_duration
from mlopslab.core.errors import NotFound, RefError

MODEL_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
ALIAS_NAME = r"[A-Za-z][A-Za-z0-9_-]*"
KINDS = ("model", "run", "data", "gate", "deployment", "decision")
_MODEL_REF = re.compile(rf"^(?P<name>{MODEL_NAME}?)(?:@(?P<version>\d+|latest)|:(?P<alias>{ALIAS_NAME}))?$")


@dataclass(frozen=True)
class ModelRef:
    """A model name with a version number, an alias, or neither (the latest version)."""

    name: str
    version: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.name}@{self.version}"
        return f"{self.name}:{self.alias}" if self.alias else f"{self.name}@latest"


@dataclass(frozen=True)
class Ref:
    """Any node of the lineage graph: `kind` is one of KINDS, `key` its identity."""

    kind: str
    key: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.key}"


def parse_model_ref(text: str) -> ModelRef:
    """`churn@3`, `churn:champion`, `churn@latest`, `churn`, each with an optional `model:`."""
    body = text.strip().removeprefix("model:")
    match = _MODEL_REF.match(body)
    if not match or not match.group("name"):
        raise RefError(f"'{text}' is not a model reference",
                       "write NAME@VERSION, NAME:ALIAS or NAME (e.g. churn@3, churn:champion)")
    version = match.group("version")
    return ModelRef(
        name=match.group("name"),
        version=int(version) if version and version != "latest" else None,
        alias=match.group("alias"),
    )


def parse_ref(text: str) -> Ref | ModelRef:
    """A lineage reference; a model reference comes back as a ModelRef to resolve."""
    text = text.strip()
    kind, sep, key = text.partition(":")
    if sep and kind in KINDS and kind != "model":
        if not key:
            raise RefError(f"'{text}' names no {kind}", f"write {kind}:ID")
        return Ref(kind, key)
    return parse_model_ref(text)


def check_alias(alias: str) -> str:
    """An alias name users may set; `champion` moves only through promotion."""
    if not re.fullmatch(ALIAS_NAME, alias):
        raise RefError(f"'{alias}' is not a valid alias",
                       "start with a letter; letters, digits, '-' and '_' after it")
    return alias


def check_model_name(name: str) -> str:
    if not name:
        raise RefError("no model name given",
                       "pass --name NAME (or declare [model].register_as in the run's recipe)")
    if not re.fullmatch(MODEL_NAME, name):
        raise RefError(f"'{name}' is not a valid model name",
                       "letters, digits, '.', '-' and '_', starting with a letter or digit")
    return name


def no_model(name: str, names: Iterable[str]) -> NotFound:
    """The error for a model name that has no versions, naming the models there are."""
    known = sorted(names)
    hint = (f"the models here: {', '.join(known)}" if known else
            "no models yet: register one with `mlopslab models register RUN_ID --name NAME`")
    return NotFound(f"no model '{name}'", hint)


TIME_FORMS = ("an ISO date or time (2026-03-01, 2026-03-01T12:00, no zone: local time), "
              "now, today, yesterday, or an age: 2h, 3d, 3d ago, 1h30m ago")


def parse_time(text: str, now: datetime) -> datetime:
    """A point in time as users type it, zone-aware; `now` must be zone-aware.

    `today` is local midnight, `yesterday` the same time one day before `now`.
    """
    word = text.strip().lower()
    if word in ("now", "today", "yesterday"):
        local = now.astimezone()
        return {"now": local, "yesterday": local - timedelta(days=1),
                "today": local.replace(hour=0, minute=0, second=0, microsecond=0)}[word]
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        pass
    else:
        return when.astimezone() if when.tzinfo is None else when
    age_text = word.removesuffix("ago").strip()
    try:
        if not age_text[-1:].isalpha():  # a bare number has no unit: 2026 is no age
            raise ValueError(age_text)
        age = parse_duration(age_text)
    except ValueError:
        raise RefError(f"'{text}' is not a time", f"write {TIME_FORMS}") from None
    return now.astimezone() - timedelta(seconds=age)
