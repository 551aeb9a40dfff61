"""The peer: Evidently's DataDriftPreset over the same data (run in its own venv).

    /tmp/evidently-venv/bin/python benchmarks/drift_evidently_peer.py REFERENCE.parquet CURRENT.parquet CATEGORICAL

Reads both Parquet files (not timed), then times one `Report([DataDriftPreset()]).run`
with the columns declared numeric or categorical as mlopslab sees them, and prints
one JSON line: seconds, the Evidently version and the columns it called drifted.
Evidently picks its own tests per column by size (Wasserstein distance and
Jensen-Shannon divergence above 1,000 rows).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import pandas as pd


def drifted_columns(snapshot: Any) -> list[str]:
    found = []
    for result in snapshot.dict().get("metrics", []):
        name = str(result.get("metric_name", result.get("metric_id", "")))
        value = result.get("value")
        if name.startswith("ValueDrift") and isinstance(value, (int, float)):
            column = name.split("column=", 1)[-1].split(",")[0].rstrip(")")
            threshold = float(name.split("threshold=", 1)[-1].split(")")[0].split(",")[0]) \
                if "threshold=" in name else 0.1
            if value >= threshold:
                found.append(column)
    return found


def main(reference_path: str, current_path: str, categorical: str) -> None:
    import evidently
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    reference, current = pd.read_parquet(reference_path), pd.read_parquet(current_path)
    cats = [c for c in categorical.split(",") if c]
    definition = DataDefinition(numerical_columns=[c for c in reference.columns if c not in cats],
                                categorical_columns=cats)
    ref = Dataset.from_pandas(reference, data_definition=definition)
    cur = Dataset.from_pandas(current, data_definition=definition)
    started = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "version": evidently.__version__,
                      "drifted": drifted_columns(snapshot)}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
