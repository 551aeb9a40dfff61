"""`python -m mlopslab.serving --model M.onnx --name N [--port P] [...]`: serve one model.

SIGTERM drains: the server stops accepting, answers what it has, then exits.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields

from mlopslab.serving.config import ServerConfig


def parse(argv: list[str] | None = None) -> ServerConfig:
    parser = argparse.ArgumentParser(prog="python -m mlopslab.serving", description=__doc__)
    parser.add_argument("--model", dest="model_path", required=True, help="the ONNX file")
    for f in fields(ServerConfig):
        if f.name in ("model_path",):
            continue
        flag = "--" + f.name.replace("_", "-")
        if f.name == "name":
            parser.add_argument(flag, required=True, help="the model's name in URLs")
        else:
            parser.add_argument(flag, type=type(f.default) if f.default is not None else str,
                                default=f.default, help=f"default {f.default}")
    return ServerConfig(**vars(parser.parse_args(argv)))


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    from mlopslab.serving.app import ModelServer

    config = parse(argv)
    try:
        app = ModelServer(config)
    except Exception as e:  # noqa: BLE001 - a model that cannot load: say why, exit non-zero
        print(f"mlopslab.serving: cannot load {config.model_path}: {e}", file=sys.stderr, flush=True)
        return 3
    print(f"mlopslab.serving: {config.name} v{config.version} on {config.host}:{config.port} "
          f"provider={app.model.provider} batching={config.batching}", file=sys.stderr, flush=True)
    uvicorn.run(app, host=config.host, port=config.port, log_level="warning", access_log=False,
                lifespan="on", timeout_graceful_shutdown=int(config.drain_timeout_s),
                loop="auto", http="auto", backlog=2048)
    return 0


if __name__ == "__main__":
    sys.exit(main())
