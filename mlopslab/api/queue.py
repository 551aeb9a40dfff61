"""Operations on the queue, quotas and GPUs."""

from __future__ import annotations

from typing import Any

from mlopslab.api.operation import NoArgs, Request, read, write
from mlopslab.core.gpus import GpuReport
from mlopslab.core.queue import QueueView, QuotaUsage


class SetQuota(Request):
    scope: str
    name: str
    limits: dict[str, Any]
    actor: str | None = None


class ClearQuota(Request):
    scope: str
    name: str
    actor: str | None = None


QUEUE = read("queue", NoArgs, QueueView,
             "Active runs in the order the scheduler will start them, each with why it waits.")
QUOTAS = read("quotas", NoArgs, list[QuotaUsage], "Every quota with what is in use now.")
QUOTA_SET = write("quota_set", SetQuota, QuotaUsage, "Set a project's or user's limits (audited).",
                  idempotent=True)
QUOTA_CLEAR = write("quota_clear", ClearQuota, bool, "Remove a project's or user's limits (audited).",
                    idempotent=True)
GPUS = read("gpus", NoArgs, GpuReport,
            "A GPU snapshot, which run or deployment owns each GPU process, recent kills.")

OPERATIONS = (QUEUE, QUOTAS, QUOTA_SET, QUOTA_CLEAR, GPUS)
