"""The selected deployment's panels on the Deployments screen: its serving health over
the last five minutes, the last hour of it as sparklines, and its inputs' drift from
the training data per feature (core/drift_reports.py)."""

from __future__ import annotations

from rich.text import Text

from mlopslab.core.drift import FeatureScore
from mlopslab.core.drift_reports import DriftReport
from mlopslab.core.serving_health import ServingHealth
from mlopslab.tui.widgets.gpu_panel import sparkline

DRIFT_STYLES = {"drifting": "red bold", "stable": "green", "collecting": "cyan", "no reference": "yellow"}
SHOWN_FEATURES = 4


def ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def serving_block(h: ServingHealth | None) -> Text:
    """The last five minutes of serving: requests/s, error rate, latency quantiles, load."""
    text = Text(" last 5 min ", "bold")
    if h is None:
        return text.append("no serving health (the deployment is not live)", "dim")
    if not h.requests:
        text.append("no requests", "dim")
    else:
        errors = h.error_rate or 0.0
        text.append(f"{h.request_rate:,.2f} req/s  ")
        text.append(f"errors {100 * errors:.1f}%", "red bold" if errors >= 0.05 else "yellow" if errors else "green")
        text.append(f"  p50 {ms(h.p50_ms)}  p95 {ms(h.p95_ms)}  p99 {ms(h.p99_ms)} ms")
    queue = "—" if h.queue_depth is None else f"{h.queue_depth:g}"
    batch = "—" if h.batch_rows_mean is None else f"{h.batch_rows_mean:.1f}"
    text.append(f"  queue {queue}  batch {batch}", "dim")
    if h.rejected:
        text.append(f"  {h.rejected} shed", "yellow")
    return text


def history_block(hour: list[ServingHealth]) -> Text:
    """The last hour in equal slices, oldest first: requests/s and p99 as sparklines."""
    text = Text(" last hour  ", "bold")
    if not any(h.requests for h in hour):
        return text.append("no requests", "dim")
    rates = [h.request_rate for h in hour]
    p99s = [h.p99_ms or 0.0 for h in hour]
    text.append(f"req/s {sparkline(rates, len(hour), top=0.0)} max {max(rates):,.2f}")
    text.append(f"   p99 {sparkline(p99s, len(hour), top=0.0)} max {max(p99s):.1f} ms")
    errors = sum(h.errors for h in hour)
    text.append(f"   {errors:,} errors", "red" if errors else "dim")
    return text


def drift_block(r: DriftReport | None) -> Text:
    """Whether the inputs drift: the latest window's drifted features with the statistic
    that broke its threshold, and how many of the last windows drifted."""
    text = Text(" drift  ", "bold")
    if r is None:
        return text.append("—", "dim")
    text.append(r.status, DRIFT_STYLES.get(r.status, ""))
    if r.latest is None or r.status == "no reference":
        return text.append(f"  {r.message}" if r.message else "", "dim")
    p = r.policy
    recent = r.history[:p.n]
    text.append(f"  {sum(w.drifted for w in recent)} of the last {len(recent)} windows drifted "
                f"(alert at {p.k} of {p.n}); window {r.latest.index}, {r.latest.rows:,} rows:", "dim")
    drifted = [s for s in r.latest.features if s.drifted]
    for s in drifted[:SHOWN_FEATURES]:
        text.append("\n  ")
        text.append(s.feature, "red")
        text.append(f"  {broken(s)}")
    more = len(drifted) - SHOWN_FEATURES
    calm = len(r.latest.features) - len(drifted)
    text.append(("\n  " if drifted else " ") + (f"{more} more drifted, " if more > 0 else "")
                + f"{calm} of {len(r.latest.features)} features within their thresholds", "dim")
    return text


def broken(s: FeatureScore) -> str:
    """The statistics of a feature against the largest value each could take undrifted."""
    parts = [f"{name} {value:.3g} > {limit:.3g}" if value > limit else f"{name} {value:.3g}"
             for name, value, limit in (("KS", s.ks, s.ks_threshold), ("PSI", s.psi, s.psi_threshold),
                                        ("chi2", s.chi2, s.chi2_threshold))
             if value is not None and limit is not None]
    return ", ".join(parts)
