"""A lab service as mlopslab spoke before the operation table (protocol 1): replies
carry no "v", there is no `hello`, and `ping` reports pid, version and active runs.

    python tests/api/legacy_service.py LAB_ROOT ACTIVE_RUNS

It binds the lab's socket, writes the lab's service.pid like a real service, and
stops on SIGTERM. Tests use it to stand for a service left by an older mlopslab.
"""

from __future__ import annotations

import json
import os
import signal
import socketserver
import sys
from pathlib import Path

from mlopslab.lab import Lab


class Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        for line in self.rfile:
            message = json.loads(line)
            if message.get("op") == "ping":
                reply = {"ok": True, "result": {"pid": os.getpid(), "version": "0.9.0",
                                                "active_runs": ACTIVE}}
            else:
                reply = {"ok": False, "error": {"type": "NotFound",
                                                "message": f"unknown operation '{message.get('op')}'"}}
            self.wfile.write(json.dumps(reply).encode() + b"\n")


if __name__ == "__main__":
    lab = Lab(Path(sys.argv[1]))
    ACTIVE = int(sys.argv[2])
    lab.state.mkdir(parents=True, exist_ok=True)
    lab.socket_path.unlink(missing_ok=True)
    server = socketserver.ThreadingUnixStreamServer(str(lab.socket_path), Handler)
    server.daemon_threads = True
    (lab.state / "service.pid").write_text(str(os.getpid()))
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    print("legacy service up", flush=True)
    server.serve_forever()
