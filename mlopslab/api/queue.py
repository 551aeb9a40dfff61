"""Operations on the queue, quotas and GPUs."""

from __future__ import annotations

from mlopslab.api.operation import NoArgs, Request, read, write
from mlopslab.core.gpus import GpuReport
from mlopslab.core.queue import QueueView, QuotaUsage


class QuotaLimits(Request):
    """The limits a `quota_set` changes: only those given (None: no limit)."""

    max_gpus: float | None = None
    max_runs: int | None = None
    gpu_hours_per_day: float | None = None
    max_time_limit: str | None = None  # a duration such as "12h"; or, in seconds:
    max_time_limit_s: float | None = None


class SetQuota(Request):
    scope: str
    name: str
    limits: QuotaLimits
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
