"""Steps of the tabular-classifier recipe: a random forest on breast-cancer data.

split -> train -> export -> evaluate (the exported ONNX model, as the registry
scores it). ``group`` is a synthetic sensitive attribute (see make_data.py); it is kept beside the data for per-group
metrics and never used as a feature.
"""

from __future__ import annotations

import csv
import hashlib
import io
from typing import Any

import numpy as np

TARGET = "target"
GROUP = "group"


def _load(path: Any) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Read the CSV into (feature names, X float64, y int64, groups str)."""
    from pyarrow import csv as pacsv

    table = pacsv.read_csv(path)
    features = [c for c in table.column_names if c not in (TARGET, GROUP)]
    X = np.column_stack([table[c].to_numpy().astype(np.float64) for c in features])
    y = table[TARGET].to_numpy().astype(np.int64)
    groups = np.asarray(table[GROUP].to_pylist(), dtype=str)
    return features, X, y, groups


def _holdout_csv(features: list[str], X: np.ndarray, y: np.ndarray, groups: np.ndarray) -> str:
    """The holdout rows as CSV text: features, target, group."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*features, TARGET, GROUP])
    for row, target, group in zip(X, y, groups, strict=True):
        writer.writerow([*(repr(float(v)) for v in row), int(target), str(group)])
    return out.getvalue()


def holdout_mask(X: np.ndarray, y: np.ndarray, test_size: float) -> np.ndarray:
    """Which rows are held out: in each class, the `test_size` fraction of rows whose
    features hash lowest. The split depends on the rows alone, never on the seed, so
    every run with the same test_size holds out the same rows, and a larger test_size
    holds out a superset: models trained with other seeds never saw each other's
    holdout rows (docs/registry.md)."""
    keys = [hashlib.sha256(np.ascontiguousarray(row, dtype="<f8").tobytes()).digest() for row in X]
    mask = np.zeros(len(y), dtype=bool)
    for label in np.unique(y):
        rows = sorted(np.flatnonzero(y == label), key=lambda i: keys[i])
        mask[rows[:round(len(rows) * test_size)]] = True
    return mask


def split(ctx: Any) -> dict[str, Any]:
    """Stratified holdout split by row hash; also saves the holdout rows as ``holdout.csv``."""
    features, X, y, groups = _load(ctx.data["train"])
    test = holdout_mask(X, y, ctx.params["test_size"])
    ctx.save_artifact("holdout.csv", _holdout_csv(features, X[test], y[test], groups[test]))
    print(f"split: {int((~test).sum())} train rows, {int(test.sum())} holdout rows, "
          f"{len(features)} features")
    return {
        "features": features,
        "X_train": X[~test],
        "y_train": y[~test],
        "groups_train": groups[~test],
        "X_test": X[test],
        "y_test": y[test],
        "groups_test": groups[test],
    }


def _log_staged_accuracy(ctx: Any, model: Any, X: np.ndarray, y: np.ndarray) -> None:
    """Holdout accuracy of the first k trees, as series ``staged_accuracy`` (step=k)."""
    n = len(model.estimators_)
    checkpoints = set(np.linspace(1, n, num=min(n, 50)).round().astype(int).tolist())
    proba_sum = np.zeros((len(X), len(model.classes_)))
    for k, tree in enumerate(model.estimators_, start=1):
        proba_sum += tree.predict_proba(X)
        if k in checkpoints:
            accuracy = float(np.mean(model.classes_[proba_sum.argmax(axis=1)] == y))
            ctx.log_metric("staged_accuracy", accuracy, step=k)


def _biased_labels(ctx: Any, y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The training labels, with ``group_label_bias`` of group A's benign rows made malignant.

    Simulates labels biased against one group (for the bias gate); a no-op at 0.
    """
    bias = ctx.params.get("group_label_bias", 0.0)
    if not bias:
        return y
    flip = (groups == "A") & (y == 1) & (np.random.default_rng(ctx.seed).random(len(y)) < bias)
    print(f"train: group_label_bias={bias} relabelled {int(flip.sum())} benign group-A rows as malignant")
    return np.where(flip, 0, y)


def train(ctx: Any) -> dict[str, Any]:
    """Fit a RandomForestClassifier and log its accuracy curve over the number of trees."""
    from sklearn.ensemble import RandomForestClassifier

    data = ctx.inputs["split"]
    y_train = _biased_labels(ctx, data["y_train"], data["groups_train"])
    model = RandomForestClassifier(
        n_estimators=ctx.params["n_estimators"],
        max_depth=ctx.params["max_depth"],
        criterion=ctx.params["criterion"],
        random_state=ctx.seed,
        n_jobs=1,
    ).fit(data["X_train"], y_train)
    ctx.log_metric("train_accuracy", float(model.score(data["X_train"], data["y_train"])))
    _log_staged_accuracy(ctx, model, data["X_test"], data["y_test"])
    return {"model": model}


def evaluate(ctx: Any) -> dict[str, float]:
    """Accuracy, F1 and ROC AUC on the holdout, plus accuracy per synthetic group.

    Scored on the exported ONNX model in ONNX Runtime (single-threaded, as the
    registry scores it), so the run's metrics are the model version's scores: the
    float32 graph can decide a row whose forest vote is an exact tie otherwise than
    scikit-learn's float64 forest does."""
    import onnxruntime as ort
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    data = ctx.inputs["split"]
    X, y, groups = data["X_test"], data["y_test"], data["groups_test"]
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 1, 1
    session = ort.InferenceSession(ctx.inputs["export"]["onnx"], options,
                                   providers=["CPUExecutionProvider"])
    predicted, probabilities = session.run(None, {"input": X.astype(np.float32)})
    metrics = {
        "accuracy": float(accuracy_score(y, predicted)),
        "f1": float(f1_score(y, predicted)),
        "roc_auc": float(roc_auc_score(y, probabilities[:, 1])),
    }
    for group in ("A", "B"):
        mask = groups == group
        if mask.any():
            metrics[f"accuracy_group_{group}"] = float(accuracy_score(y[mask], predicted[mask]))
    ctx.log_metrics(metrics)
    return metrics


def export(ctx: Any) -> dict[str, Any]:
    """Convert the forest to ONNX: float input ``input`` [N, n_features], outputs
    ``label`` [N] and ``probabilities`` [N, 2]."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    model = ctx.inputs["train"]["model"]
    n_features = len(ctx.inputs["split"]["features"])
    onnx_model = convert_sklearn(
        model,
        name="tabular-classifier",
        initial_types=[("input", FloatTensorType([None, n_features]))],
        options={id(model): {"zipmap": False}},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    onnx_bytes = onnx_model.SerializeToString()
    digest = ctx.save_model(onnx_bytes)
    return {"sha256": digest, "bytes": len(onnx_bytes), "n_features": n_features, "onnx": onnx_bytes}
