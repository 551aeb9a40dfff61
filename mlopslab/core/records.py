"""Records: the fixed-shape JSON documents kept inside a registry row (a version's
feature schema and `info`, a gate report's `info`), as typed values.

A record is a frozen dataclass (pydantic's, so that the wire and `--json` write it by
the same rules) with two rules for its JSON form, so that the documents are the ones
the store has always held:

- a field named in `sparse` is left out while it is None (a run's version has no
  `file`; a report made before evaluation sets has no `evaluation`), and `keys` gives
  a field the JSON key it cannot have as a Python name (`from`);
- `from_stored` reads leniently: a document written by an older or newer mlopslab may
  lack keys (they read as their defaults) or hold keys this one does not know (they
  are ignored), and a value that does not fit is dropped instead of refusing the row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self, cast

from pydantic import SerializerFunctionWrapHandler, TypeAdapter, ValidationError, model_serializer, model_validator
from pydantic.dataclasses import dataclass


@dataclass(frozen=True)
class Record:
    """The base of every record; see the module's docstring."""

    sparse: ClassVar[frozenset[str]] = frozenset()
    keys: ClassVar[Mapping[str, str]] = {}  # field name -> its JSON key, where they differ

    @model_validator(mode="before")
    @classmethod
    def _named(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and cls.keys:
            names = {key: name for name, key in cls.keys.items()}
            return {names.get(k, k): v for k, v in data.items()}
        return data

    @model_serializer(mode="wrap")
    def _keyed(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        fields: dict[str, Any] = handler(self)
        absent = self.absent()
        return {self.keys.get(k, k): v for k, v in fields.items() if k not in absent}

    def absent(self) -> set[str]:
        """The fields its JSON leaves out."""
        return {name for name in self.sparse if getattr(self, name) is None}

    @classmethod
    def from_stored(cls, document: object) -> Self:
        """The record a stored JSON document holds (None, or what is no object: every
        default; a field without a default must be there)."""
        given = dict(document) if isinstance(document, Mapping) else {}
        try:
            return cast(Self, _adapter(cls).validate_python(given))
        except ValidationError as e:
            bad = {str(error["loc"][0]) for error in e.errors() if error["loc"]}
            bad |= {cls.keys.get(name, name) for name in bad}
            kept = {k: v for k, v in given.items() if k not in bad}
            return cast(Self, _adapter(cls).validate_python(kept))

    def to_stored(self) -> dict[str, Any]:
        """The JSON document it is stored as (and carried as in events)."""
        document: dict[str, Any] = _adapter(type(self)).dump_python(self)
        return document


_ADAPTERS: dict[type[Record], TypeAdapter[Any]] = {}


def _adapter(cls: type[Record]) -> TypeAdapter[Any]:
    if cls not in _ADAPTERS:
        _ADAPTERS[cls] = TypeAdapter(cls)
    return _ADAPTERS[cls]
