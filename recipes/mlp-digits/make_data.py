"""Write ``data/digits.csv`` from scikit-learn's bundled 8x8 digits dataset.

Columns: ``p0`` .. ``p63`` (pixel intensities, floats in 0..16, row-major)
and ``target`` (the digit, 0..9). 1797 rows. Deterministic: rerunning this
script writes the same bytes.

Run: ``python make_data.py`` (from any directory).
"""

from __future__ import annotations

import csv
from pathlib import Path

from sklearn.datasets import load_digits

OUT = Path(__file__).resolve().parent / "data" / "digits.csv"


def main() -> None:
    ds = load_digits()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow([*(f"p{i}" for i in range(ds.data.shape[1])), "target"])
        for row, target in zip(ds.data, ds.target, strict=True):
            writer.writerow([*(repr(float(v)) for v in row), int(target)])
    print(f"wrote {OUT} ({len(ds.target)} rows)")


if __name__ == "__main__":
    main()
