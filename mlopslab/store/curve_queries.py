"""One metric's curves for many runs, downsampled in DuckDB for a chart.

A run's points of the key (nulls left out) have an integer x: the step, or the time
in microseconds. Its x range [lo, hi] is cut into `buckets` equal buckets (point x
falls in (x - lo) * buckets // (hi - lo + 1)) and each bucket keeps its lowest and
its highest point, so a spike survives and no value is made up; a run with at most
2 x buckets points keeps every point. One grouped query does it (a window over the
points costs DuckDB twice as much); the kept pairs come back as columns and are laid
out in x order with numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from mlopslab.core.curves import CurveX, MetricCurve
from mlopslab.core.errors import NotFound

if TYPE_CHECKING:
    from mlopslab.store.db import Store

_X = {"step": ("m.step", "epoch_us(m.ts)", 1.0), "time": ("epoch_us(m.ts)", "m.step", 1e-6)}  # x, tie, scale

# runs are grouped by their place in $ids (an integer groups faster than the id)
_CURVES = """
    WITH wanted AS (SELECT unnest($ids::VARCHAR[]) AS run_id, unnest(range(len($ids::VARCHAR[]))) AS r),
    points AS (
        SELECT w.r, {x} AS x, {tie} AS tie, m.value AS y FROM metrics m JOIN wanted w ON m.run_id = w.run_id
        WHERE m.key = $key AND m.value IS NOT NULL
    ), spans AS (
        SELECT r, min(x) AS lo, max(x) - min(x) + 1 AS span, count(*) AS n FROM points GROUP BY r
    )
    SELECT p.r, any_value(s.n) AS n, arg_min(p.x, p.y) AS lx, min(p.y) AS ly,
           arg_max(p.x, p.y) AS hx, max(p.y) AS hy
    FROM points p JOIN spans s USING (r)
    GROUP BY p.r, CASE WHEN s.n <= 2 * $buckets THEN p.x ELSE (p.x - s.lo) * $buckets // s.span END,
             CASE WHEN s.n <= 2 * $buckets THEN p.tie END
"""


def metric_curves(store: Store, run_ids: list[str], key: str, buckets: int,
                  x: CurveX = "step") -> list[MetricCurve]:
    """`key`'s curve of each run in `run_ids`, in that order (empty where a run has no
    point of it); NotFound naming the ids that are no run."""
    cur = store.cursor()
    wanted = list(dict.fromkeys(run_ids))
    _check_known(cur, wanted)
    x_sql, tie, scale = _X[x]
    got = cur.execute(_CURVES.format(x=x_sql, tie=tie),
                      {"ids": wanted, "key": key, "buckets": buckets}).fetchnumpy()
    found = _curves(got, wanted, scale)
    return [found.get(i) or MetricCurve(i, [], [], 0) for i in run_ids]


def _check_known(cur: Any, run_ids: list[str]) -> None:
    known = {r[0] for r in cur.execute("SELECT id FROM runs WHERE id IN (SELECT unnest($ids::VARCHAR[]))",
                                       {"ids": run_ids}).fetchall()}
    missing = [i for i in run_ids if i not in known]
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise NotFound(f"no run {', '.join(repr(i) for i in missing[:5])}{more}",
                       "metric curves take whole run ids; list runs with `mlopslab runs ls`")


def _curves(got: dict[str, Any], run_ids: list[str], scale: float) -> dict[str, MetricCurve]:
    """Each bucket's (lowest, highest) pair in x order, one point where both are the same."""
    r, n, lx, ly, hx, hy = (np.asarray(got[c]) for c in ("r", "n", "lx", "ly", "hx", "hy"))
    swap = hx < lx
    x0, x1 = np.where(swap, hx, lx), np.where(swap, lx, hx)
    order = np.lexsort((x1, x0, r))
    r, n, x0, x1 = r[order], n[order], x0[order], x1[order]
    y0, y1 = np.where(swap, hy, ly)[order], np.where(swap, ly, hy)[order]
    xs = np.column_stack([x0, x1]).astype(np.float64) * scale
    ys = np.column_stack([y0, y1])
    same = (x0 == x1) & ((y0 == y1) | (np.isnan(y0) & np.isnan(y1)))
    keep = np.column_stack([np.ones(len(r), bool), ~same])
    starts = np.flatnonzero(np.r_[True, r[1:] != r[:-1]]) if len(r) else np.zeros(0, int)
    ends = np.r_[starts[1:], len(r)] if len(r) else starts
    found = {}
    for a, b in zip(starts, ends, strict=True):
        k, run_id = keep[a:b].ravel(), run_ids[int(r[a])]
        found[run_id] = MetricCurve(run_id, xs[a:b].ravel()[k].tolist(), ys[a:b].ravel()[k].tolist(),
                                    int(n[a]))
    return found
