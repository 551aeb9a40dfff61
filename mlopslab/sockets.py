"""Unix socket paths that fit: a socket path has at most 107 bytes (sun_path less its NUL).

A lab deep in the tree, or a long $TMPDIR, gives paths longer than that; such a
socket moves to a short per-user folder (the temp folder, else /tmp), named by a
hash of where it would have been, so each lab and deployment keeps its own.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

MAX_SOCKET_PATH = 107
LIMIT = 100  # leave a little room below the hard limit


def socket_path(preferred: Path, name: str) -> Path:
    """`preferred` when it fits, else `name-HASH.sock` in a short per-user folder (made 0700)."""
    if len(os.fsencode(preferred)) <= LIMIT:
        return preferred
    digest = hashlib.sha256(str(preferred.resolve()).encode()).hexdigest()[:16]
    candidates = [Path(base) / f"mlopslab-{os.getuid()}" / f"{name}-{digest}.sock"
                  for base in (tempfile.gettempdir(), "/tmp")]
    chosen = next((p for p in candidates if len(os.fsencode(p)) <= LIMIT), candidates[-1])
    chosen.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return chosen
