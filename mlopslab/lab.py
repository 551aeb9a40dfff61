"""A lab on disk: finding it, making it, and where each of its parts lives.

    LAB/
      mlopslab.toml        configuration (documented in the file itself)
      lab.duckdb           the store; only the lab service opens it
      artifacts/sha256/    content-addressed artifacts
      cache/steps/KEY/     cached step outputs
      runs/RUN_ID/         each run's scratch folders and log file
      recipes/             the lab's recipes (bundled examples copied by init)
      .mlopslab/           service socket, pid, logs, Ray state, write spool
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from mlopslab.config import CONFIG_FILE, LabConfig, LabSection, load_config, render_config
from mlopslab.core.errors import ConfigError

ENV_LAB = "MLOPSLAB_LAB"


@dataclass(frozen=True)
class Lab:
    """Paths of one lab. Cheap to build; nothing is opened."""

    root: Path

    @cached_property
    def config(self) -> LabConfig:
        return load_config(self.root)

    @property
    def db_path(self) -> Path:
        return self.root / "lab.duckdb"

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts" / "sha256"

    @property
    def step_cache(self) -> Path:
        return self.root / "cache" / "steps"

    @property
    def recipes(self) -> Path:
        return self.root / "recipes"

    @property
    def state(self) -> Path:
        return self.root / ".mlopslab"

    @property
    def spool(self) -> Path:
        return self.state / "spool"

    def token(self, name: str) -> str:
        """The lab's bearer token for listener `name` (metrics, mlflow), made once in an
        owner-only file STATE/NAME.token."""
        path = self.state / f"{name}.token"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.touch(mode=0o600)
            tmp.write_text(secrets.token_urlsafe(32) + "\n")
            tmp.replace(path)
        return path.read_text().strip()

    def run_dir(self, run_id: str) -> Path:
        return self.root / "runs" / run_id

    def run_log(self, run_id: str) -> Path:
        return self.run_dir(run_id) / "run.log"

    @property
    def socket_path(self) -> Path:
        """Unix socket of the service; under /tmp when the lab path is too long for one."""
        from mlopslab.sockets import socket_path

        return socket_path(self.state / "service.sock", "service")

    def artifact_path(self, sha256: str) -> Path:
        return self.artifacts / sha256[:2] / sha256[2:]


def find_lab(explicit: str | Path | None = None, cwd: Path | None = None) -> Lab:
    """The lab named by --lab, else $MLOPSLAB_LAB, else the nearest folder above cwd."""
    chosen = explicit or os.environ.get(ENV_LAB)
    if chosen:
        root = Path(chosen).expanduser().resolve()
        if not (root / CONFIG_FILE).is_file():
            raise ConfigError(f"{root}: not a lab (no {CONFIG_FILE})", "run `mlopslab init` there")
        return Lab(root)
    start = (cwd or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file():
            return Lab(folder)
    raise ConfigError(
        f"no lab in {start} or any folder above it",
        f"run `mlopslab init PATH`, pass --lab PATH or set {ENV_LAB}",
    )


def bundled_recipes() -> Path:
    """The example recipes shipped with mlopslab (wheel: package data; checkout: repo)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_recipes", here.parent / "recipes"):
        if candidate.is_dir():
            return candidate
    raise ConfigError("the bundled recipes are missing from this installation")


def init_lab(root: Path, name: str | None = None, ray_address: str = "") -> Lab:
    """Make a lab at `root`: config, folders, bundled recipes and the store (migrated), so a
    new lab is complete before its service first starts."""
    root = root.expanduser().resolve()
    if (root / CONFIG_FILE).exists():
        raise ConfigError(f"{root}: already a lab", "use it as it is, or choose another folder")
    config = LabConfig(lab=LabSection(name=name or root.name))
    config.ray.address = ray_address
    lab = Lab(root)
    for folder in (lab.artifacts, lab.step_cache, lab.root / "runs", lab.spool):
        folder.mkdir(parents=True, exist_ok=True)
    (root / CONFIG_FILE).write_text(render_config(config))
    (root / ".gitignore").write_text(
        "lab.duckdb*\nartifacts/\ncache/\nruns/\n.mlopslab/\n"
    )
    _copy_recipes(bundled_recipes(), lab.recipes)
    from mlopslab.store.db import Store

    Store(lab.db_path).close()
    return lab


def _copy_recipes(source: Path, target: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for recipe in sorted(p for p in source.iterdir() if (p / "recipe.toml").is_file()):
        shutil.copytree(recipe, target / recipe.name, ignore=ignore, dirs_exist_ok=True)
