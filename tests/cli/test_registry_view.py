"""`models show`: where a run's own metric differs from the registry's score, both show."""

from __future__ import annotations

import pytest

from mlopslab.cli.registry_view import version_detail


def _version(run_accuracy: float) -> dict[str, object]:
    return {"name": "bc", "version": 1, "aliases": [], "sha256": "ab" * 32, "size": 10, "run_id": "r1",
            "train_data": "sha256:aa", "holdout_data": "sha256:bb", "target": "target", "sensitive": None,
            "task": "classification", "primary_metric": "accuracy", "direction": "maximize",
            "created_at": "2026-12-01T10:00:00", "created_by": "ada",
            "scores": {"accuracy": 0.958041958041958, "f1": 0.96},
            "info": {"run_metrics": {"accuracy": run_accuracy, "f1": 0.96}}, "schema": {}}


def test_a_run_metric_that_differs_from_the_score_is_shown_beside_it(capsys: pytest.CaptureFixture[str]) -> None:
    version_detail(_version(0.951048951048951))
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.strip().startswith("accuracy"))
    assert "0.958" in line and "(the run reported 0.951" in line
    assert "reported" not in next(x for x in out.splitlines() if x.strip().startswith("f1"))


def test_equal_numbers_show_once(capsys: pytest.CaptureFixture[str]) -> None:
    version_detail(_version(0.958041958041958))
    assert "reported" not in capsys.readouterr().out
