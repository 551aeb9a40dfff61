"""The error tree (mlopslab.core.errors): every error survives the trip from the
service to a client as its own type, with its message, hint and exit code."""

from __future__ import annotations

import inspect

import pytest

from mlopslab.core import errors
from mlopslab.core.errors import FilterError, MlopslabError, error_from_dict

DEFINED = sorted(
    (cls for _, cls in inspect.getmembers(errors, inspect.isclass)
     if issubclass(cls, MlopslabError) and cls.__module__ == errors.__name__),
    key=lambda cls: cls.__name__,
)


@pytest.mark.parametrize("cls", DEFINED, ids=[cls.__name__ for cls in DEFINED])
def test_each_error_round_trips_as_its_own_type(cls: type[MlopslabError]) -> None:
    sent = cls("what went wrong", "what to do instead")
    back = error_from_dict(sent.to_dict())
    assert type(back) is cls
    assert (back.message, back.hint, back.exit_code) == ("what went wrong", "what to do instead", cls.exit_code)


def test_the_errors_that_were_defined_elsewhere_are_in_the_tree() -> None:
    names = {cls.__name__ for cls in DEFINED}
    assert {"FilterError", "RefError", "RegistryError", "PromotionRefused", "ModelError"} <= names


def test_an_unknown_type_arrives_as_the_base_with_its_exit_code() -> None:
    back = error_from_dict({"type": "SomethingNewer", "message": "m", "hint": None, "exit_code": 9})
    assert type(back) is MlopslabError and back.exit_code == 9


def test_a_filter_error_is_still_a_value_error_and_shows_its_hint() -> None:
    error = FilterError("unknown field 'acc'", "did you mean metrics.acc?", position=0, expression="acc > 1")
    assert isinstance(error, ValueError) and error.exit_code == 2
    assert str(error) == "unknown field 'acc'\nhint: did you mean metrics.acc?"
