"""Where alerts are sent besides the lab: a program, a webhook ([alerts] in
mlopslab.toml). A channel's `send` returns None once delivered, else a short error
that never holds the webhook's URL or token (both may be secrets)."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Protocol

from mlopslab.config import AlertsSection

COMMAND_TIMEOUT_S = 30.0
WEBHOOK_TIMEOUT_S = 5.0


class Channel(Protocol):
    @property
    def name(self) -> str: ...

    def send(self, payload: dict[str, Any]) -> str | None: ...


@dataclass(frozen=True)
class CommandChannel:
    """Runs `argv` (no shell) with the alert as JSON on stdin and in MLOPSLAB_ALERT_* variables."""

    argv: tuple[str, ...]
    name: str = "command"

    def send(self, payload: dict[str, Any]) -> str | None:
        alert = payload["alert"]
        env = {**os.environ, "MLOPSLAB_ALERT_EVENT": payload["event"],
               "MLOPSLAB_ALERT_ID": alert["id"], "MLOPSLAB_ALERT_RULE": alert["rule"],
               "MLOPSLAB_ALERT_SEVERITY": alert["severity"],
               "MLOPSLAB_ALERT_MESSAGE": alert["message"]}
        try:
            done = subprocess.run(list(self.argv), input=json.dumps(payload), text=True, env=env,
                                  capture_output=True, timeout=COMMAND_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"{self.argv[0]}: {type(e).__name__}: {e}"[:300]
        if done.returncode != 0:
            return f"{self.argv[0]} exited {done.returncode}: {done.stderr.strip()[-200:]}"
        return None


@dataclass(frozen=True)
class WebhookChannel:
    """POSTs the alert as JSON; a bearer token from the environment variable `token_env`."""

    url: str
    token_env: str = ""
    name: str = "webhook"

    def send(self, payload: dict[str, Any]) -> str | None:
        headers = {"Content-Type": "application/json", "User-Agent": "mlopslab-alerts"}
        token = os.environ.get(self.token_env) if self.token_env else None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.url, data=json.dumps(payload).encode(),
                                         headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as reply:  # noqa: S310
                reply.read(1024)
        except urllib.error.HTTPError as e:
            return f"webhook answered HTTP {e.code}"
        except (urllib.error.URLError, OSError, ValueError) as e:
            reason = getattr(e, "reason", e)
            return f"webhook unreachable ({type(reason).__name__})"
        return None


def channels(settings: AlertsSection) -> list[Channel]:
    found: list[Channel] = []
    if settings.command:
        found.append(CommandChannel(tuple(settings.command)))
    if settings.webhook_url:
        found.append(WebhookChannel(settings.webhook_url, settings.webhook_token_env))
    return found
