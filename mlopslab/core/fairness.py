"""Group fairness metrics over a sensitive attribute (plain numpy).

For a classifier's labels on holdout rows, with each row's group:

- ``demographic_parity_difference``: largest gap between groups in the rate of
  positive predictions;
- ``equalized_odds_difference``: the larger of the largest gaps in true-positive
  rate and in false-positive rate;
- ``accuracy_difference``: largest gap in per-group accuracy;
- ``min_group_accuracy``: accuracy of the worst-served group;
- ``accuracy_group_<G>``, ``selection_rate_group_<G>``: per group, for the report.

The positive class is the larger label of a binary problem (1 of 0/1); for more
classes only the accuracy metrics are defined.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported where it is used: the gates read METRICS without it
    import numpy as np

DIFFERENCES = ("demographic_parity_difference", "equalized_odds_difference", "accuracy_difference")
MINIMUMS = ("min_group_accuracy",)
METRICS = (*DIFFERENCES, *MINIMUMS)


def group_metrics(y: np.ndarray, labels: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    import numpy as np

    names = sorted({str(g) for g in groups.tolist()})
    groups = np.asarray([str(g) for g in groups.tolist()])
    out: dict[str, float] = {}
    accuracy = {g: _mean(labels[groups == g] == y[groups == g]) for g in names}
    out.update({f"accuracy_group_{g}": a for g, a in accuracy.items()})
    out["accuracy_difference"] = _gap(accuracy.values())
    out["min_group_accuracy"] = min(accuracy.values(), default=float("nan"))
    classes = np.unique(y)
    if len(classes) <= 2:
        positive = classes.max() if len(classes) else 1
        selection, tpr, fpr = {}, {}, {}
        for g in names:
            mask = groups == g
            selection[g] = _mean(labels[mask] == positive)
            tpr[g] = _mean(labels[mask & (y == positive)] == positive)
            fpr[g] = _mean(labels[mask & (y != positive)] == positive)
        out.update({f"selection_rate_group_{g}": r for g, r in selection.items()})
        out.update({f"tpr_group_{g}": r for g, r in tpr.items()})
        out.update({f"fpr_group_{g}": r for g, r in fpr.items()})
        out["demographic_parity_difference"] = _gap(selection.values())
        out["equalized_odds_difference"] = max(_gap(tpr.values()), _gap(fpr.values()))
    out["groups"] = float(len(names))
    return out


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else float("nan")


def _gap(values: object) -> float:
    finite = [v for v in values if not math.isnan(v)]  # type: ignore[attr-defined]
    return float(max(finite) - min(finite)) if finite else float("nan")
