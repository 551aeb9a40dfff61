"""The content-addressed artifact store: files named by their sha256."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from mlopslab.core.hashing import sha256_bytes, sha256_file


def put_bytes(root: Path, data: bytes) -> tuple[str, int]:
    digest = sha256_bytes(data)
    target = _target(root, digest)
    if not target.exists():
        _atomic_write(target, lambda f: f.write(data))
    return digest, len(data)


def put_file(root: Path, source: Path) -> tuple[str, int]:
    digest = sha256_file(source)
    target = _target(root, digest)
    if not target.exists():
        with open(source, "rb") as src:
            _atomic_write(target, lambda f: shutil.copyfileobj(src, f))
    return digest, source.stat().st_size


def path_of(root: Path, digest: str) -> Path:
    return _target(root, digest)


def _target(root: Path, digest: str) -> Path:
    return root / digest[:2] / digest[2:]


def _atomic_write(target: Path, fill: object) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            fill(f)  # type: ignore[operator]
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temp, 0o444)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
