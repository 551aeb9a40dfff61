"""The serving image, built offline: no registry is contacted.

The context holds the serving package and its dependencies installed by pip on
this host (`pip download` into a wheel cache, then `pip install --no-index
--target`), at the versions installed here, over the base image `local/base:bookworm`
(a debootstrap rootfs; see .ci/run). The tag is a hash of everything that goes in,
so a second build with nothing changed is a lookup.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from mlopslab.core.errors import DeployError

BASE_IMAGE = "local/base:bookworm"
REPO = "mlopslab/serving"
PACKAGES = ("onnxruntime", "numpy", "uvicorn", "uvloop", "httptools", "orjson", "prometheus-client")
SOURCE = Path(__file__).resolve().parents[1]  # the mlopslab package
DOCKERFILE = SOURCE.parent / "docker" / "Dockerfile.offline"


def cache_dir() -> Path:
    return Path(os.environ.get("MLOPSLAB_CACHE", Path.home() / ".cache" / "mlopslab"))


def requirements() -> list[str]:
    """The serving dependencies pinned to the versions installed here."""
    return [f"{name}=={metadata.version(name)}" for name in PACKAGES]


def _sources() -> list[Path]:
    return [SOURCE / "__init__.py", *sorted((SOURCE / "serving").glob("*.py"))]


def _digest(base_id: str) -> str:
    h = hashlib.sha256(base_id.encode())
    h.update("\n".join(requirements()).encode())
    for path in [DOCKERFILE, *_sources()]:
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()[:12]


def ensure_image(client: Any, base: str = BASE_IMAGE) -> str:
    """The tag of the serving image, building it if this exact one is not there."""
    import docker.errors

    try:
        base_id = client.images.get(base).id
    except docker.errors.ImageNotFound as e:
        raise DeployError(f"base image {base} is missing",
                          hint="make it from debootstrap as .ci/run does (no registry is used)") from e
    tag = f"{REPO}:{_digest(base_id)}"
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    context = _context(tag)
    try:
        client.images.build(path=str(context), dockerfile="Dockerfile", tag=tag, buildargs={"BASE": base},
                            rm=True, pull=False, labels={"mlopslab.image": "serving"})
    except docker.errors.BuildError as e:
        log = "".join(str(x.get("stream", x)) for x in e.build_log)[-2000:]
        raise DeployError(f"building {tag} failed: {e}", hint=log) from e
    finally:
        shutil.rmtree(context, ignore_errors=True)
    _prune(client, tag)
    return tag


def _prune(client: Any, keep: str) -> None:
    """Remove older serving images that no container uses (the engine refuses the others)."""
    import docker.errors

    for image in client.images.list(filters={"label": "mlopslab.image=serving"}):
        if keep not in image.tags:
            try:
                client.images.remove(image.id)
            except docker.errors.APIError:
                pass  # still used by a container


def _context(tag: str) -> Path:
    root = cache_dir()
    wheels, context = root / "wheels", root / f"context-{tag.split(':')[1]}"
    shutil.rmtree(context, ignore_errors=True)
    (context / "app" / "mlopslab" / "serving").mkdir(parents=True)
    wheels.mkdir(parents=True, exist_ok=True)
    _pip("download", "--only-binary=:all:", "--dest", str(wheels), *requirements())
    _pip("install", "--no-index", "--find-links", str(wheels), "--only-binary=:all:", "--no-compile",
         "--target", str(context / "site"), *requirements())
    for path in _sources():
        relative = path.relative_to(SOURCE)
        shutil.copyfile(path, context / "app" / "mlopslab" / relative)
    shutil.copyfile(DOCKERFILE, context / "Dockerfile")
    return context


def _pip(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", "-q", *args], capture_output=True, text=True)
    if done.returncode:
        raise DeployError(f"pip {args[0]} for the serving image failed", hint=done.stderr[-1500:])
