"""Drift of a deployment's inputs from its model's training data: the statistics.

The reference is a profile of the training data (`profile`): per numeric feature the
counts of its values in `fine_bins` equal-width bins between its 0.5% and 99.5%
quantiles (plus one bin below and one above; a right-skewed feature is binned on
ln(1 + value - min)), and the groups of fine bins that make
`psi_bins` bins of about equal reference mass; per categorical feature (integer
values, at most `max_categories` of them) the count of each value. A window of served
rows is binned the same way (in DuckDB: store/drift_queries.py, the same arithmetic as
`fine_bin`), and `check_windows` compares the two, per feature:

- numeric: PSI over the PSI bins, and the two-sample Kolmogorov-Smirnov statistic
  over the fine bins' edges (a lower bound of the exact one: the test is conservative,
  by at most one fine bin's reference mass);
- categorical: the chi-square test of homogeneity of the window's and the
  reference's counts (values the reference never had, and rare ones, pooled).

Each statistic has a p-value under "no drift" for these sizes: KS from Kolmogorov's
distribution with Stephens' correction for n*m/(n+m), chi-square from its own,
and PSI from its null distribution PSI ~ (1/n + 1/m) * chi2(bins - 1) (the
second-order expansion of PSI). All the window's p-values are corrected together
(Benjamini-Hochberg or Bonferroni at `alpha`), so a window of 30 features drifts on
noise with probability about `alpha`, not 30 times that. A deployment drifts only
when `k` of its last `n` windows drifted (`decide`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import special

from mlopslab.core.drift_policy import (  # the policy and the values, here too
    CATEGORICAL,
    MIN_EXPECTED,
    NUMERIC,
    Decision,
    DriftPolicy,
    FeatureReference,
    FeatureScore,
    decide,
)

__all__ = ["CATEGORICAL", "MIN_EXPECTED", "NUMERIC", "Decision", "DriftPolicy", "FeatureReference",
           "FeatureScore", "check_windows", "corrected_levels", "counts_of", "decide", "fine_bin",
           "profile", "psi_groups", "skew_transform", "slots", "tally"]

# the profile --------------------------------------------------------------------


def skew_transform(values: np.ndarray, shift: float | None) -> np.ndarray:
    """A right-skewed feature (amounts, durations) is binned on ln(1 + value - shift), so that
    equal-width fine bins each hold little of it. The SQL of store/drift_queries.py computes
    the same."""
    return values if shift is None else np.log(1.0 + np.maximum(values - shift, 0.0))


def fine_bin(values: np.ndarray, lo: float, scale: float, fine_bins: int,
             shift: float | None = None) -> np.ndarray:
    """Fine bin of each value: 0 below `lo`, 1..fine_bins inside, fine_bins + 1 above (and
    NaN). The SQL of store/drift_queries.py computes the same."""
    raw = np.floor((skew_transform(values, shift) - lo) * scale)
    clipped = np.clip(np.nan_to_num(raw, nan=fine_bins), -1, fine_bins) + 1
    return np.asarray(clipped, dtype=np.int64)


def profile(columns: Mapping[str, np.ndarray], policy: DriftPolicy) -> list[FeatureReference]:
    """The reference of each column (in order: its index is its place in the served input)."""
    return [_feature(name, i, np.asarray(values, dtype=np.float64), policy)
            for i, (name, values) in enumerate(columns.items())]


def _feature(name: str, index: int, values: np.ndarray, policy: DriftPolicy) -> FeatureReference:
    finite = values[np.isfinite(values)]
    distinct = np.unique(finite)
    whole = bool(np.all(distinct == np.round(distinct)))
    if len(distinct) <= 1 or (whole and len(distinct) <= policy.max_categories):
        counts = [int(c) for c in np.unique(finite, return_counts=True)[1]]
        return FeatureReference(name, index, CATEGORICAL, len(values), counts,
                                categories=[float(v) for v in distinct])
    shift = float(distinct[0]) if _skewed(finite) else None
    binned = skew_transform(finite, shift)
    lo, hi = (float(q) for q in np.quantile(binned, [0.005, 0.995]))
    if hi <= lo:
        lo, hi = float(binned.min()), float(binned.max())
    scale = policy.fine_bins / (hi - lo)
    binned_counts = np.bincount(fine_bin(values, lo, scale, policy.fine_bins, shift),
                                minlength=policy.fine_bins + 2)
    return FeatureReference(name, index, NUMERIC, len(values), [int(c) for c in binned_counts], lo,
                            scale, psi_groups(binned_counts, policy.psi_bins), shift)


def _skewed(values: np.ndarray) -> bool:
    """Right-skewed: sample skewness over 1 (a lognormal's is 6, an exponential's 2)."""
    spread = values.std()
    return bool(spread > 0 and np.mean(((values - values.mean()) / spread) ** 3) > 1.0)


def psi_groups(counts: np.ndarray, psi_bins: int) -> list[int]:
    """The first fine bin of each PSI bin: cuts where the reference's cumulative share
    passes 1/psi_bins, 2/psi_bins, ...; every PSI bin holds some reference rows."""
    share = np.cumsum(counts) / max(1, counts.sum())
    starts = [0]
    for j in range(1, psi_bins):
        cut = int(np.searchsorted(share, j / psi_bins, side="left")) + 1
        if cut > starts[-1] and cut < len(counts) and counts[starts[-1]:cut].sum() > 0:
            starts.append(cut)
    if counts[starts[-1]:].sum() == 0 and len(starts) > 1:
        starts.pop()
    return starts


# windows ------------------------------------------------------------------------


def slots(references: Sequence[FeatureReference]) -> int:
    """Width of a window's count matrix: the most fine bins or categories (+ unseen) of any feature."""
    return max([len(r.counts) + (r.kind == CATEGORICAL) for r in references] or [1])


