"""`models show`: where a run's own metric differs from the registry's score, both show."""

from __future__ import annotations

import pytest

from mlopslab.cli.registry_view import version_detail
from mlopslab.core.model_versions import ModelVersionDetail, VersionInfo
from tests.registry.factories import model_version


def _version(run_accuracy: float) -> ModelVersionDetail:
    return model_version(scores={"accuracy": 0.958041958041958, "f1": 0.96},
                         info=VersionInfo(run_metrics={"accuracy": run_accuracy, "f1": 0.96}))


def test_a_run_metric_that_differs_from_the_score_is_shown_beside_it(capsys: pytest.CaptureFixture[str]) -> None:
    version_detail(_version(0.951048951048951))
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.strip().startswith("accuracy"))
    assert "0.958" in line and "(the run reported 0.951" in line
    assert "reported" not in next(x for x in out.splitlines() if x.strip().startswith("f1"))


def test_equal_numbers_show_once(capsys: pytest.CaptureFixture[str]) -> None:
    version_detail(_version(0.958041958041958))
    assert "reported" not in capsys.readouterr().out
