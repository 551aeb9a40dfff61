"""The queue policy (core/quotas.py) on plain values: quotas, capacity, fair share."""

from __future__ import annotations

from mlopslab.core.quotas import (
    Capacity,
    Demand,
    Job,
    Quota,
    default_time_limit,
    fair_order,
    gpu_seconds,
    rejection,
    schedule,
)

GPU1 = Demand(gpus=1, cpus=1)


def job(i: str, project: str = "p", user: str = "u", demand: Demand = GPU1, prio: int = 0,
        at: float = 0.0) -> Job:
    return Job(i, project, user, demand, prio, at)


def test_project_gpu_quota_lets_one_gpu_run_start_and_says_why_others_wait() -> None:
    queued = [job("a", at=1), job("b", at=2), job("c", at=3)]
    d = schedule(queued, [], [Quota("project", "p", max_gpus=1)], Capacity(4, 8), {})
    assert d.start == ["a"]
    assert "project 'p' uses 1 of 1 GPU" in d.waiting["b"]
    running = schedule(queued[1:], [queued[0]], [Quota("project", "p", max_gpus=1)], Capacity(4, 8), {})
    assert running.start == []


def test_a_run_over_quota_lets_other_projects_pass() -> None:
    queued = [job("a", project="full", at=1), job("b", project="free", at=2)]
    d = schedule(queued, [job("x", project="full")], [Quota("project", "full", max_gpus=1)],
                 Capacity(4, 8), {})
    assert d.start == ["b"] and "quota" in d.waiting["a"]


def test_half_gpu_runs_share_one_gpu_and_a_third_waits() -> None:
    half = Demand(gpus=0.5, cpus=0.5)
    queued = [job("a", demand=half, at=1), job("b", demand=half, at=2), job("c", demand=half, at=3)]
    d = schedule(queued, [], [], Capacity(1, 8), {})
    assert d.start == ["a", "b"]
    assert d.waiting["c"].startswith("waiting for 0.5 GPU")


def test_best_fit_keeps_a_whole_gpu_free_for_a_whole_gpu_run() -> None:
    half = Demand(gpus=0.5, cpus=0.5)
    d = schedule([job("h2", demand=half, at=1), job("w", at=2)], [job("h1", demand=half)], [],
                 Capacity(2, 8), {})
    assert d.start == ["h2", "w"]


def test_a_blocked_big_run_is_not_starved_by_smaller_ones_behind_it() -> None:
    big = Demand(gpus=2, cpus=1)
    queued = [job("big", demand=big, at=1), job("small", at=2), job("cpu", demand=Demand(0, 1), at=3)]
    d = schedule(queued, [job("r")], [], Capacity(2, 8), {})
    assert d.start == ["cpu"]
    assert d.waiting["big"] == "waiting for 2 GPUs (1 of 2 free)"
    assert d.waiting["small"] == "waiting for 1 GPU (free GPUs are held for big, ahead in the queue)"


def test_a_queued_run_the_cluster_can_no_longer_hold_says_so() -> None:
    d = schedule([job("a")], [], [], Capacity(0, 8), {})
    assert d.start == [] and d.waiting["a"] == (
        "cannot start on this cluster: it asks for 1 GPU but the cluster has 0")


def test_priority_then_fair_share_then_submission_order() -> None:
    usage = {("user", "alice"): 3600.0, ("user", "bob"): 0.0}
    queued = [job("a1", user="alice", at=1), job("a2", user="alice", at=2),
              job("b1", user="bob", at=3), job("urgent", user="alice", prio=5, at=4)]
    assert [j.id for j in fair_order(queued, usage)] == ["urgent", "b1", "a1", "a2"]


def test_gpu_hours_per_day_quota_counts_only_the_last_24_hours() -> None:
    now = 100_000.0
    spans = [("p", "u", 1.0, now - 90_000, now - 80_000),   # partly inside the window
             ("p", "u", 2.0, now - 600, None),               # running
             ("q", "v", 1.0, now - 200_000, now - 100_000)]  # outside
    used = gpu_seconds(spans, now)
    assert used[("project", "p")] == 1.0 * (now - 80_000 - (now - 86_400)) + 2.0 * 600
    assert ("project", "q") not in used
    quota = Quota("user", "u", gpu_hours_per_day=1.0)
    d = schedule([job("x")], [], [quota], Capacity(4, 8), {("user", "u"): 3600.0})
    assert d.start == [] and "1.00 of 1 GPU-hours" in d.waiting["x"]


def test_impossible_requests_are_rejected_with_the_reason() -> None:
    assert "cluster has 2" in (rejection(Demand(gpus=4), [], Capacity(2, 8)) or "")
    quota = Quota("project", "p", max_gpus=1, max_time_limit_s=3600)
    assert "may use 1" in (rejection(Demand(gpus=2), [quota], Capacity(4, 8)) or "")
    assert "at most 1h" in (rejection(Demand(time_limit_s=7200), [quota], Capacity(4, 8)) or "")
    assert rejection(Demand(gpus=1, time_limit_s=60), [quota], Capacity(4, 8)) is None


def test_the_quota_maximum_is_the_default_time_limit() -> None:
    quotas = [Quota("project", "p", max_time_limit_s=7200), Quota("user", "u", max_time_limit_s=3600)]
    assert default_time_limit(Demand(), quotas) == 3600
    assert default_time_limit(Demand(time_limit_s=60), quotas) == 60


def test_reasons_count_their_nouns_right() -> None:
    assert rejection(Demand(cpus=1), [], Capacity(0, 0.5)) == "asks for 1 CPU but the cluster has 0.5"
    assert rejection(Demand(cpus=3), [], Capacity(0, 2)) == "asks for 3 CPUs but the cluster has 2"
    one = [Quota("user", "u", max_runs=1)]
    d = schedule([job("a", at=1), job("b", at=2)], [], one, Capacity(4, 8), {})
    assert d.waiting["b"] == "quota: user 'u' runs 1 of at most 1 run"
    d = schedule([job("a", at=1), job("b", at=2)], [], [Quota("project", "p", max_gpus=1)],
                 Capacity(4, 8), {})
    assert d.waiting["b"] == "quota: project 'p' uses 1 of 1 GPU"
