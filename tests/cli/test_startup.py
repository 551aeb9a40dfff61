"""How fast a command starts: the CLI imports a command's modules only when it runs,
`--help` lists every command without importing any, and `runs ls --json` against a
running service loads no heavy library (benchmarks/commands.py times them)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from mlopslab.client import daemon
from mlopslab.lab import Lab, init_lab
from tests.conftest import configure
from tests.tui.seed import seed_runs

HEAVY = ("duckdb", "pyarrow", "pandas", "numpy", "scipy", "ray", "textual", "rich", "onnxruntime",
         "sklearn", "mlflow", "mlopslab.store", "mlopslab.service", "mlopslab.exec", "mlopslab.tui")

WRAPPER = """
import atexit, json, sys
atexit.register(lambda: print(json.dumps(sorted(sys.modules)), file=sys.stderr))
sys.argv = ["mlopslab", *sys.argv[1:]]
from mlopslab.cli import main
main()
"""


def loaded(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run `mlopslab ARGS` in a fresh interpreter; its result and the modules it had loaded."""
    done = subprocess.run([sys.executable, "-c", WRAPPER, *args], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done, set(json.loads(done.stderr.strip().splitlines()[-1]))


def heavy(modules: set[str]) -> list[str]:
    return sorted(h for h in HEAVY if any(m == h or m.startswith(h + ".") for m in modules))


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A lab of 5 seeded runs with its service running."""
    lab = configure(init_lab(tmp_path_factory.mktemp("startup") / "lab", "startup", ray_address=""),
                    ray={"num_gpus": 0})
    seed_runs(lab.db_path, 5)
    daemon.start(lab)
    yield lab
    daemon.stop(lab, stop_ray=False)


def cli_modules(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.startswith("mlopslab.cli."))


def test_runs_ls_json_against_a_running_service_loads_no_heavy_library(running: Lab) -> None:
    done, modules = loaded("--lab", str(running.root), "runs", "ls", "--json")
    assert len(json.loads(done.stdout)) == 5
    assert heavy(modules) == []
    assert cli_modules(modules) == ["mlopslab.cli.json_output", "mlopslab.cli.runs_cmd"]


def test_init_imports_no_command_module(tmp_path: Path) -> None:
    done, modules = loaded("init", str(tmp_path / "lab"), "--json")
    assert json.loads(done.stdout)["name"] == "lab"
    assert cli_modules(modules) == ["mlopslab.cli.json_output"]


def test_queue_json_and_runs_show_json_load_no_heavy_library(running: Lab) -> None:
    assert heavy(loaded("--lab", str(running.root), "queue", "--json")[1]) == []
    run_id = json.loads(loaded("--lab", str(running.root), "runs", "ls", "--json")[0].stdout)[0]["id"]
    assert heavy(loaded("--lab", str(running.root), "runs", "show", run_id, "--json")[1]) == []


def test_help_imports_no_command_module() -> None:
    done, modules = loaded("--help")
    assert "runs" in done.stdout and "mlflow-server" in done.stdout
    assert cli_modules(modules) == [], f"--help imported {cli_modules(modules)}"
    assert heavy(modules) == [] and "pydantic" not in modules


def all_commands() -> dict[str, click.Command]:
    from mlopslab.cli import COMMANDS, cli

    for entry in COMMANDS.values():
        for module in entry.modules:
            importlib.import_module(f"mlopslab.cli.{module}")
    return dict(cli.commands)


def test_the_command_table_names_every_command_its_modules_and_its_short_help() -> None:
    from mlopslab.cli import COMMANDS

    commands = all_commands()
    assert sorted(commands) == sorted([*COMMANDS, "init"])
    for name, entry in COMMANDS.items():
        command = commands[name]
        assert entry.help == command.get_short_help_str(10_000), f"COMMANDS[{name!r}].help"
        subcommands = command.commands.values() if isinstance(command, click.Group) else ()
        defined_in = {c.callback.__module__ for c in (command, *subcommands) if c.callback}
        assert defined_in <= {f"mlopslab.cli.{m}" for m in entry.modules}, name


@pytest.mark.parametrize("columns", ["40", "80", "200"])
def test_help_lists_the_commands_as_click_would_with_all_of_them_imported(columns: str) -> None:
    code = ("import sys\nfrom mlopslab.cli import cli\n"
            "if sys.argv[1] == 'all':\n"
            "    from tests.cli.test_startup import all_commands\n    all_commands()\n"
            "cli(['--help'], prog_name='mlopslab')\n")
    env = {"COLUMNS": columns, "PATH": "/usr/bin:/bin"}
    root = str(Path(__file__).resolve().parents[2])
    lazy, full = (subprocess.run([sys.executable, "-c", code, mode], capture_output=True, text=True,
                                 env={**env, "PYTHONPATH": root}, cwd=root, check=True).stdout
                  for mode in ("lazy", "all"))
    assert lazy == full
