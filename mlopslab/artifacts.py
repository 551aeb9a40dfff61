"""The content-addressed artifact store: files named by their sha256.

Writes go in with `put_bytes`/`put_file`; reads come out with `verified` (the
stored file, its bytes checked against its name) and `copy_out` (a checked copy
written atomically elsewhere).
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from mlopslab.core.errors import StoreError
from mlopslab.core.hashing import sha256_bytes, sha256_file

CHUNK = 1 << 20


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


def verified(root: Path, digest: str) -> Path:
    """The stored file of `digest`, after checking that its bytes still hash to it."""
    path = _stored(root, digest)
    actual = sha256_file(path)
    if actual != digest:
        raise _damaged(digest, actual)
    return path


def copy_out(root: Path, digest: str, dest: Path, overwrite: bool = False) -> int:
    """Copy the artifact `digest` to `dest`, checking its sha256 on the way: the bytes go
    to a temporary file beside `dest`, which is renamed into place only if they match.
    Without `overwrite` an existing `dest` is left alone (FileExistsError). Returns the size."""
    source = _stored(root, digest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # a file where a folder must be: not "dest exists"
        raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(dest.parent)) from None
    fd, temp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with open(source, "rb") as src, os.fdopen(fd, "wb") as out:
            actual, size = _copy_hashing(src, out)
            out.flush()
            os.fsync(out.fileno())
        if actual != digest:
            raise _damaged(digest, actual)
        os.chmod(temp, 0o666 & ~_umask())
        _place(Path(temp), dest, overwrite)
    finally:
        Path(temp).unlink(missing_ok=True)
    return size


def _stored(root: Path, digest: str) -> Path:
    path = _target(root, digest)
    if not path.is_file():
        raise StoreError(f"the artifact store has no file for sha256:{digest}",
                         f"it is missing from {root}; rerun the run that saved it")
    return path


def _damaged(digest: str, actual: str) -> StoreError:
    return StoreError(f"the stored file for sha256:{digest} is damaged: its bytes hash to {actual}",
                      "rerun the run that saved it (or register the file again) to store it afresh")


def _copy_hashing(src: BinaryIO, out: BinaryIO) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := src.read(CHUNK):
        digest.update(chunk)
        out.write(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _place(temp: Path, dest: Path, overwrite: bool) -> None:
    """Rename `temp` to `dest`; without `overwrite`, atomically refuse an existing `dest`."""
    if overwrite:
        os.replace(temp, dest)
        return
    try:
        os.link(temp, dest)  # fails with FileExistsError if dest exists, whatever the race
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links
        if dest.exists():
            raise FileExistsError(str(dest)) from None
        os.replace(temp, dest)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


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
