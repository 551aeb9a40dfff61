"""The drift statistics (core/drift.py): shifted inputs drift, noise does not.

Windows of rows drawn from the training distribution itself must raise window-level
false alarms at about alpha (the correction across 30 features x 2 tests holds), and
no k-of-n alarm; shifted windows drift, and the drifting features are named.
"""

from __future__ import annotations

import numpy as np
import pytest

from mlopslab.core.drift import (
    CATEGORICAL,
    NUMERIC,
    DriftPolicy,
    FeatureScore,
    check_windows,
    corrected_levels,
    counts_of,
    decide,
    profile,
)

FEATURES = 30
TRAIN_ROWS = 50_000


def draw(rng: np.random.Generator, rows: int, shift: float = 0.0, shifted: int = FEATURES) -> np.ndarray:
    """Normal, lognormal (skewed) and categorical (6 values) features; the first `shifted`
    of them moved by `shift` (a categorical one: a share `shift` of its rows take a value
    one up)."""
    columns = []
    for i in range(FEATURES):
        s = shift if i < shifted else 0.0
        if i % 5 == 4:
            columns.append(rng.integers(0, 6, rows) + (rng.random(rows) < s))
        elif i % 5 == 3:
            columns.append(rng.lognormal(0.0, 1.0, rows) + s)
        else:
            columns.append(rng.normal(0.0, 1.0, rows) + s)
    return np.column_stack(columns).astype(np.float64)


@pytest.fixture(scope="module")
def reference() -> list:
    rng = np.random.default_rng(7)
    train = draw(rng, TRAIN_ROWS)
    return profile({f"x{i}": train[:, i] for i in range(FEATURES)}, DriftPolicy())


def windows_of(reference: list, rng: np.random.Generator, count: int, rows: int, **shift: float) -> np.ndarray:
    return np.concatenate([counts_of(reference, draw(rng, rows, **shift)) for _ in range(count)])


def test_the_profile_tells_numeric_from_categorical_and_bins_by_mass(reference: list) -> None:
    assert [r.kind for r in reference[:5]] == [NUMERIC] * 4 + [CATEGORICAL]
    assert reference[4].categories == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    for r in (reference[0], reference[3]):  # normal and skewed: ten PSI bins of about 10% each
        counts = np.add.reduceat(np.asarray(r.counts), r.groups)
        assert len(counts) == 10
        assert np.all(np.abs(counts / r.rows - 0.1) < 0.03), counts / r.rows
        assert sum(r.counts) == TRAIN_ROWS


def test_shifted_windows_drift_and_name_their_features(reference: list) -> None:
    rng = np.random.default_rng(11)
    policy = DriftPolicy()
    counts = windows_of(reference, rng, 5, 1000, shift=0.25, shifted=3)
    scored = check_windows(reference, counts, policy)
    assert all(any(f.drifted for f in w) for w in scored)
    for w in scored:
        assert {f.feature for f in w if f.drifted} >= {"x0", "x1"}
        assert not {f.feature for f in w if f.drifted} - {"x0", "x1", "x2"}  # only the shifted ones
        x0 = w[0]
        assert x0.ks is not None and x0.ks_threshold is not None and x0.ks > x0.ks_threshold
        assert x0.psi is not None and x0.psi_threshold is not None and x0.psi > x0.psi_threshold
    decision = decide(scored, policy)
    assert decision.drifting and decision.drifted == 5
    assert list(decision.features)[:2] == ["x0", "x1"]
    assert "x0 (5/5)" in decision.message("web", policy)


def test_a_shifted_category_drifts_by_chi_square(reference: list) -> None:
    rng = np.random.default_rng(12)
    counts = counts_of(reference, draw(rng, 1000, shift=0.3, shifted=5))
    x4 = check_windows(reference, counts, DriftPolicy())[0][4]
    assert x4.kind == CATEGORICAL and x4.drifted
    assert x4.chi2 is not None and x4.chi2_threshold is not None and x4.chi2 > x4.chi2_threshold
    assert x4.psi is None and x4.ks is None


@pytest.mark.parametrize("correction", ["bh", "bonferroni"])
def test_unshifted_windows_false_alarm_near_alpha_and_never_k_of_n(reference: list, correction: str) -> None:
    """400 windows of 1,000 unshifted rows at alpha 0.05: the window-level false alarm
    rate is alpha (binomial: 20 +- 4.4 expected; the KS on bins is slightly conservative);
    at the default alpha (0.01), 200 windows raise no k-of-n (3 of 5) alarm."""
    rng = np.random.default_rng(2026)
    counts = windows_of(reference, rng, 400, 1000)
    loose = check_windows(reference, counts, DriftPolicy(alpha=0.05, correction=correction))
    rate = sum(any(f.drifted for f in w) for w in loose) / len(loose)
    print(f"{correction}: window false alarm rate {rate:.4f} at alpha 0.05 over 400 windows")
    assert 0.02 <= rate <= 0.08

    policy = DriftPolicy(correction=correction)
    scored = check_windows(reference, counts[:200], policy)
    window_alarms = sum(any(f.drifted for f in w) for w in scored)
    alarms = sum(decide(scored[: i + 1], policy).drifting for i in range(len(scored)))
    print(f"{correction}: {window_alarms} of 200 windows drifted at alpha 0.01; {alarms} k-of-n alarms")
    assert window_alarms <= 8
    assert alarms == 0


def test_p_values_of_one_feature_are_uniform_under_no_drift(reference: list) -> None:
    """The PSI null (chi2 times 1/n + 1/m) and the KS p-values hold on their own, not just
    after the correction: about 10% of windows under p = 0.1."""
    rng = np.random.default_rng(5)
    counts = windows_of(reference, rng, 300, 1000)
    scored = check_windows(reference, counts, DriftPolicy())
    for f in (0, 3):  # normal, skewed
        psi = np.array([w[f].psi_p for w in scored])
        ks = np.array([w[f].ks_p for w in scored])
        assert 0.05 <= np.mean(psi < 0.1) <= 0.16, np.mean(psi < 0.1)
        assert 0.03 <= np.mean(ks < 0.1) <= 0.16, np.mean(ks < 0.1)  # binned: conservative


def test_thresholds_fit_the_window_size(reference: list) -> None:
    rng = np.random.default_rng(3)
    policy = DriftPolicy()
    small = check_windows(reference, counts_of(reference, draw(rng, 200)), policy)[0][0]
    large = check_windows(reference, counts_of(reference, draw(rng, 5000)), policy)[0][0]
    assert small.ks_threshold is not None and large.ks_threshold is not None
    assert small.psi_threshold is not None and large.psi_threshold is not None
    assert small.ks_threshold > 2 * large.ks_threshold
    assert small.psi_threshold > 5 * large.psi_threshold


def test_benjamini_hochberg_and_bonferroni_levels() -> None:
    p = np.array([[0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216]])
    assert corrected_levels(p, 0.05, "bonferroni") == [0.005]
    assert corrected_levels(p, 0.05, "bh") == [pytest.approx(0.01)]  # two rejections: 0.05 * 2/10
    assert corrected_levels(np.array([[0.5, 0.9]]), 0.05, "bh") == [0.025]


def test_k_of_n() -> None:
    policy = DriftPolicy(k=2, n=3)
    yes, no = [FeatureScore("a", NUMERIC, drifted=True)], [FeatureScore("a", NUMERIC)]
    assert not decide([yes, no, no], policy).drifting
    assert decide([no, yes, no, yes], policy).drifting
    assert not decide([yes, yes, no, no, no], policy).drifting  # only the last n count
