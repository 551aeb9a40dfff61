"""One model version: what it is, its scores and its latest gate report, each
beside the champion's; p promotes it, g runs its gates again, l shows lineage."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from mlopslab.core.gate_reports import GateReport, GateReportInfo, GateVerdict
from mlopslab.core.gates import Check
from mlopslab.core.model_versions import ModelVersionDetail
from mlopslab.core.registry import reported_differently
from mlopslab.tui.format import ago, number, size
from mlopslab.tui.screens.base import LabScreen
from mlopslab.tui.screens.models import alias_text
from mlopslab.tui.screens.promote import promote

Loaded = tuple[ModelVersionDetail, ModelVersionDetail | None]


class ModelVersionScreen(LabScreen):
    TITLE = "Model version"
    HELP = ("One model version: source, data hashes, sha256, then its holdout scores and its "
            "latest gate report check by check, beside the champion's. p promotes it (asks "
            "first), g runs its gates again now, l shows its lineage, o opens its run, "
            "escape goes back.")
    BINDINGS: ClassVar = [
        Binding("escape", "back", "Back"),
        Binding("p", "promote", "Promote"),
        Binding("g", "gate", "Run gates"),
        Binding("l", "lineage", "Lineage"),
        Binding("o", "open_run", "Open run"),
    ]
    DEFAULT_CSS = """
    ModelVersionScreen #version-summary { height: auto; padding: 0 1; background: $panel; }
    ModelVersionScreen #version-compare { padding: 0 1; }
    """

    def __init__(self, ref: str) -> None:
        super().__init__()
        self.ref = ref
        self.version: ModelVersionDetail | None = None
        self.champion: ModelVersionDetail | None = None

    def compose_body(self) -> ComposeResult:
        yield Static("loading…", id="version-summary")
        with VerticalScroll(id="version-scroll"):
            yield Static("", id="version-compare")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#version-scroll").focus()
        self.reload()

    def reload(self) -> None:
        backend, ref = self.lab.backend, self.ref

        def fetch() -> Loaded:
            version = backend.client.models.version(ref)
            champion = None
            if "champion" not in version.aliases:
                try:
                    champion = backend.client.models.version(f"{version.name}:champion")
                except Exception:  # noqa: BLE001 - no champion yet
                    champion = None
            return version, champion

        self.in_thread(fetch, self._loaded, group="version")

    def _loaded(self, loaded: Loaded) -> None:
        self.version, self.champion = loaded
        self.ref = self.version.ref
        self.query_one("#version-summary", Static).update(summary(self.version, self.lab.clock()))
        self.query_one("#version-compare", Static).update(compare(self.version, self.champion))

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_promote(self) -> None:
        if self.version is not None:
            champion = self.champion.version if self.champion else (
                self.version.version if "champion" in self.version.aliases else None)
            promote(self, self.version, champion, self.reload)

    def action_gate(self) -> None:
        ref = self.ref
        self.notify(f"running the gates of {ref}…", title="gates")

        def gated(report: GateVerdict) -> None:
            self.notify(f"{ref}: gates {'passed' if report.passed else 'FAILED'}", title="gates",
                        severity="information" if report.passed else "warning")
            self.reload()

        self.in_thread(lambda: self.lab.backend.gate(ref), gated, group="gate")

    def action_lineage(self) -> None:
        from mlopslab.tui.screens.lineage import LineageScreen

        self.app.push_screen(LineageScreen(f"model:{self.ref}"))

    def action_open_run(self) -> None:
        from mlopslab.tui.screens.run_detail import RunDetailScreen

        if self.version is not None and self.version.run_id:
            self.app.push_screen(RunDetailScreen(self.version.run_id))
        elif self.version is not None:
            self.notify("registered from a file: no run", title="open run")


def summary(v: ModelVersionDetail, now: float) -> Group:
    head = Text.assemble((v.ref, "bold"), "  ")
    head.append_text(alias_text(v.aliases))
    source = f"run {v.run_id}" if v.run_id else f"file {v.info.file or ''}"
    rows = Table.grid(padding=(0, 1))
    rows.add_column(style="dim", no_wrap=True, min_width=10)
    rows.add_column(no_wrap=True, overflow="ellipsis")
    rows.add_row("source", f"{source}  ·  registered {ago(v.created_at, now)} by {v.created_by}")
    rows.add_row("train data", str(v.train_data))
    rows.add_row("holdout", f"{v.holdout_data}  target {v.target}"
                 + (f", sensitive {v.sensitive}" if v.sensitive else ""))
    rows.add_row("artifact", f"sha256:{v.sha256[:16]}…  {size(v.size)}  {v.task}")
    return Group(head, rows)


def compare(v: ModelVersionDetail, champion: ModelVersionDetail | None) -> Group:
    """Scores, then gate checks: this version beside the champion."""
    this, other = f"@{v.version}", "champion" + (f" @{champion.version}" if champion else "")
    reported = reported_line(v)
    return Group(report_line(v, champion), Text(""), scores_table(v, champion, this, other),
                 *([reported] if reported.plain else []), Text(""),
                 checks_table(v.latest_report, champion.latest_report if champion else None, this, other))


def reported_line(v: ModelVersionDetail) -> Text:
    """Where the run's own metric differs from the registry's score of the same name, both show."""
    reported = reported_differently(v.scores or {}, v.info.run_metrics or {})
    differ = [f"{key} {number(value)}" for key, value in reported.items()]
    if not differ:
        return Text("")
    return Text(f" the run itself reported {', '.join(differ)} (scores above: ONNX Runtime)", "yellow")


def report_line(v: ModelVersionDetail, champion: ModelVersionDetail | None) -> Text:
    text = Text("gate report  ", "bold")
    text.append_text(_verdict(v.latest_report))
    if "champion" in v.aliases:
        text.append("   this version is the champion", "yellow")
    elif champion is None:
        text.append("   no champion yet: nothing to regress from", "dim")
    else:
        text.append(f"   champion @{champion.version}: ")
        text.append_text(_verdict(champion.latest_report))
    return text


def _verdict(report: GateReport | None) -> Text:
    if report is None:
        return Text("not gated (g runs the gates)", "bright_black")
    against = report.champion_version
    text = Text("✓ passed" if report.passed else "✗ FAILED", "bold green" if report.passed else "bold red")
    text.append(f" {report.id} vs {'@' + str(against) if against is not None else 'none'}", "dim")
    return text


def scores_table(v: ModelVersionDetail, champion: ModelVersionDetail | None, this: str, other: str) -> Table:
    label, mine, theirs = _compared_scores(v, champion)
    table = Table(box=None, padding=(0, 1), header_style="bold", title_justify="left")
    table.add_column(label, no_wrap=True, min_width=18)
    table.add_column(this, justify="right", no_wrap=True)
    table.add_column(other, justify="right", no_wrap=True)
    table.add_column("change", justify="right", no_wrap=True)
    for key in [*mine, *(k for k in theirs if k not in mine)]:
        a, b = mine.get(key), theirs.get(key)
        change = Text("")
        if isinstance(a, int | float) and isinstance(b, int | float) and a != b:
            better = (a > b) == (not _lower_is_better(key))
            change = Text(f"{a - b:+.4f}", "green" if better else "red")
        table.add_row(Text(key, "bold" if key == v.primary_metric else ""), number(a), number(b), change)
    return table


Scores = Mapping[str, float | None]


def _compared_scores(v: ModelVersionDetail, champion: ModelVersionDetail | None) -> tuple[str, Scores, Scores]:
    """Both models' scores on the rows the latest gate compared them on, when that report was
    made against this champion; else each version's scores on its own holdout."""
    report = v.latest_report
    info = report.info if report else GateReportInfo()
    against = report.champion_version if report else None
    if info.scores and (champion is None or (against == champion.version and info.champion_scores)):
        evaluation = info.evaluation
        label = f"eval set {evaluation.set} score" if evaluation and evaluation.set else "gate data score"
        return label, info.scores, info.champion_scores or {}
    return "holdout score", v.scores or {}, (champion.scores if champion else None) or {}


