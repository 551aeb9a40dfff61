"""Steps of the mlp-digits recipe: a PyTorch MLP on the 8x8 digits dataset.

split -> train -> evaluate -> export. torch is imported inside the functions
so importing this module stays cheap. Training runs on ``ctx.device`` ("cuda"
when the step was given a GPU, e.g. ``--gpus 1``, else "cpu") with
deterministic algorithms and one CPU thread, so a run is reproducible on the
same kind of device. The model takes raw pixels (0..16) and returns logits.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

TARGET = "target"
HOLDOUT_FRACTION = 0.2  # of all rows, kept for evaluate and later gates
VAL_FRACTION = 0.1  # of all rows, taken from the rest for val_accuracy
PIXEL_SCALE = 16.0  # pixels are 0..16; training sees them scaled to 0..1
N_CLASSES = 10


def _load(path: Any) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Read the CSV into (pixel column names, X float32, y int64)."""
    from pyarrow import csv as pacsv

    table = pacsv.read_csv(path)
    pixels = [c for c in table.column_names if c != TARGET]
    X = np.column_stack([table[c].to_numpy().astype(np.float32) for c in pixels])
    return pixels, X, table[TARGET].to_numpy().astype(np.int64)


def _holdout_csv(pixels: list[str], X: np.ndarray, y: np.ndarray) -> str:
    """The holdout rows as CSV text: pixels, target."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*pixels, TARGET])
    for row, target in zip(X, y, strict=True):
        writer.writerow([*(repr(float(v)) for v in row), int(target)])
    return out.getvalue()


@contextlib.contextmanager
def _deterministic_torch() -> Iterator[Any]:
    """Yield torch with deterministic algorithms and one thread; restore afterwards."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # required by cuBLAS
    import torch

    previous = torch.are_deterministic_algorithms_enabled(), torch.get_num_threads()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    try:
        yield torch
    finally:
        torch.use_deterministic_algorithms(previous[0])
        torch.set_num_threads(previous[1])


def split(ctx: Any) -> dict[str, Any]:
    """Stratified train/val/holdout split; saves the holdout rows as ``holdout.csv``."""
    from sklearn.model_selection import train_test_split

    pixels, X, y = _load(ctx.data["train"])
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=HOLDOUT_FRACTION, stratify=y, random_state=ctx.seed
    )
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest,
        y_rest,
        test_size=VAL_FRACTION / (1 - HOLDOUT_FRACTION),
        stratify=y_rest,
        random_state=ctx.seed,
    )
    ctx.save_artifact("holdout.csv", _holdout_csv(pixels, X_test, y_test))
    print(f"split: {len(y_train)} train, {len(y_val)} val, {len(y_test)} holdout rows")
    return {
        "pixels": pixels,
        "X_train": X_train,
        "y_train": y_train,
        "X_val": X_val,
        "y_val": y_val,
        "X_test": X_test,
        "y_test": y_test,
    }


def _accuracy(torch: Any, model: Any, X: Any, y: Any) -> float:
    """Fraction of rows whose arg-max logit is the label."""
    model.eval()
    with torch.no_grad():
        return int((model(X).argmax(dim=1) == y).sum()) / len(y)


def _train_epoch(
    torch: Any, model: Any, optimizer: Any, X: Any, y: Any, order: Any, batch_size: int
) -> float:
    """One pass over (X, y) in the given row order; returns the mean training loss."""
    model.train()
    total = torch.zeros((), device=X.device)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        loss = torch.nn.functional.cross_entropy(model(X[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.detach() * len(idx)
    return float(total) / len(order)


def train(ctx: Any) -> dict[str, Any]:
    """Train the MLP with Adam; log ``loss`` and ``val_accuracy`` per epoch (step=epoch)."""
    data, params = ctx.inputs["split"], ctx.params
    with _deterministic_torch() as torch:
        torch.manual_seed(ctx.seed)  # weight init does not depend on earlier steps
        device = torch.device(ctx.device)
        X = torch.as_tensor(data["X_train"] / PIXEL_SCALE, device=device)
        y = torch.as_tensor(data["y_train"], device=device)
        X_val = torch.as_tensor(data["X_val"] / PIXEL_SCALE, device=device)
        y_val = torch.as_tensor(data["y_val"], device=device)
        model = torch.nn.Sequential(
            torch.nn.Linear(X.shape[1], params["hidden"]),
            torch.nn.ReLU(),
            torch.nn.Linear(params["hidden"], N_CLASSES),
        ).to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=params["lr"])
        shuffle = torch.Generator().manual_seed(ctx.seed)
        for epoch in range(1, params["epochs"] + 1):
            order = torch.randperm(len(y), generator=shuffle).to(device)
            loss = _train_epoch(torch, model, optimizer, X, y, order, params["batch_size"])
            val_accuracy = _accuracy(torch, model, X_val, y_val)
            ctx.log_metrics({"loss": loss, "val_accuracy": val_accuracy}, step=epoch)
        model = model.cpu().eval()
        with torch.no_grad():  # fold the pixel scaling in: the model takes raw 0..16 pixels
            model[0].weight.div_(PIXEL_SCALE)  # exact: a power-of-two division
    return {"model": model}


def evaluate(ctx: Any) -> dict[str, float]:
    """Accuracy of the trained model on the holdout."""
    data, model = ctx.inputs["split"], ctx.inputs["train"]["model"]
    with _deterministic_torch() as torch:
        X, y = torch.as_tensor(data["X_test"]), torch.as_tensor(data["y_test"])
        metrics = {"accuracy": _accuracy(torch, model, X, y)}
    ctx.log_metrics(metrics)
    return metrics


def export(ctx: Any) -> dict[str, Any]:
    """Export to ONNX with the TorchScript exporter: ``input`` [batch, 64] -> ``logits``
    [batch, 10], dynamic batch. The bytes depend only on the weights (no paths or
    timestamps), so equal weights give byte-identical files."""
    model = ctx.inputs["train"]["model"].cpu().eval()
    n_inputs = model[0].in_features
    buffer = io.BytesIO()
    with _deterministic_torch() as torch, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the legacy exporter is deliberate
        torch.onnx.export(
            model,
            (torch.zeros(1, n_inputs),),
            buffer,
            dynamo=False,  # the dynamo exporter needs onnxscript
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
            opset_version=17,
            do_constant_folding=True,
        )
    digest = ctx.save_model(buffer.getvalue())
    return {"sha256": digest, "bytes": len(buffer.getvalue()), "n_inputs": n_inputs}
