"""Deployment errors (exit code 9 in the CLI)."""

from __future__ import annotations

from mlopslab.core.errors import MlopslabError


class DeployError(MlopslabError):
    """A deployment could not be made, changed or rolled back."""

    exit_code = 9