def checks_table(mine: GateReport | None, theirs: GateReport | None, this: str, other: str) -> Table:
    table = Table(box=None, padding=(0, 1), header_style="bold")
    table.add_column("gate check", no_wrap=True, overflow="ellipsis", min_width=18, max_width=30)
    table.add_column("limit", no_wrap=True)
    table.add_column(this, justify="right", no_wrap=True)
    table.add_column("", no_wrap=True, width=1)
    table.add_column(other, justify="right", no_wrap=True)
    table.add_column("", no_wrap=True, width=1)
    by_check = {(c.gate, c.name): c for c in (theirs.checks if theirs else [])}
    order = [(c.gate, c.name) for c in (mine.checks if mine else [])]
    order += [k for k in by_check if k not in order]
    mine_checks = {(c.gate, c.name): c for c in (mine.checks if mine else [])}
    gate = None
    for key in order:
        if key[0] != gate:
            gate = key[0]
            table.add_row(Text(gate, "bold underline"), "", *_gate_cells(mine, gate), *_gate_cells(theirs, gate))
        a, b = mine_checks.get(key), by_check.get(key)
        ref = a or b
        limit = f"{ref.op} {number(ref.limit)}" if ref is not None and ref.limit is not None else ""
        table.add_row(f"  {key[1]}", limit, *_check_cells(a), *_check_cells(b))
    if not order:
        table.add_row(Text("no gate reports yet: g runs the gates", "dim"), "", "", "", "", "")
    return table


def _gate_cells(report: GateReport | None, gate: str) -> tuple[str, Text]:
    if report is None:
        return "", Text("")
    checks = [c.passed for c in report.checks if c.gate == gate]
    if not checks:
        return "", Text("")
    passed = all(checks)
    return "", Text("✓" if passed else "✗", "green" if passed else "bold red")


def _check_cells(check: Check | None) -> tuple[str, Text]:
    if check is None:
        return "—", Text("")
    return number(check.value), Text("✓", "green") if check.passed else Text("✗", "bold red")


def _lower_is_better(metric: str) -> bool:
    return any(word in metric for word in ("loss", "error", "rmse", "mae", "difference"))
