"""Evaluation scores of a model's predictions on holdout data (plain numpy).

Classification: accuracy, f1, precision, recall (binary: of class 1; more
classes: macro averages), and roc_auc and log_loss when class scores exist.
Regression: mae, rmse, r2. Each score knows which way it improves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # numpy is imported where it is used: the gates read direction_of without it
    import numpy as np

Direction = Literal["maximize", "minimize"]
MAXIMIZE = {"accuracy", "f1", "precision", "recall", "roc_auc", "r2", "auc", "average_precision"}
MINIMIZE = {"log_loss", "mae", "rmse", "mse", "loss", "error", "latency"}


@dataclass(frozen=True)
class Predictions:
    """What a model said about N holdout rows: labels and, where it has them, class scores."""

    labels: np.ndarray
    scores: np.ndarray | None = None  # [N, C] class scores (probabilities or logits)
    classes: np.ndarray | None = None  # class value of each score column


def direction_of(metric: str, default: Direction = "maximize") -> Direction:
    """Which way a metric improves, from its name; `default` for names not known."""
    base = metric.lower()
    if base in MAXIMIZE or base.startswith(("accuracy", "f1", "roc_auc")):
        return "maximize"
    if base in MINIMIZE or base.endswith(("loss", "error", "_ms")):
        return "minimize"
    return default


def classification_scores(y: np.ndarray, pred: Predictions) -> dict[str, float]:
    import numpy as np

    labels = pred.labels
    scores = {"accuracy": float(np.mean(labels == y))}
    classes = np.unique(np.concatenate([np.unique(y), np.unique(labels)]))
    per_class = [_prf(y, labels, c) for c in classes]
    if len(classes) == 2:
        precision, recall, f1 = _prf(y, labels, classes[1])
    else:
        precision, recall, f1 = (float(np.mean([p[i] for p in per_class])) for i in range(3))
    scores.update(precision=precision, recall=recall, f1=f1)
    if pred.scores is not None and pred.classes is not None:
        probs = _probabilities(pred.scores)
        if len(pred.classes) == 2 and len(np.unique(y)) == 2:
            scores["roc_auc"] = roc_auc(y == pred.classes[1], pred.scores[:, 1])
        scores["log_loss"] = log_loss(y, probs, pred.classes)
    return scores


def regression_scores(y: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    import numpy as np

    error = predicted.astype(np.float64) - y.astype(np.float64)
    total = float(np.sum((y - np.mean(y)) ** 2))
    return {
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(math.sqrt(np.mean(error**2))),
        "r2": 1.0 - float(np.sum(error**2)) / total if total > 0 else 0.0,
    }


def roc_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve by the rank-sum formula (ties get average ranks)."""
    import numpy as np

    positive = positive.astype(bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score), dtype=np.float64)
    sorted_scores = score[order]
    i = 0
    while i < len(score):
        j = i
        while j + 1 < len(score) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def log_loss(y: np.ndarray, probs: np.ndarray, classes: np.ndarray) -> float:
    import numpy as np

    index = {c: i for i, c in enumerate(classes.tolist())}
    columns = np.array([index.get(v, -1) for v in y.tolist()])
    if (columns < 0).any():
        return float("nan")
    p = np.clip(probs[np.arange(len(y)), columns], 1e-15, 1.0)
    return float(-np.mean(np.log(p)))


def _probabilities(scores: np.ndarray) -> np.ndarray:
    """Scores as probabilities: rows already summing to 1 stay, others get a softmax."""
    import numpy as np

    if np.all(scores >= 0) and np.allclose(scores.sum(axis=1), 1.0, atol=1e-3):
        return scores
    shifted: np.ndarray = np.exp(scores - scores.max(axis=1, keepdims=True))
    probabilities: np.ndarray = shifted / shifted.sum(axis=1, keepdims=True)
    return probabilities


def _prf(y: np.ndarray, labels: np.ndarray, cls: object) -> tuple[float, float, float]:
    import numpy as np

    tp = float(np.sum((labels == cls) & (y == cls)))
    predicted, actual = float(np.sum(labels == cls)), float(np.sum(y == cls))
    precision = tp / predicted if predicted else 0.0
    recall = tp / actual if actual else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
