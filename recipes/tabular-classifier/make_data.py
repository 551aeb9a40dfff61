"""Write ``data/breast_cancer.csv`` from scikit-learn's bundled breast-cancer dataset.

Columns: the 30 features with snake_case names (``mean_radius``, ...,
``worst_fractal_dimension``), ``target`` (0 = malignant, 1 = benign, as in
scikit-learn) and ``group``.

``group`` is a SYNTHETIC sensitive attribute ("A"/"B") for bias checks; it is
not part of the real dataset. It is ``"A"`` when ``mean_radius`` is above its
median, with 10% of the rows flipped by a fixed-seed RNG. Because
``mean_radius`` is strongly correlated with the target, the two groups have
very different base rates and a model is measurably less accurate on group A.
The output is deterministic: rerunning this script writes the same bytes.

Run: ``python make_data.py`` (from any directory).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer

OUT = Path(__file__).resolve().parent / "data" / "breast_cancer.csv"
FLIP_FRACTION = 0.10
GROUP_SEED = 0


def snake(name: str) -> str:
    """'mean concave points' -> 'mean_concave_points'."""
    return "_".join(name.lower().split())


def synthetic_group(mean_radius: np.ndarray) -> np.ndarray:
    """'A' above the median radius, 'B' below, with a deterministic 10% flipped."""
    above = mean_radius > np.median(mean_radius)
    flip = np.random.default_rng(GROUP_SEED).random(len(mean_radius)) < FLIP_FRACTION
    return np.where(above ^ flip, "A", "B")


def main() -> None:
    ds = load_breast_cancer()
    names = [snake(n) for n in ds.feature_names]
    groups = synthetic_group(ds.data[:, names.index("mean_radius")])
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow([*names, "target", "group"])
        for row, target, group in zip(ds.data, ds.target, groups, strict=True):
            writer.writerow([*(repr(float(v)) for v in row), int(target), str(group)])
    print(f"wrote {OUT} ({len(ds.target)} rows, {len(names)} features)")


if __name__ == "__main__":
    main()
