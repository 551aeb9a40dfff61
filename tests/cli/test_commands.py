"""The real command line over a real seeded lab (its service, no Ray): tables whole into
a pipe and at 80 columns, --lab anywhere, id prefixes, cancel, metrics, init --json."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from mlopslab.client import daemon
from mlopslab.lab import Lab, init_lab
from tests.conftest import configure
from tests.tui.seed import seed_runs

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """12 runs from 2026-11-20 (ids 261120-...), the newest 3 queued for a GPU the lab
    does not have, so they stay queued."""
    root = tmp_path_factory.mktemp("cli") / "lab"
    lab = configure(init_lab(root, "cli", ray_address=""), ray={"num_gpus": 0})
    seed_runs(lab.db_path, 12)
    with duckdb.connect(str(lab.db_path)) as db:  # as the service records a submitted run
        db.execute("UPDATE runs SET queued_at = created_at")
    yield lab
    daemon.stop(lab, stop_ray=False)


def cli(*args: str, cwd: Path | None = None, columns: int | None = None,
        **env: str) -> subprocess.CompletedProcess[str]:
    """`mlopslab ARGS` in a subprocess: stdout is a pipe; with `columns` it poses as a
    terminal that wide."""
    environ = {**os.environ, **env}
    if columns:
        environ.update(COLUMNS=str(columns), TTY_COMPATIBLE="1", NO_COLOR="1")
    done = subprocess.run([sys.executable, "-m", "mlopslab", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd, env=environ, check=False)
    done.stdout = ANSI.sub("", done.stdout)
    return done


def ok(*args: str, **kw: object) -> str:
    done = cli(*args, **kw)  # type: ignore[arg-type]
    assert done.returncode == 0, done.stderr
    return done.stdout


def ids_of(lab: Lab) -> list[dict]:
    return json.loads(ok("--lab", str(lab.root), "runs", "ls", "--json"))


def test_lab_option_works_after_the_subcommand_too(seeded: Lab, tmp_path: Path) -> None:
    where = ["--lab", str(seeded.root)]
    elsewhere = {"cwd": tmp_path, "MLOPSLAB_LAB": str(tmp_path / "no-lab-here")}
    assert json.loads(ok("runs", "ls", "--json", *where, **elsewhere))
    assert json.loads(ok("lab", "status", "--json", *where, **elsewhere))["name"] == "cli"
    assert json.loads(ok("models", "ls", *where, "--json", **elsewhere)) == []
    assert json.loads(ok("quota", "ls", "--json", *where, **elsewhere)) == []
    # after the subcommand wins over one before it, as the nearer one
    assert json.loads(ok("--lab", str(tmp_path / "nope"), "runs", "ls", "--json", *where))


def test_queue_shows_whole_run_ids_and_short_times(seeded: Lab) -> None:
    queued = [r["id"] for r in ids_of(seeded) if r["status"] == "queued"]
    piped = ok("--lab", str(seeded.root), "queue")
    narrow = ok("--lab", str(seeded.root), "queue", columns=80)
    for out in (piped, narrow):
        assert all(run_id in out for run_id in queued), out
        assert "…" not in out
        assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d+", out), "no raw ISO times with microseconds"
        assert re.search(r" \d+d ", out)  # FOR: the seeded runs were queued days ago
        assert re.search(r"queue \(0 GPUs, \d+ CPUs?\)", out)
    assert all(len(line.rstrip()) <= 80 for line in narrow.splitlines()), narrow
    # into a pipe the reason stays on one line with its run, and the time is shown
    line = next(x for x in piped.splitlines() if queued[0] in x)
    assert "cannot start on this cluster" in line and line.rstrip().endswith("has 0")
    assert re.search(r" 2026-11-20 \d\d:\d\d +\d+d ", line)


def test_runs_ls_shows_the_metric_it_sorts_by_whole(seeded: Lab) -> None:
    runs = ids_of(seeded)
    best = max((r for r in runs if "accuracy" in r["metrics"]), key=lambda r: r["metrics"]["accuracy"])
    for kw in ({}, {"columns": 80}):
        out = ok("--lab", str(seeded.root), "runs", "ls", "--sort", "-metrics.accuracy", **kw)
        header, first = out.splitlines()[:2]
        assert "ACCURACY" in header.split()
        assert first.split()[0] == best["id"]
        assert f"{best['metrics']['accuracy']:.4g}" in first.split()


def test_an_ambiguous_run_id_lists_candidates_and_the_random_part_is_enough(seeded: Lab) -> None:
    done = cli("--lab", str(seeded.root), "runs", "show", "2611")
    assert done.returncode == 7
    error, hint = done.stderr.strip().splitlines()
    newest = ids_of(seeded)[0]
    assert error.startswith("error: run id '2611' is ambiguous: 12 runs match: ")
    assert f"{newest['id']} ({newest['recipe']}, {newest['status']})" in error and "9 more" in error
    assert hint.startswith("hint: ") and "last 4" in hint
    assert "Traceback" not in done.stderr
    suffix = newest["id"][-4:]
    shown = json.loads(ok("--lab", str(seeded.root), "runs", "show", suffix, "--json"))
    assert shown["id"] == newest["id"]


def test_runs_metrics_of_an_unknown_key_is_not_found_and_names_the_keys(seeded: Lab) -> None:
    run = next(r for r in ids_of(seeded) if r["metrics"])
    for extra in ((), ("--json",)):
        done = cli("--lab", str(seeded.root), "runs", "metrics", run["id"], "--key", "nosuchkey", *extra)
        assert done.returncode == 7 and done.stdout == ""
        assert done.stderr.splitlines() == [
            f"error: run {run['id']} has no metric 'nosuchkey'",
            f"hint: its metrics: {', '.join(sorted(run['metrics']))}"]


def test_cancel_of_a_run_that_already_ended_says_so(seeded: Lab) -> None:
    runs = ids_of(seeded)
    ended = next(r for r in runs if r["status"] == "finished")
    queued = next(r for r in runs if r["status"] == "queued")
    out = ok("--lab", str(seeded.root), "cancel", ended["id"], queued["id"])
    assert out.splitlines() == [
        f"run {ended['id']} had already ended (finished): nothing to cancel",
        f"run {queued['id']}: cancelled"]
    again = ok("--lab", str(seeded.root), "runs", "cancel", queued["id"][-4:])
    assert again.strip() == f"run {queued['id']} had already ended (cancelled): nothing to cancel"
    shown = json.loads(ok("--lab", str(seeded.root), "cancel", ended["id"], "--json"))
    assert shown[0]["status"] == "finished" and shown[0]["cancelled_now"] is False
    partly = cli("--lab", str(seeded.root), "cancel", ended["id"], "nosuchrun")
    assert partly.returncode == 7 and "error: no run 'nosuchrun'" in partly.stderr
    assert partly.stdout.startswith(f"run {ended['id']} had already ended")


def test_init_json_has_the_name(tmp_path: Path) -> None:
    made = json.loads(ok("init", str(tmp_path / "lab"), "--name", "vision-lab", "--json"))
    assert made["name"] == "vision-lab"
    assert {"lab", "config", "recipes"} <= set(made)


@pytest.mark.parametrize("args, says", [
    (["gate"], "Missing argument 'REF'."),
    (["runs", "ls", "--bogus"], "No such option '--bogus'."),
    (["nosuch"], "No such command 'nosuch'."),
    (["deploy", "x", "--port", "abc"], "Invalid value for '--port'"),
])
def test_usage_errors_are_one_line_and_a_hint(tmp_path: Path, args: list[str], says: str) -> None:
    done = subprocess.run([sys.executable, "-m", "mlopslab", *args], capture_output=True, text=True,
                          cwd=tmp_path, check=False)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: ") and says in lines[0], done.stderr
    assert lines[1].startswith("hint: `mlopslab") and "-h`" in lines[1]
