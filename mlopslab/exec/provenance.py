"""Where a run came from: code version, data versions, dependencies, host."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata as md
import json
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from mlopslab.core.errors import DataValidationError
from mlopslab.core.hashing import hash_files, md5_file, sha256_file, stable_json

KEY_PACKAGES = ("mlopslab", "numpy", "scikit-learn", "skl2onnx", "onnx", "onnxruntime",
                "torch", "ray", "pyarrow", "duckdb")
CODE_SUFFIXES = {".py", ".toml", ".yaml", ".yml", ".json", ".cfg", ".txt"}


def recipe_code_files(folder: Path) -> list[Path]:
    """The files that make up a recipe's code (not its data, caches or outputs)."""
    return [
        p for p in folder.rglob("*")
        if p.is_file() and p.suffix in CODE_SUFFIXES
        and not any(part in {"__pycache__", "data", ".git"} for part in p.relative_to(folder).parts)
    ]


def code_hash(folder: Path) -> str:
    return hash_files(folder, recipe_code_files(folder))


def code_version(folder: Path, folder_hash: str | None = None) -> str:
    """`git:COMMIT` (+`-dirty:HASH` of uncommitted changes) inside git, else `sha256:HASH`
    of the recipe's code files (`folder_hash` when the caller has it already)."""
    commit = _git(folder, "rev-parse", "HEAD")
    if commit is None:
        return f"sha256:{folder_hash or code_hash(folder)}"
    diff = _git(folder, "diff", "HEAD", "--binary", "--", ".") or ""
    untracked = (_git(folder, "ls-files", "--others", "--exclude-standard", "--", ".") or "")
    if not diff and not untracked:
        return f"git:{commit}"
    digest = hashlib.sha256(diff.encode())
    for name in sorted(untracked.split()):
        path = folder / name
        if path.is_file():
            digest.update(name.encode() + sha256_file(path).encode())
    return f"git:{commit}-dirty:{digest.hexdigest()[:16]}"


def script_code_version(script: Path) -> str:
    """A script's code version: its repository's (git, dirty-marked) when it is in one,
    else the sha256 of the script itself (its folder may hold anything)."""
    if git_commit(script.parent) is not None:
        return code_version(script.parent)
    return f"sha256:{sha256_file(script)}"


def git_commit(folder: Path) -> str | None:
    """The commit checked out where `folder` is, or None outside git."""
    return _git(folder, "rev-parse", "HEAD")


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True,
                              timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def data_version(path: Path) -> dict[str, Any]:
    """{hash, source, path, size}: the DVC md5 when DVC tracks the file (a `.dvc` file
    beside it, or an output of a `dvc.yaml` stage in `dvc.lock`), else `sha256:` of the
    content. A tracked file whose content no longer has DVC's md5 (changed without
    `dvc add` or `dvc repro`) is refused: DataValidationError says what to run."""
    tracked = dvc_md5(path) if path.is_file() else None
    if tracked is not None:
        md5, where = tracked
        actual = md5_file(path)
        if actual != md5:
            raise DataValidationError(
                f"{path} changed since DVC recorded it: its md5 is {actual}, {where} says {md5}",
                f"record the new version with `dvc add {path.name}` (or `dvc repro` for a stage's output) "
                f"and commit {where}, or get the recorded one back with `dvc checkout {path.name}`")
        return {"hash": f"md5:{md5}", "source": "dvc", "path": str(path), "size": path.stat().st_size}
    if path.is_dir():
        files = [p for p in path.rglob("*") if p.is_file()]
        return {"hash": f"sha256:{hash_files(path, files)}", "source": "content",
                "path": str(path), "size": sum(p.stat().st_size for p in files)}
    return {"hash": f"sha256:{sha256_file(path)}", "source": "content", "path": str(path),
            "size": path.stat().st_size}


