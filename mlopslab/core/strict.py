"""The base of the parsed spec models (recipes, gates): unknown keys are refused, so a
typo in a file is an error instead of a silently ignored setting, and a parsed value
cannot change."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """A frozen pydantic model that refuses fields it does not declare."""

    model_config = ConfigDict(extra="forbid", frozen=True)
