"""Tests of the lab config file and of finding and making labs (mlopslab.config, mlopslab.lab)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import pytest

from mlopslab.config import CONFIG_FILE, LabConfig, load_config, render_config
from mlopslab.core.errors import ConfigError
from mlopslab.core.recipe import load_recipe
from mlopslab.lab import ENV_LAB, Lab, find_lab, init_lab
from mlopslab.sockets import LIMIT as MAX_SOCKET_PATH

BUNDLED = ("mlp-digits", "tabular-classifier")


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    return init_lab(tmp_path / "mylab")


@pytest.fixture(autouse=True)
def _no_lab_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_LAB, raising=False)


# init_lab and the config file ---------------------------------------------------


def test_init_makes_the_lab_layout(lab: Lab, tmp_path: Path) -> None:
    assert lab.root == (tmp_path / "mylab").resolve()
    assert (lab.root / CONFIG_FILE).is_file()
    for folder in (lab.artifacts, lab.step_cache, lab.root / "runs", lab.spool):
        assert folder.is_dir(), folder
    assert lab.db_path.is_file()  # init makes the store, so a new lab is complete
    ignored = (lab.root / ".gitignore").read_text().splitlines()
    assert "lab.duckdb*" in ignored and ".mlopslab/" in ignored


def test_every_config_field_has_a_comment_above_it(lab: Lab) -> None:
    lines = (lab.root / CONFIG_FILE).read_text().splitlines()
    settings = 0
    for i, line in enumerate(lines):
        if not line.strip() or line.startswith("#"):
            continue
        above = lines[i - 1]
        assert above.startswith("# ") and len(above) > 3, f"no comment above {line!r}"
        if "=" in line:
            settings += 1
    assert settings == len(_scalar_fields())


def _scalar_fields() -> list[tuple[str, Any]]:
    """(name, field info) of every plain setting; dict fields become [section.field.NAME] tables."""
    return [(name, info) for _, section in LabConfig()
            for name, info in type(section).model_fields.items()
            if not _tables_field(getattr(section, name))]


def _tables_field(value: Any) -> bool:
    """A dict of sections ([quotas.project.NAME]); a dict of numbers is one inline setting."""
    from pydantic import BaseModel

    return isinstance(value, dict) and all(isinstance(v, BaseModel) for v in value.values())


def test_comments_are_the_field_descriptions(lab: Lab) -> None:
    text = (lab.root / CONFIG_FILE).read_text()
    for name, info in _scalar_fields():
        assert f"# {info.description}\n{name} = " in text


def test_quota_tables_are_documented_and_round_trip(lab: Lab) -> None:
    from mlopslab.config import QuotaLimits, load_config, render_config

    text = (lab.root / CONFIG_FILE).read_text()
    assert "# [quotas.project.vision]" in text and "# [quotas.user.alice]" in text
    config = load_config(lab.root)
    config.quotas.project["vision"] = QuotaLimits(max_gpus=1, max_time_limit="2h")
    (lab.root / CONFIG_FILE).write_text(render_config(config))
    again = load_config(lab.root)
    assert again.quotas.project["vision"].max_gpus == 1
    assert again.quotas.project["vision"].max_time_limit == "2h"
    (lab.root / CONFIG_FILE).write_text(text.replace(
        "\n[quotas]\n", '\n[quotas]\n[quotas.project.x]\nmax_time_limit = "soon"\n'))
    with pytest.raises(ConfigError, match="quotas.project.x.max_time_limit"):
        load_config(lab.root)


def test_config_parses_back_to_the_defaults(lab: Lab) -> None:
    raw = tomllib.loads((lab.root / CONFIG_FILE).read_text())
    assert set(raw) == set(LabConfig.model_fields)
    config = load_config(lab.root)
    assert config.lab.name == "mylab"  # init names the lab after its folder
    expected = LabConfig()
    expected.lab.name = "mylab"
    assert config == expected
    assert lab.config == expected


def test_init_with_name_and_ray_address(tmp_path: Path) -> None:
    lab = init_lab(tmp_path / "x", name='my "quoted" lab', ray_address="10.0.0.5:6379")
    config = load_config(lab.root)
    assert config.lab.name == 'my "quoted" lab'
    assert config.ray.address == "10.0.0.5:6379"
    assert config.service == LabConfig().service


def test_init_with_a_non_ascii_name_round_trips(tmp_path: Path) -> None:
    lab = init_lab(tmp_path / "x", name="rocket \U0001f680 lab")
    assert load_config(lab.root).lab.name == "rocket \U0001f680 lab"


def test_non_ascii_name_in_the_basic_plane_round_trips(tmp_path: Path) -> None:
    lab = init_lab(tmp_path / "x", name="Labor für Maß")
    assert load_config(lab.root).lab.name == "Labor für Maß"


def test_render_config_round_trips_changed_values() -> None:
    config = LabConfig()
    config.ray.num_cpus = 8
    config.ray.num_gpus = 0.5
    config.service.max_batch_rows = 5
    assert LabConfig.model_validate(tomllib.loads(render_config(config))) == config


def test_init_copies_both_bundled_recipes(lab: Lab) -> None:
    names = sorted(p.name for p in lab.recipes.iterdir())
    assert names == list(BUNDLED)
    for name in BUNDLED:
        folder = lab.recipes / name
        assert (folder / "steps.py").is_file()
        assert any((folder / "data").iterdir())
        assert not list(folder.rglob("__pycache__"))
        recipe = load_recipe(folder)
        assert recipe.name == name
        assert recipe.data_path("train").is_file()


def test_init_refuses_an_existing_lab(lab: Lab) -> None:
    with pytest.raises(ConfigError) as info:
        init_lab(lab.root)
    assert "already a lab" in info.value.message


# find_lab ------------------------------------------------------------------------


def test_find_lab_by_explicit_path(lab: Lab, tmp_path: Path) -> None:
    assert find_lab(tmp_path / "mylab").root == lab.root
    assert find_lab(str(tmp_path / "mylab")).root == lab.root


def test_find_lab_by_env_var(lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_LAB, str(lab.root))
    assert find_lab(cwd=tmp_path).root == lab.root


def test_explicit_path_wins_over_env_var(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = init_lab(tmp_path / "other")
    monkeypatch.setenv(ENV_LAB, str(other.root))
    assert find_lab(lab.root).root == lab.root
    assert find_lab().root == other.root


def test_env_var_naming_a_non_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_LAB, str(tmp_path))
    with pytest.raises(ConfigError) as info:
        find_lab()
    assert str(tmp_path) in info.value.message and CONFIG_FILE in info.value.message
    assert "mlopslab init" in (info.value.hint or "")


def test_find_lab_by_walking_up(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    deep = lab.recipes / "tabular-classifier" / "data"
    assert find_lab(cwd=deep).root == lab.root
    monkeypatch.chdir(deep)
    assert find_lab().root == lab.root


def test_find_lab_from_the_lab_root(lab: Lab) -> None:
    assert find_lab(cwd=lab.root).root == lab.root


def test_no_lab_anywhere(tmp_path: Path) -> None:
    start = tmp_path / "a" / "b"
    start.mkdir(parents=True)
    with pytest.raises(ConfigError) as info:
        find_lab(cwd=start)
    assert str(start) in info.value.message
    hint = info.value.hint or ""
    assert "mlopslab init" in hint and "--lab" in hint and ENV_LAB in hint


def test_explicit_path_that_is_not_a_lab(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        find_lab(tmp_path)
    assert "not a lab" in info.value.message


# malformed config ------------------------------------------------------------------


def write_config(root: Path, text: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / CONFIG_FILE).write_text(text)
    return root


def test_missing_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(tmp_path / CONFIG_FILE) in info.value.message
    assert "mlopslab init" in (info.value.hint or "")


def test_partial_config_uses_defaults(tmp_path: Path) -> None:
    root = write_config(tmp_path, "[ray]\nnum_cpus = 4\n")
    config = load_config(root)
    assert config.ray.num_cpus == 4
    assert config.service == LabConfig().service


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("[ray]\nnum_cpus = -1\n", "ray.num_cpus"),
        ("[ray]\nport = 70000\n", "ray.port"),
        ('[service]\nmax_batch_rows = "many"\n', "service.max_batch_rows"),
        ("[ray]\nnum_cpu = 4\n", "ray.num_cpu"),
        ("[servce]\nmax_batch_rows = 5\n", "servce"),
        ('lab = "x"\n', "lab"),
    ],
)
def test_malformed_config_names_file_and_field(tmp_path: Path, text: str, field: str) -> None:
    root = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(root)
    message = info.value.message
    assert str(tmp_path / CONFIG_FILE) in message
    assert f"{field}:" in message, message


def test_config_with_bad_toml(tmp_path: Path) -> None:
    root = write_config(tmp_path, "[ray\nnum_cpus = 4\n")
    with pytest.raises(ConfigError) as info:
        load_config(root)
    assert str(tmp_path / CONFIG_FILE) in info.value.message
    assert "not valid TOML" in info.value.message


def test_lab_config_property_raises_config_error(tmp_path: Path) -> None:
    root = write_config(tmp_path, "[ray]\nnum_cpus = -1\n")
    with pytest.raises(ConfigError):
        _ = Lab(root).config


# socket path -----------------------------------------------------------------------


def test_socket_path_inside_a_short_lab(tmp_path: Path) -> None:
    lab = Lab(Path("/tmp/lab"))
    assert lab.socket_path == Path("/tmp/lab/.mlopslab/service.sock")


def test_socket_path_falls_back_for_long_lab_paths() -> None:
    long_root = Path("/tmp") / ("deeply-nested-folder-" * 8) / "lab"
    lab = Lab(long_root)
    path = lab.socket_path
    assert len(str(lab.state / "service.sock")) > MAX_SOCKET_PATH
    assert len(str(path)) <= MAX_SOCKET_PATH
    assert len(os.fsencode(str(path))) < 108  # AF_UNIX sun_path limit on Linux
    assert path.suffix == ".sock"
    assert f"mlopslab-{os.getuid()}" in str(path)
    # stable for one lab, distinct for another
    assert Lab(long_root).socket_path == path
    assert Lab(long_root.parent / "lab2").socket_path != path


def test_a_deployments_control_socket_fits_with_a_deep_folder_and_long_tmpdir(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlopslab.deploy.gateway import control_socket

    long_tmp = tmp_path / ("t" * 90)
    long_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(long_tmp))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    deep = tmp_path / ("d" * 120) / "deployments" / "bc"
    path = control_socket(deep)
    assert len(str(path)) <= MAX_SOCKET_PATH and path.parent.is_dir()
    assert control_socket(deep) == path != control_socket(deep.with_name("other"))
