"""`mlopslab run` when something is wrong: one line and a hint, the documented exit code;
resumes that add an attempt instead of rewriting a run; Ctrl-C that leaves the run going.

Real CLI in a subprocess, real service, real Ray (the session cluster)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlopslab.lab import Lab
from tests.conftest import mlopslab, mlopslab_json
from tests.exec.test_runs import PROBE_STEPS, write_recipe

pytestmark = pytest.mark.ray


def assert_one_line_error(done: subprocess.CompletedProcess[str], code: int, *words: str) -> str:
    """Exit `code`, stderr is exactly `error: ...` and `hint: ...`, each word in the error."""
    lines = done.stderr.strip().splitlines()
    assert done.returncode == code, done.stderr
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("hint: "), \
        done.stderr
    for word in words:
        assert word in lines[0], lines[0]
    assert "Traceback" not in done.stderr + done.stdout
    return lines[0] + "\n" + lines[1]


# bad requests: refused before anything runs --------------------------------------------


BAD_REQUESTS = [
    (["--time-limit", "banana"], ["--time-limit", "banana"], ["90s"]),
    (["--set", "n=lots"], ["--set n=lots", "'lots' is not a valid int"], ["'n'", "int", "1", "100"]),
    (["--set", "n=500"], ["--set n=500", "above the maximum 100"], ["'n'", "from 1 to 100"]),
    (["--sweep", "n=2,x"], ["--sweep n=2,x", "'x'"], ["'n'", "from 1 to 100"]),
    (["--seed", "-1"], ["--seed -1"], ["4294967295"]),
    (["--seed", str(2**32)], ["--seed 4294967296"], ["4294967295"]),
    (["--gpus", "-1"], ["--gpus -1"], []),
    (["--cpus", "-2"], ["--cpus -2"], []),
    (["--memory", "0"], ["--memory 0"], []),
    (["--gpu-memory", "-4"], ["--gpu-memory -4"], []),
    (["--time-limit", "0"], ["--time-limit 0", "more than 0"], ["90s"]),
    (["--data", "nosuch=x.csv"], ["--data", "nosuch"], []),
    (["--priority", "x"], ["--priority", "'x'"], ["higher starts first"]),
    (["--cpus", "x"], ["--cpus", "'x'"], ["CPUs per step"]),
    (["--no-such-flag"], ["--no-such-flag"], ["run -h"]),
]


@pytest.mark.parametrize(("args", "in_error", "in_hint"), BAD_REQUESTS,
                         ids=[" ".join(a) for a, _, _ in BAD_REQUESTS])
def test_bad_requests_are_one_line_with_a_hint_and_exit_2(
        lab: Lab, tmp_path: Path, args: list[str], in_error: list[str], in_hint: list[str]) -> None:
    recipe = write_recipe(tmp_path / "probe", PROBE_STEPS)
    done = mlopslab(lab, "run", str(recipe), *args, check=False)
    text = assert_one_line_error(done, 2, *in_error)
    hint = text.splitlines()[1]
    for word in in_hint:
        assert word in hint, hint
    for noise in ("recipe.toml", "pydantic", "http", "validation error for"):
        assert noise not in text, text


def test_a_bad_set_hint_gives_the_param_help_and_its_range(lab: Lab) -> None:
    done = mlopslab(lab, "run", "recipes/tabular-classifier", "--set", "n_estimators=0",
                    check=False)
    text = assert_one_line_error(done, 2, "--set n_estimators=0", "below the minimum 1")
    assert "recipe.toml" not in text
    assert "from 1 to 2000" in text and "Trees in the forest" in text


def test_a_run_without_recipe_or_with_a_missing_folder_is_refused(lab: Lab, tmp_path: Path) -> None:
    assert_one_line_error(mlopslab(lab, "run", check=False), 2, "RECIPE")
    assert_one_line_error(mlopslab(lab, "run", str(tmp_path / "nosuch"), check=False), 2, "nosuch")


def test_resume_of_an_unknown_run_is_not_found(lab: Lab) -> None:
    assert_one_line_error(mlopslab(lab, "run", "--resume", "nosuch", check=False), 7, "nosuch")


def test_resume_refuses_options_that_would_change_the_run(lab: Lab) -> None:
    done = mlopslab(lab, "run", "--resume", "nosuch", "--set", "n=3", check=False)
    assert_one_line_error(done, 2, "--resume", "--set")
    done = mlopslab(lab, "run", "--resume", "nosuch", "--seed", "3", check=False)
    assert_one_line_error(done, 2, "--resume", "--seed")


def test_run_help_gives_the_exit_codes_it_uses() -> None:
    text = " ".join(mlopslab(None, "run", "-h").stdout.split())
    assert "8 for a request that can never fit" in text
    assert "2 for a request that can never fit" not in text
    assert "130" in text and "Ctrl-C" in text
    assert "3 when its data fails validation" in text


# resume --------------------------------------------------------------------------------


def _failed_run(lab: Lab, recipe: Path) -> dict:
    (recipe / "fail_flag").write_text("")
    done = mlopslab(lab, "run", str(recipe), "--json", check=False)
    assert done.returncode == 1, done.stderr
    (recipe / "fail_flag").unlink()
    return mlopslab_json(lab, "runs", "show", mlopslab_json(lab, "runs", "ls")[0]["id"])


def test_resume_of_a_finished_run_is_refused_and_changes_nothing(lab: Lab, tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path / "probe", PROBE_STEPS)
    run = mlopslab_json(lab, "run", str(recipe))
    done = mlopslab(lab, "run", "--resume", run["id"], check=False)
    text = assert_one_line_error(done, 2, run["id"], "finished")
    assert "mlopslab run" in text.splitlines()[1]
    after = mlopslab_json(lab, "runs", "show", run["id"])
    for key in ("status", "attempt", "started_at", "ended_at", "duration_s", "steps"):
        assert after[key] == run[key], key
    assert [a["attempt"] for a in after["attempts"]] == [1]


def test_resume_with_another_recipe_is_refused(lab: Lab, tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path / "probe", PROBE_STEPS)
    other = write_recipe(tmp_path / "other", PROBE_STEPS.replace("first done", "other"))
    failed = _failed_run(lab, recipe)
    done = mlopslab(lab, "run", str(other), "--resume", failed["id"], check=False)
    assert_one_line_error(done, 2, failed["id"], str(other))
    after = mlopslab_json(lab, "runs", "show", failed["id"])
    assert after["status"] == "failed" and after["attempt"] == 1
    resumed = mlopslab_json(lab, "run", str(recipe), "--resume", failed["id"])  # its own: fine
    assert resumed["status"] == "finished"


def test_resume_adds_an_attempt_and_keeps_the_first(lab: Lab, tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path / "probe", PROBE_STEPS)
    failed = _failed_run(lab, recipe)
    done = mlopslab(lab, "run", "--resume", failed["id"], check=False)
    assert done.returncode == 0, done.stderr
    out = done.stdout + done.stderr
    assert "attempt 2" in out and "attempt 1" not in out, "the old attempt's log was replayed"
    assert "failed on purpose" not in out
    run = mlopslab_json(lab, "runs", "show", failed["id"])
    first, second = run["attempts"]
    assert (first["attempt"], first["status"], second["attempt"], second["status"]) == (
        1, "failed", 2, "finished")
    for key in ("started_at", "ended_at", "reason", "duration_s"):
        assert first[key] == failed[key], key
    assert "failed on purpose" in first["reason"]
    assert second["started_at"] >= first["ended_at"]
    assert (run["attempt"], run["status"], run["started_at"]) == (
        2, "finished", second["started_at"])
    shown = mlopslab(lab, "runs", "show", failed["id"]).stdout
    assert "attempts" in shown and "failed on purpose" in shown


# a failing step ------------------------------------------------------------------------


def test_a_failing_step_shows_its_traceback_once_then_how_to_resume(
        lab: Lab, tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path / "probe", PROBE_STEPS)
    (recipe / "fail_flag").write_text("")
    done = mlopslab(lab, "run", str(recipe), check=False)
    out = done.stdout + done.stderr
    assert done.returncode == 1
    assert out.count("Traceback (most recent call last)") == 1, out
    assert out.count('raise RuntimeError("second step failed on purpose")') == 1, out
    assert "\x1b[" not in out and "ray::" not in out and "site-packages" not in out, out
    assert "mlopslab/exec" not in out, out
    run_id = mlopslab_json(lab, "runs", "ls")[0]["id"]
    assert out.strip().splitlines()[-1] == f"hint: fix it, then: mlopslab run --resume {run_id}"


def test_a_step_function_that_is_not_there_is_one_line_and_exit_2(
        lab: Lab, tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path / "probe", PROBE_STEPS.replace("def second(", "def other("))
    done = mlopslab(lab, "run", str(recipe), check=False)
    out = done.stdout + done.stderr
    assert done.returncode == 2, out  # a bad recipe
    assert "Traceback" not in out and "mlopslab/exec" not in out, out
    assert out.count("steps.py has no function 'second'") >= 1
    assert "hint: its functions: first, other" in out


def test_data_validation_failure_exits_3_with_a_hint(lab: Lab, tmp_path: Path) -> None:
    source = lab.recipes / "tabular-classifier" / "data" / "breast_cancer.csv"
    lines = source.read_text().splitlines()
    row = lines[1].split(",")
    row[lines[0].split(",").index("group")] = "Z"
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([lines[0], ",".join(row), *lines[2:]]) + "\n")
    done = mlopslab(lab, "run", "recipes/tabular-classifier", "--data", f"train={bad}",
                    check=False)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "column 'group'" in done.stdout
    assert done.stdout.strip().splitlines()[-1].startswith("hint: fix the data")


def test_an_unreachable_ray_address_fails_fast_with_exit_6(lab: Lab, tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path / "probe", PROBE_STEPS)
    start = time.monotonic()
    done = mlopslab(lab, "run", str(recipe), "--ray-address", "127.0.0.1:1", check=False)
    assert done.returncode == 6, done.stdout + done.stderr  # README: 6 Ray
    assert time.monotonic() - start < 60, "ray.init retried for minutes"
    assert "cannot reach Ray at 127.0.0.1:1" in done.stdout
    run_id = mlopslab_json(lab, "runs", "ls")[0]["id"]
    assert done.stdout.strip().splitlines()[-1] == (
        f"hint: check the Ray cluster (mlopslab lab status), then: mlopslab run --resume {run_id}")


# Ctrl-C --------------------------------------------------------------------------------


def test_ctrl_c_leaves_the_run_going_and_says_how_to_follow_or_cancel(
        lab: Lab, tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path / "probe", PROBE_STEPS)
    (recipe / "sleep_flag").write_text("6")
    cmd = [sys.executable, "-m", "mlopslab", "--lab", str(lab.root), "run", str(recipe)]
    # its own process group, as a shell's foreground job: Ctrl-C signals the whole group
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    run_id = _wait_for_second_step(lab)
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stdout + stderr
    assert "Aborted" not in stderr and "Traceback" not in stderr, stderr
    assert f"run {run_id} goes on" in stderr
    assert f"mlopslab runs logs {run_id} -f" in stderr and f"mlopslab cancel {run_id}" in stderr
    deadline = time.monotonic() + 60
    while (run := mlopslab_json(lab, "runs", "show", run_id))["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert run["status"] == "finished"


def _wait_for_second_step(lab: Lab) -> str:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        runs = mlopslab_json(lab, "runs", "ls")
        if runs:
            steps = {s["name"]: s["status"] for s in
                     mlopslab_json(lab, "runs", "show", runs[0]["id"])["steps"]}
            if steps.get("second") == "running":
                return str(runs[0]["id"])
        time.sleep(0.3)
    raise AssertionError("the run did not reach its second step")
