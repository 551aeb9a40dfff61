"""Errors raised in the lab service reach the client as their own type."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mlopslab.client import LabClient, daemon
from mlopslab.core.errors import FilterError, RefError
from mlopslab.lab import init_lab


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabClient]:
    lab = init_lab(tmp_path_factory.mktemp("errors") / "lab", "errors", ray_address="")
    with LabClient(lab) as client:
        yield client
    daemon.stop(lab, stop_ray=False)


def test_a_bad_filter_arrives_as_a_filter_error(client: LabClient) -> None:
    with pytest.raises(FilterError) as caught:
        client.runs.list(filter="metrics.acc >")
    assert caught.value.exit_code == 2 and caught.value.hint


def test_a_bad_model_reference_arrives_as_a_ref_error(client: LabClient) -> None:
    with pytest.raises(RefError) as caught:
        client.models.version("Bad Name@@1")
    assert caught.value.exit_code == 2