def tally(references: Sequence[FeatureReference], windows: int, window: np.ndarray, feature: np.ndarray,
          key: np.ndarray, count: np.ndarray) -> np.ndarray:
    """The count matrix (windows x features x slots) of long rows (window, feature, key,
    count): a numeric feature's key is its fine bin, a categorical one's the value (one the
    reference never had goes to the last slot of that feature)."""
    out = np.zeros((windows, len(references), slots(references)))
    for f, ref in enumerate(references):
        mine = feature == f
        keys = key[mine]
        if ref.kind == NUMERIC:
            slot = np.clip(keys, 0, len(ref.counts) - 1).astype(np.int64)
        else:
            slot = _category_slots(np.asarray(ref.categories or [], dtype=np.float64), keys)
        np.add.at(out, (window[mine].astype(np.int64), f, slot), count[mine])
    return out


def _category_slots(categories: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Each value's place among the (sorted) categories; len(categories) for another value."""
    if not len(categories):
        return np.zeros(len(values), dtype=np.int64)
    at = np.clip(np.searchsorted(categories, values), 0, len(categories) - 1)
    return np.where(categories[at] == values, at, len(categories))


def counts_of(references: Sequence[FeatureReference], rows: np.ndarray) -> np.ndarray:
    """The count matrix of one window of rows (rows x features) binned in numpy, as
    DuckDB bins them (for tests and small windows)."""
    keys = [fine_bin(rows[:, r.index], r.lo, r.scale, len(r.counts) - 2, r.shift) if r.kind == NUMERIC
            else rows[:, r.index] for r in references]
    n = rows.shape[0]
    return tally(references, 1, np.zeros(n * len(references)), np.repeat(np.arange(len(references)), n),
                 np.concatenate(keys) if keys else np.zeros(0), np.ones(n * len(references)))


def check_windows(references: Sequence[FeatureReference], counts: np.ndarray,
                  policy: DriftPolicy) -> list[list[FeatureScore]]:
    """Score every feature of every window of `counts` (windows x features x slots)."""
    tests = [_numeric(r, counts[:, f, :len(r.counts)]) if r.kind == NUMERIC
             else _categorical(r, counts[:, f, :len(r.counts) + 1]) for f, r in enumerate(references)]
    pvalues = np.column_stack([p for t in tests for p in t["p"].values()]) if tests else np.zeros((len(counts), 0))
    return [[_score(r, t, w, level) for r, t in zip(references, tests, strict=True)]
            for w, level in enumerate(corrected_levels(pvalues, policy.alpha, policy.correction))]


def corrected_levels(pvalues: np.ndarray, alpha: float, correction: str) -> list[float]:
    """Per row of `pvalues` (a window's tests), the p-value at or under which a test
    rejects: alpha/m (Bonferroni), or Benjamini-Hochberg's alpha*i/m for the largest i
    with p_(i) <= alpha*i/m (alpha/m when none is: what the smallest would have needed)."""
    m = pvalues.shape[1]
    if m == 0:
        return [alpha] * pvalues.shape[0]
    if correction == "bonferroni":
        return [alpha / m] * pvalues.shape[0]
    ordered = np.sort(np.nan_to_num(pvalues, nan=1.0), axis=1)
    passing = ordered <= alpha * np.arange(1, m + 1) / m
    largest = np.where(passing.any(axis=1), m - np.argmax(passing[:, ::-1], axis=1), 1)
    return [float(v) for v in alpha * largest / m]


def _ks_scale(en: np.ndarray) -> np.ndarray:
    """Stephens' finite-size factor: P(D > d) ~ Q_KS((sqrt(en) + 0.12 + 0.11 / sqrt(en)) d)."""
    root = np.sqrt(np.maximum(en, 1.0))
    return np.asarray(root + 0.12 + 0.11 / root, dtype=np.float64)


def _numeric(ref: FeatureReference, window: np.ndarray) -> dict[str, Any]:
    reference = np.asarray(ref.counts, dtype=np.float64)
    n, m = window.sum(axis=1), reference.sum()
    safe = np.maximum(n, 1.0)
    starts = ref.groups or [0]
    a = np.add.reduceat(window, starts, axis=1) / safe[:, None]
    e = np.add.reduceat(reference, starts) / m
    a = np.where(a == 0, 0.5 / safe[:, None], a)
    psi = np.sum((a - e) * np.log(a / e), axis=1)
    spread = 1 / safe + 1 / m
    dof = max(1, len(starts) - 1)
    d = np.max(np.abs(np.cumsum(window, axis=1) / safe[:, None] - np.cumsum(reference) / m), axis=1)
    scale = _ks_scale(n * m / (n + m))
    empty = n == 0
    return {"p": {"psi": np.where(empty, 1.0, special.chdtrc(dof, psi / spread)),
                  "ks": np.where(empty, 1.0, np.clip(special.kolmogorov(scale * d), 0.0, 1.0))},
            "psi": psi, "ks": d, "spread": spread, "dof": dof, "scale": scale, "empty": empty}


def _categorical(ref: FeatureReference, window: np.ndarray) -> dict[str, Any]:
    reference = np.asarray([*ref.counts, 0], dtype=np.float64)
    n, m = window.sum(axis=1), reference.sum()
    expected = reference / m * np.maximum(n, 1.0)[:, None]
    rare = expected < MIN_EXPECTED
    rare[:, -1] = True  # values the reference never had are pooled with its rare ones
    obs = np.column_stack([np.where(rare, 0, window), np.where(rare, window, 0).sum(axis=1)])
    ref_row = np.column_stack([np.where(rare, 0, reference), np.where(rare, reference, 0).sum(axis=1)])
    total = n[:, None] + m
    cols = obs + ref_row
    used = cols > 0
    dof = np.maximum(used.sum(axis=1) - 1, 0)
    statistic = np.zeros(len(n))
    for row, col_sum, side in ((obs, cols, n), (ref_row, cols, np.full(len(n), m))):
        exp = np.where(used, col_sum * side[:, None] / np.maximum(total, 1.0), 1.0)
        statistic += np.where(used, (row - exp) ** 2 / exp, 0.0).sum(axis=1)
    p = np.where((dof > 0) & (n > 0), special.chdtrc(np.maximum(dof, 1), statistic), 1.0)
    return {"p": {"chi2": p}, "chi2": statistic, "dof": dof, "empty": n == 0}


def _score(ref: FeatureReference, t: dict[str, Any], w: int, level: float) -> FeatureScore:
    if t["empty"][w]:
        return FeatureScore(ref.name, ref.kind, p_threshold=level)
    drifted = any(float(p[w]) <= level for p in t["p"].values())
    if ref.kind == CATEGORICAL:
        dof = int(t["dof"][w])
        return FeatureScore(ref.name, ref.kind, chi2=_round(t["chi2"][w]),
                            chi2_threshold=_round(special.chdtri(dof, level)) if dof else None,
                            chi2_p=float(t["p"]["chi2"][w]), p_threshold=level, drifted=drifted)
    return FeatureScore(
        ref.name, ref.kind, psi=_round(t["psi"][w]),
        psi_threshold=_round(special.chdtri(t["dof"], level) * t["spread"][w]),
        psi_p=float(t["p"]["psi"][w]), ks=_round(t["ks"][w]),
        ks_threshold=_round(special.kolmogi(level) / t["scale"][w]), ks_p=float(t["p"]["ks"][w]),
        p_threshold=level, drifted=drifted)


def _round(value: Any) -> float | None:
    number = float(value)
    return round(number, 6) if math.isfinite(number) else None
