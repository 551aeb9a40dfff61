"""Print a Ray cluster's total resources as JSON: `python -m mlopslab.exec.capacity ADDRESS`.

A separate short process, so the lab service never becomes a Ray driver itself.
Token auth comes from RAY_AUTH_MODE / RAY_AUTH_TOKEN_PATH in the environment.
"""

from __future__ import annotations

import json
import logging
import sys


def main(argv: list[str]) -> int:
    import ray

    ray.init(address=argv[0], log_to_driver=False, logging_level=logging.ERROR,
             configure_logging=False)
    try:
        print(json.dumps(ray.cluster_resources()))
    finally:
        ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
