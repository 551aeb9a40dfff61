"""References to things in a lab, as users type them.

    model:churn@3          version 3 of model churn   (also churn@3)
    model:churn:champion   the version an alias points at (also churn:champion)
    model:churn@latest     the newest version          (churn alone means the same)
    run:250101-120000-ab12 a run (any unambiguous prefix or suffix of its id)
    data:sha256:9f2c...    a data version (a prefix of the hash is enough)
    gate:gr-...            a gate report
    deployment:NAME        a deployment
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlopslab.core.errors import MlopslabError

MODEL_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
ALIAS_NAME = r"[A-Za-z][A-Za-z0-9_-]*"
KINDS = ("model", "run", "data", "gate", "deployment")
_MODEL_REF = re.compile(rf"^(?P<name>{MODEL_NAME}?)(?:@(?P<version>\d+|latest)|:(?P<alias>{ALIAS_NAME}))?$")


class RefError(MlopslabError):
    """A reference that cannot be parsed (exit 2, like other bad input)."""

    exit_code = 2


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
    if not re.fullmatch(MODEL_NAME, name):
        raise RefError(f"'{name}' is not a valid model name",
                       "letters, digits, '.', '-' and '_', starting with a letter or digit")
    return name
