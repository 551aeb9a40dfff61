"""What `mlopslab drift DEPLOYMENT` answers: the deployment's reference, its latest
window's scores per feature, the history of its last windows, and the decision.
The statistics are core/drift.py's (their values core/drift_policy.py's); the lab
service fills these (service/drift_ops.py). Times are UTC (aware)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mlopslab.core.drift_policy import DriftPolicy, FeatureScore


@dataclass(frozen=True)
class DriftReference:
    """The training data profile a model version's served inputs are compared with."""

    model_version_id: str
    source: str  # where the rows were read: the training data, or why not
    rows: int
    features: list[str]
    kinds: list[str]  # numeric or categorical, per feature
    problem: str | None  # why there is no profile (then no drift is checked)
    created_at: datetime


@dataclass(frozen=True)
class DriftWindow:
    """One window of served rows compared with the reference."""

    index: int  # per deployment version, from 0
    version: str
    first_row: int
    rows: int
    checked_at: datetime
    drifted: bool
    drifted_features: list[str]
    features: list[FeatureScore]


@dataclass(frozen=True)
class DriftReview:
    """A review item: recorded when a deployment starts drifting (no retraining is started)."""

    id: str
    deployment: str
    version: str
    opened_at: datetime
    features: list[str]
    message: str


@dataclass(frozen=True)
class DriftReport:
    """One deployment's drift: its active version's windows against its reference."""

    deployment: str
    version: str | None  # the active version
    model_version_id: str | None
    status: str  # drifting, stable, collecting (no whole window yet), no reference
    drifting: bool
    message: str
    policy: DriftPolicy
    reference: DriftReference | None
    rows_collected: int  # sampled rows of this version in the store
    rows_dropped: int  # rows the servers sampled that were overwritten before they were read
    latest: DriftWindow | None
    history: list[DriftWindow]  # newest first, without their per-feature scores
    reviews: list[DriftReview]  # newest first
