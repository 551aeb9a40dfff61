"""How registry facts look in a terminal: tables of models, versions, history, reports."""

from __future__ import annotations

from mlopslab.cli.output import Col, Grid, Role, console, fmt_value, local_time
from mlopslab.core.gate_reports import GateReport, GateVerdict
from mlopslab.core.lineage import Lineage
from mlopslab.core.model_versions import (
    FeatureSchema,
    GateResult,
    ModelSummary,
    ModelVersion,
    ModelVersionDetail,
    VersionSummary,
)
from mlopslab.core.registry import AliasMove, reported_differently


def _gate_text(gate: GateResult | None) -> str:
    if not gate:
        return "[dim]not gated[/]"
    return "[green]passed[/]" if gate.passed else "[red]failed[/]"


def models_table(models: list[ModelSummary]) -> Grid:
    table = Grid([Col("MODEL"), Col("VERSIONS", justify="right"), Col("LATEST", justify="right"),
                  Col("ALIASES", Role.WRAP), Col("UPDATED", Role.DROP)])
    for m in models:
        aliases = " ".join(f"{a}={v}" for a, v in m.aliases.items())
        table.add_row(m.name, str(m.versions), str(m.latest), aliases, local_time(m.updated_at, short=True))
    return table


def versions_table(versions: list[VersionSummary]) -> Grid:
    primary = versions[0].primary_metric or "score"
    table = Grid([Col("VER", justify="right"), Col("ALIASES", Role.WRAP, least=8), Col("GATE"),
                  Col(primary.upper(), justify="right"), Col("SOURCE"), Col("CREATED", Role.DROP)])
    for v in versions:
        score = (v.scores or {}).get(v.primary_metric or "")
        table.add_row(str(v.version), ",".join(v.aliases) or "-", _gate_text(v.gate),
                      fmt_value(score) if score is not None else "-",
                      f"run {v.run_id}" if v.run_id else "file", local_time(v.created_at, short=True))
    return table


def version_detail(v: ModelVersion) -> None:
    def out(text: str) -> None:
        console.print(text, soft_wrap=True)

    out(f"[bold]{v.ref}[/]  {' '.join(v.aliases)}")
    rows = [("sha256", v.sha256), ("size", f"{v.size} B"),
            ("source", f"run {v.run_id}" if v.run_id else f"file {v.info.file}"),
            ("training data", v.train_data), ("holdout data", v.holdout_data),
            ("target / sensitive", f"{v.target} / {v.sensitive or '-'}"),
            ("task / primary", f"{v.task} / {v.primary_metric} ({v.direction})"),
            ("registered", f"{local_time(v.created_at)} by {v.created_by}")]
    for label, value in rows:
        out(f"  [dim]{label:<19}[/]{value}")
    out("[bold]scores (ONNX Runtime on its holdout)[/]")
    scores = v.scores or {}
    reported = reported_differently(scores, v.info.run_metrics or {})
    for key, score in scores.items():
        note = f"  [dim](the run reported {fmt_value(reported[key])})[/]" if key in reported else ""
        out(f"  {key:<19}{fmt_value(score)}{note}")
    out("[bold]schema[/]")
    schema = v.schema or FeatureSchema()
    for side, tensors in (("input", schema.inputs), ("output", schema.outputs)):
        for t in tensors:
            out(f"  {side:<7}{t.name:<14}{t.type} {t.shape}")
    if isinstance(v, ModelVersionDetail) and v.latest_report:
        out("[bold]latest gate report[/]")
        report_detail(v.latest_report)


def report_detail(report: GateReport) -> None:
    out = console.print
    verdict = "[green]PASSED[/]" if report.passed else "[red]FAILED[/]"
    champion = report.champion_version
    out(f"gate report {report.id}  {report.name}@{report.version}  {verdict}  "
        f"(champion: {champion if champion is not None else 'none'}, provider: {report.provider})")
    if isinstance(report, GateVerdict) and (evaluation := report.evaluation):
        which = f"evaluation set {evaluation.set}" if evaluation.set else "data"
        out(f"evaluated on {which} ({evaluation.source}, {report.info.rows} rows): "
            f"{report.holdout_data}", soft_wrap=True)
    table = Grid([Col("GATE"), Col("CHECK"), Col("VALUE", justify="right"), Col("LIMIT"),
                  Col("RESULT"), Col("NOTE", Role.WRAP, least=24)])
    for c in report.checks:
        detail = c.detail or {}
        note = detail.get("error") or detail.get("note") or (
            f"champion {fmt_value(detail['champion_value'])}" if "champion_value" in detail else "")
        if c.name == "schema" and detail.get("changes"):
            note = "; ".join(detail["changes"][:3])
        table.add_row(c.gate, c.name, fmt_value(c.value) if c.value is not None else "-",
                      f"{c.op} {fmt_value(c.limit)}" if c.limit is not None else "-",
                      "[green]pass[/]" if c.passed else "[red]FAIL[/]", str(note))
    out(table)


def history_table(history: list[AliasMove]) -> Grid:
    table = Grid([Col("WHEN"), Col("ALIAS"), Col("FROM", justify="right"), Col("TO", justify="right"),
                  Col("WHO", Role.DROP), Col("WHY", Role.WRAP)])
    for h in history:
        why = (h.reason or "") + ("  [red](forced)[/]" if h.forced else "")
        table.add_row(local_time(h.ts), h.alias, str(h.from_version or "-"),
                      str(h.to_version or "-"), h.actor or "-", why)
    return table


def lineage_view(graph: Lineage) -> None:
    def out(text: str) -> None:
        console.print(text, soft_wrap=True, highlight=False)

    out(f"[bold]{graph.node.ref}[/]  {graph.node.label}")
    for way, part in (("upstream", graph.upstream), ("downstream", graph.downstream)):
        out(f"[bold]{way}[/]" + ("" if part.nodes else "  (nothing)"))
        for edge in part.edges:
            out(f"  {edge.source} [dim]--{edge.relation}-->[/] {edge.target}")  # whole refs
