"""Content hashes: files, folders, step cache keys."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

CHUNK = 1 << 20


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def md5_file(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def hash_files(root: Path, files: Iterable[Path]) -> str:
    """One sha256 over the relative names and contents of `files` under `root`."""
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(sha256_file(path).encode() + b"\n")
    return digest.hexdigest()


def stable_json(value: Any) -> str:
    """JSON with sorted keys: the same value always gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def step_key(
    *, step: str, code: str, params: dict[str, Any], seed: int, data: dict[str, str],
    upstream: dict[str, str],
) -> str:
    """Cache key of one step: the hash of everything its output depends on."""
    payload = {
        "step": step, "code": code, "params": params, "seed": seed,
        "data": data, "upstream": upstream,
    }
    return sha256_bytes(stable_json(payload).encode())
