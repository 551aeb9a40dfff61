"""Drift's policy and the values its statistics give (core/drift.py computes them): a
feature's reference and score, and the decision over a deployment's last windows. No
numpy here, so the client and the CLI read drift reports without loading it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

NUMERIC, CATEGORICAL = "numeric", "categorical"
MIN_EXPECTED = 5.0  # a category expected fewer times in a window is pooled with the others


@dataclass(frozen=True)
class DriftPolicy:
    """How windows are made and judged (from `[drift]` in mlopslab.toml)."""

    window_rows: int = 1000
    alpha: float = 0.01
    correction: str = "bh"  # bh (Benjamini-Hochberg) or bonferroni
    k: int = 3
    n: int = 5
    psi_bins: int = 10
    fine_bins: int = 100
    max_categories: int = 20


@dataclass(frozen=True)
class FeatureReference:
    """One feature of the training data, as drift compares with it."""

    name: str
    index: int  # its column in the served input
    kind: str  # numeric or categorical
    rows: int
    counts: list[int]  # numeric: per fine bin (below, fine_bins, above); categorical: per category
    lo: float = 0.0  # numeric: the fine bins span [lo, lo + fine_bins / scale)
    scale: float = 0.0  # fine bins per unit
    groups: list[int] | None = None  # numeric: the first fine bin of each PSI bin
    shift: float | None = None  # numeric and skewed: binned as ln(1 + max(value - shift, 0))
    categories: list[float] | None = None  # categorical: the values, in the order of counts

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> FeatureReference:
        return cls(**data)


@dataclass(frozen=True)
class FeatureScore:
    """One feature in one window: its statistics, the thresholds they were judged by,
    and whether it drifted."""

    feature: str
    kind: str
    psi: float | None = None
    psi_threshold: float | None = None
    psi_p: float | None = None
    ks: float | None = None  # the KS statistic D
    ks_threshold: float | None = None  # the D that would have drifted
    ks_p: float | None = None
    chi2: float | None = None
    chi2_threshold: float | None = None
    chi2_p: float | None = None
    p_threshold: float = 0.0  # the corrected level the p-values were held to
    drifted: bool = False

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> FeatureScore:
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# the deployment -----------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """Whether a deployment drifts: `drifted` of its last `windows` windows did (newest
    last), and how often each feature drifted in them."""

    drifting: bool
    drifted: int
    windows: int
    features: dict[str, int]  # feature -> windows it drifted in, most first

    def message(self, deployment: str, policy: DriftPolicy) -> str:
        named = ", ".join(f"{f} ({c}/{self.windows})" for f, c in self.features.items())
        return (f"deployment {deployment}: inputs drift from the training data in {self.drifted} of "
                f"the last {self.windows} windows of {policy.window_rows} rows (alert at "
                f"{policy.k} of {policy.n}): {named or 'no single feature'}")


def decide(windows: Sequence[Sequence[FeatureScore]], policy: DriftPolicy) -> Decision:
    """k of the last n windows (each its features' scores, oldest first) drifted?"""
    last = list(windows)[-policy.n:]
    drifted = [w for w in last if any(f.drifted for f in w)]
    counts: dict[str, int] = {}
    for w in drifted:
        for f in w:
            if f.drifted:
                counts[f.feature] = counts.get(f.feature, 0) + 1
    ordered = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return Decision(len(drifted) >= policy.k, len(drifted), len(last), ordered)
