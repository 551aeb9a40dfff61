"""Which ONNX Runtime is installed, and what it can run on.

`onnxruntime` and `onnxruntime-gpu` both provide the module `onnxruntime`; with
both installed, whichever was installed last wins, silently. This reports the
package(s), the version and the execution providers, and says plainly when the
install is wrong (none, or both).
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

PACKAGES = ("onnxruntime", "onnxruntime-gpu")
INSTALL_HINT = 'pip install "mlopslab[cpu]", or "mlopslab[gpu]" on a Linux x86_64 machine with CUDA'


def installed_packages() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def runtime_info() -> dict[str, Any]:
    """{packages, version, providers, problem}: `problem` is None when the install is sound."""
    packages = installed_packages()
    info: dict[str, Any] = {"packages": packages, "version": None, "providers": [], "problem": None}
    try:
        import onnxruntime as ort
    except ImportError:
        info["problem"] = f"ONNX Runtime is not installed: {INSTALL_HINT}"
        return info
    info["version"] = ort.__version__
    info["providers"] = list(ort.get_available_providers())
    if len(packages) > 1:
        info["problem"] = ("both onnxruntime and onnxruntime-gpu are installed and overwrite each "
                           "other's module: pip uninstall -y onnxruntime onnxruntime-gpu, then "
                           "install one (mlopslab[cpu] or mlopslab[gpu])")
    return info