def dvc_md5(path: Path) -> tuple[str, str] | None:
    """The md5 DVC recorded for a file, and where it is recorded: its `.dvc` file, or the
    `dvc.lock` of a `dvc.yaml` stage that outputs it (looked for up to the DVC repository's
    root); None when DVC does not track the file."""
    found = _dvc_file_md5(path)
    if found is not None:
        return found, path.with_name(path.name + ".dvc").name
    resolved = path.resolve()
    for folder in resolved.parents:
        lock = folder / "dvc.lock"
        if lock.is_file():
            md5 = _lock_md5(lock, resolved.relative_to(folder).as_posix())
            if md5 is not None:
                return md5, str(lock)
        if (folder / ".dvc").is_dir():  # the repository's root: no further
            break
    return None


def _dvc_file_md5(path: Path) -> str | None:
    dvc_file = path.with_name(path.name + ".dvc")
    if not dvc_file.is_file():
        return None
    try:
        outs = yaml.safe_load(dvc_file.read_text()).get("outs", [])
    except (OSError, yaml.YAMLError, AttributeError):
        return None
    for out in outs:
        if out.get("path") == path.name and "md5" in out:
            return str(out["md5"])
    return None


def _lock_md5(lock: Path, relative: str) -> str | None:
    try:
        stages = (yaml.safe_load(lock.read_text()) or {}).get("stages", {})
    except (OSError, yaml.YAMLError, AttributeError):
        return None
    for stage in stages.values() if isinstance(stages, dict) else ():
        for out in (stage or {}).get("outs", []) or []:
            if isinstance(out, dict) and out.get("path") == relative and out.get("md5"):
                return str(out["md5"])
    return None


def combined_data_version(versions: dict[str, dict[str, Any]]) -> str | None:
    """One version for the run: the input's own hash when there is one input."""
    if not versions:
        return None
    if len(versions) == 1:
        return str(next(iter(versions.values()))["hash"])
    pairs = {name: v["hash"] for name, v in versions.items()}
    return "sha256:" + hashlib.sha256(stable_json(pairs).encode()).hexdigest()


def dependencies() -> dict[str, Any]:
    """Python version, key package versions, and a hash of every installed distribution.
    Reading every distribution's metadata takes 0.3-1 s, so the record is kept (in this
    process, and in the user's cache folder for the next run process) until a
    site-packages folder on sys.path changes: pip adds or removes .dist-info folders
    there, which changes the folder's mtime."""
    found = _dependencies(_path_signature())
    return {**found, "packages": dict(found["packages"])}


def _path_signature() -> tuple[tuple[str, int], ...]:
    found = [(sys.executable, 0)]
    for entry in sys.path:
        if entry.rstrip("/").endswith(("site-packages", "dist-packages")):
            with contextlib.suppress(OSError):
                found.append((entry, os.stat(entry).st_mtime_ns))
    return tuple(found)


def _cache_file(signature: tuple[tuple[str, int], ...]) -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mlopslab"
    return root / f"dependencies-{hashlib.sha256(repr(signature).encode()).hexdigest()[:20]}.json"


@functools.lru_cache(maxsize=4)
def _dependencies(signature: tuple[tuple[str, int], ...]) -> dict[str, Any]:
    cache = _cache_file(signature)
    with contextlib.suppress(OSError, ValueError):
        kept: dict[str, Any] = json.loads(cache.read_text())
        if isinstance(kept.get("packages"), dict) and isinstance(kept.get("environment_sha256"), str):
            return kept
    found = _read_dependencies()
    with contextlib.suppress(OSError):
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(found))
        partial.replace(cache)
    return found


def _read_dependencies() -> dict[str, Any]:
    installed = sorted(
        f"{d.metadata['Name']}=={d.version}" for d in md.distributions() if d.metadata["Name"]
    )
    key = {}
    for name in KEY_PACKAGES:
        try:
            key[name] = md.version(name)
        except md.PackageNotFoundError:
            continue
    return {
        "python": platform.python_version(), "packages": key,
        "environment_sha256": hashlib.sha256("\n".join(installed).encode()).hexdigest(),
        "distributions": len(installed),
    }


def host() -> str:
    return f"{socket.gethostname()} ({platform.system()} {platform.machine()})"
