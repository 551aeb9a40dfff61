"""The shared table renderer (mlopslab.cli.grid) and the tables the commands build:
values kept whole at any width, no width limit into a pipe, low-value columns left out
first (pure: rendered at a given width)."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mlopslab.cli.grid import Col, Grid, Role, layout, render
from mlopslab.cli.output import age, ago, plural, runs_table, when
from mlopslab.cli.registry_view import versions_table
from mlopslab.core.run import Run


def run_of(**fields: Any) -> Run:
    """A run as the store makes one, with these fields."""
    none = dict.fromkeys(("reason", "user_name", "code_version", "data_version", "deps", "host",
                          "gpu_ids", "pid", "started_at", "ended_at", "error", "queued_at",
                          "worker_pid", "exit_code"))
    base: dict[str, Any] = {**none, "id": "r1", "project": "default", "recipe": "r", "recipe_path": "",
                            "status": "finished", "seed": 0, "params": {}, "resources": {},
                            "options": {}, "attempt": 1, "priority": 0,
                            "created_at": datetime(2026, 12, 1, 21, 33, 44, tzinfo=UTC)}
    return Run(**{**base, **fields})


RUN = run_of(
    id="261201-213344-9f2c", recipe="tabular-classifier", status="finished",
    started_at=datetime.fromisoformat("2026-12-01T21:33:45+00:00"),
    ended_at=datetime.fromisoformat("2026-12-01T21:34:02+00:00"),
    params={"n_estimators": 50, "max_depth": 8, "learning_rate": 0.05, "subsample": 0.8},
    metrics={"accuracy": 0.9556, "f1": 0.9613, "roc_auc": 0.984, "train_accuracy": 0.9953},
)


def lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def test_runs_table_keeps_ids_and_metrics_whole_at_80_columns() -> None:
    out = render(runs_table([RUN]), 80)
    assert all(len(line) <= 80 for line in lines(out))
    assert "261201-213344-9f2c" in out
    assert "accuracy=0.9556" in out and "f1=0.9613" in out  # whole, never `accuracy=0.9`
    assert "…" not in out


def test_runs_table_into_a_pipe_is_not_limited_in_width() -> None:
    out = lines(render(runs_table([RUN]), None))
    assert len(out) == 2  # a header and one line per run, however long
    assert len(out[1]) > 80
    assert "learning_rate=0.05" in out[1] and "roc_auc=0.984" in out[1]


def test_low_value_columns_are_left_out_first_and_the_table_says_so() -> None:
    out = render(runs_table([RUN]), 80)
    assert "PARAMS" not in lines(out)[0] and "n_estimators" not in out
    assert "not shown at this width: STARTED, PARAMS" in out
    wide = render(runs_table([RUN]), 200)
    assert "PARAMS" in wide and "not shown" not in wide


def test_sorting_by_a_metric_gives_it_a_column() -> None:
    for width in (None, 80):
        out = lines(render(runs_table([RUN], sort="-metrics.roc_auc"), width))
        assert out[0].split()[:4] == ["ID", "RECIPE", "STATUS", "ROC_AUC"]
        assert out[1].split()[3] == "0.984"


def test_kept_columns_are_never_cut_even_when_too_wide_for_the_terminal() -> None:
    endpoint = "http://127.0.0.1:48213/v2/models/breast-cancer/infer"
    grid = Grid([Col("NAME"), Col("ENDPOINT"), Col("VALUE", justify="right"), Col("LIMIT"),
                 Col("NOTE", Role.WRAP)])
    grid.add_row("breast-cancer", endpoint, "0.95563", ">= 0.9", "compared on the fixed holdout")
    out = lines(render(grid, 64))  # too narrow for the table: a block of lines per row
    assert f"ENDPOINT  {endpoint}" in out and "VALUE     0.95563" in out
    assert "LIMIT     >= 0.9" in out and "…" not in "".join(out)


def test_wrapped_columns_break_between_words_only() -> None:
    grid = Grid([Col("RUN"), Col("WHY", Role.WRAP, least=12)])
    grid.add_row("261201-213344-9f2c", "waits: quota of project vision uses 1 of 1 GPU")
    out = render(grid, 40)
    words = [w for line in lines(out)[1:] for w in line.split()]
    assert words == ["261201-213344-9f2c", *"waits: quota of project vision uses 1 of 1 GPU".split()]


def test_layout_fits_the_width_when_the_kept_columns_do() -> None:
    grid = Grid([Col("A"), Col("B", Role.WRAP), Col("C", Role.DROP)])
    grid.add_row("x" * 30, " ".join(["word"] * 20), " ".join(["drop"] * 20))
    shown, widths = layout(grid, 60)
    assert sum(widths) + 2 * (len(widths) - 1) <= 60
    assert widths[0] == 30
    assert layout(grid, None)[1] == [30, 99, 99]


def test_versions_table_keeps_run_ids_and_scores_whole_at_80() -> None:
    from mlopslab.core.model_versions import GateResult
    from tests.registry.factories import version_summary

    version = version_summary(version=12, aliases=["champion", "staging"], gate=GateResult(True, "gr-1"),
                              scores={"accuracy": 0.95563}, primary_metric="accuracy",
                              run_id="261201-213344-9f2c",
                              created_at=datetime(2026, 12, 1, 21, 35, tzinfo=UTC))
    out = render(versions_table([version] * 3), 80)
    assert "run 261201-213344-9f2c" in out and "0.9556" in out and "…" not in out


def test_times_are_short_and_ages_relative() -> None:
    now = datetime(2026, 12, 1, 12, 5, 0, tzinfo=UTC).astimezone()
    today = (now - timedelta(minutes=3, seconds=27)).isoformat()
    assert when(today, now) == (now - timedelta(minutes=3, seconds=27)).strftime("%H:%M:%S")
    earlier = (now - timedelta(days=2)).isoformat()
    assert when(earlier, now) == (now - timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    assert ago(today, now) == "3m ago"
    assert ago((now - timedelta(hours=2, minutes=5)).isoformat(), now) == "2h05m ago"
    assert ago((now - timedelta(seconds=9)).isoformat(), now) == "9s ago"
    assert age((now - timedelta(days=3, hours=1)).isoformat(), now) == "3d"
    assert when(None) == "-" and ago(None) == "-" and age(None) == "-"


def test_plurals() -> None:
    assert plural(1, "GPU") == "1 GPU" and plural(2, "GPU") == "2 GPUs"
    assert plural(0, "GPU") == "0 GPUs" and plural(0.5, "GPU") == "0.5 GPU"
    assert plural(1, "run") == "1 run" and plural(3, "run") == "3 runs"


def test_rows_too_wide_for_the_terminal_become_blocks_of_whole_values() -> None:
    endpoint = "http://127.0.0.1:48213/v2/models/breast-cancer/infer"
    grid = Grid([Col("NAME"), Col("ENDPOINT"), Col("VALUE"), Col("NOTE", Role.DROP)])
    grid.add_row("breast-cancer", endpoint, "0.95563", "a note")
    grid.add_row("churn", "http://127.0.0.1:48214", "0.8", "-")
    shown = terminal(70)  # the kept columns need 76
    shown.print(grid)  # as the commands print (crop on)
    assert shown.export_text().splitlines() == [
        "NAME      breast-cancer", f"ENDPOINT  {endpoint}", "VALUE     0.95563", "NOTE      a note",
        "",
        "NAME      churn", "ENDPOINT  http://127.0.0.1:48214", "VALUE     0.8", "NOTE      -"]


def test_wrapped_columns_narrow_to_their_longest_word_before_the_table_overflows() -> None:
    grid = Grid([Col("GATE"), Col("CHECK"), Col("VALUE", justify="right"), Col("LIMIT"),
                 Col("RESULT"), Col("NOTE", Role.WRAP, least=24)])
    grid.add_row("regression", "accuracy:vs_champion", "0.9556", ">= 0.945", "FAIL",
                 "no champion schema to compare with")
    out = lines(render(grid, 80))
    assert all(len(line) <= 80 for line in out)
    note = [line[out[0].index("NOTE"):].strip() for line in out[1:]]
    assert " ".join(note) == "no champion schema to compare with"


def test_gate_notes_and_lineage_refs_are_shown_whole(capsys: pytest.CaptureFixture[str]) -> None:
    from mlopslab.cli.registry_view import lineage_view, report_detail
    from mlopslab.core.gates import Check
    from mlopslab.core.lineage import Edge, Lineage, LineageWalk, Node
    from tests.registry.factories import gate_report

    digest = "d935b211a10ddc99f46dd88265400db8879225bfb9cff8cdd657bf1b82825459"
    edge = Edge(source=f"data:sha256:{digest}", relation="holdout of", target="model:bc@1")
    lineage_view(Lineage(node=Node("model:bc@1", "model", "champion"),
                         upstream=LineageWalk([Node(edge.source, "data")], [edge], False),
                         downstream=LineageWalk([], [], False)))
    report_detail(gate_report(champion_version=1, checks=[
        Check("latency", "p95_ms@batch1", 0.0092, 5, "<=", True, {"note": "measured: 200 requests of 1 row"})]))
    out = capsys.readouterr().out
    assert f"data:sha256:{digest} --holdout of--> model:bc@1" in out
    assert "measured: 200 requests of 1 row" in out and "0.0092" in out


def terminal(width: int) -> Any:
    from rich.console import Console

    return Console(width=width, force_terminal=True, color_system=None, record=True,
                   highlight=False, file=open(os.devnull, "w"))  # noqa: SIM115


def test_gate_report_at_80_columns_keeps_values_limits_and_results_whole(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from mlopslab.cli import registry_view

    shown = terminal(80)
    monkeypatch.setattr(registry_view, "console", shown)
    from mlopslab.core.gates import Check
    from tests.registry.factories import gate_report

    checks = [Check("regression", "accuracy:vs_champion", 0.95563, 0.94512, ">=", False,
                    {"champion_value": 0.965}),
              Check("bias", "equalized_odds_difference", 0.0793651, 0.3, "<=", True,
                    {"note": "over groups A and B of the sensitive column group"})]
    registry_view.report_detail(gate_report(id="gr-261201-225914-e92913", name="breast-cancer", version=12,
                                            passed=False, champion_version=11, checks=checks))
    rows = shown.export_text().splitlines()
    assert all(len(line) <= 80 for line in rows)
    vs, bias = next(r for r in rows if "vs_champion" in r), next(r for r in rows if "equalized" in r)
    assert vs.split()[2:6] == ["0.9556", ">=", "0.9451", "FAIL"]
    assert bias.split()[2:6] == ["0.07937", "<=", "0.3", "pass"]
    assert "…" not in "".join(rows)


def test_deployments_table_at_80_columns_keeps_the_endpoint_whole() -> None:
    from mlopslab.cli.deploy_cmd import _table
    from mlopslab.core.deployments import (
        Deployment,
        GatewayStatus,
        ReplicaStatus,
        ServingOptions,
        VersionTraffic,
        WatchPolicy,
    )

    endpoint = "http://127.0.0.1:48213"
    replica = ReplicaStatus(backend="docker", handle="c0ffee", version="12", url="http://127.0.0.1:40001",
                            port=40001, role="active", alive=True)
    found = [Deployment(name="breast-cancer-prod", model="breast-cancer", backend="docker", endpoint=endpoint,
                        port=48213, status="created", active_version="12", previous_version="11",
                        replicas=[replica], options=ServingOptions(), policy=WatchPolicy(),
                        gateway=GatewayStatus(pid=1, alive=True, watching=False,
                                              stats={"12": VersionTraffic(requests=123456, p99_ms=3.21)}),
                        created_at=0.0, updated_at=0.0)]
    shown = terminal(80)
    shown.print(_table(found))
    text = shown.export_text()
    assert all(len(line) <= 80 for line in text.splitlines())
    row = next(line for line in text.splitlines() if line.startswith("breast-cancer-prod"))
    assert endpoint in row.split() and "serving" in row and "123456" in row and "3.2" in row


def test_values_print_as_they_are_without_trailing_spaces() -> None:
    run = replace(RUN, params={"layers": "[bold]64,32[/]", "optimizer": "adam"})
    for width in (None, 80, 200):
        out = render(runs_table([run]), width)
        assert all(line == line.rstrip() for line in out.splitlines())
    assert "layers=[bold]64,32[/]" in render(runs_table([run]), None)


def test_a_column_left_out_early_comes_back_when_a_later_one_makes_room() -> None:
    now = datetime.now(UTC)  # started today: STARTED shows a short time, not a date
    run = replace(RUN, metrics={"accuracy": 0.965, "accuracy_group_A": 0.96, "accuracy_group_B": 0.9706},
                  started_at=now, ended_at=now + timedelta(seconds=17))
    out = lines(render(runs_table([run], sort="-metrics.accuracy"), 80))
    assert out[0].split() == ["ID", "RECIPE", "STATUS", "ACCURACY", "STARTED", "DURATION"]
    assert out[-1] == "not shown at this width: PARAMS, METRICS (see --json)"


def test_runs_table_shows_the_recipes_primary_and_declared_metrics_first() -> None:
    """A run's metrics come in the order its steps logged them; the table leads with what
    its recipe ranks by (`[evaluation].primary`, then `[evaluation].metrics`)."""
    from pathlib import Path

    recipe = Path(__file__).resolve().parents[2] / "recipes" / "tabular-classifier"
    run = replace(RUN, recipe_path=str(recipe),
                  metrics={"staged_accuracy": 0.9, "train_accuracy": 0.99, "accuracy_group_A": 0.95,
                           "roc_auc": 0.998, "f1": 0.97, "accuracy": 0.9718})
    out = lines(render(runs_table([run]), None))[1]
    assert "accuracy=0.9718 f1=0.97 roc_auc=0.998" in out and "staged_accuracy" not in out
