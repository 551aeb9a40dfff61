"""Operations of drift: a deployment's inputs against its model's training data."""

from __future__ import annotations

from pydantic import Field

from mlopslab.api.operation import Request, read
from mlopslab.core.drift_reports import DriftReport


class DriftOf(Request):
    name: str  # a deployment
    windows: int = Field(20, ge=1, le=1000)  # how many of the last windows to list


DRIFT = read("drift", DriftOf, DriftReport,
             "A deployment's drift: per feature its scores in the latest window (PSI, KS, "
             "chi-square), the thresholds they were held to, the last windows and the decision.")

OPERATIONS = (DRIFT,)
