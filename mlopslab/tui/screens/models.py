"""Models: the registry's model names, each one's versions with aliases and gate
status; enter opens a version, p promotes it (asks first), l shows its lineage."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, OptionList, Static
from textual.widgets.option_list import Option

from mlopslab.core.model_versions import GateResult, ModelSummary, VersionSummary
from mlopslab.tui.format import ago, number
from mlopslab.tui.screens.base import LabScreen, selected_key
from mlopslab.tui.screens.promote import promote

# (key, width), most useful first (80 columns show ver to aliases); fixed widths where
# the text is known, so the table does not jump as versions load
COLUMNS: tuple[tuple[str, int | None], ...] = (
    ("ver", 4), ("score", 9), ("gate", 11), ("aliases", None), ("created", 10), ("source", None))


def gate_text(gate: GateResult | None) -> Text:
    """A version's latest gate result, as a short coloured word."""
    if not gate:
        return Text("– not gated", "bright_black")
    return Text("✓ passed", "green") if gate.passed else Text("✗ failed", "bold red")


def alias_text(aliases: list[str]) -> Text:
    text = Text()
    for alias in sorted(aliases, key=lambda a: a != "champion"):
        text.append(("★ " if alias == "champion" else "") + alias + " ",
                    "bold yellow" if alias == "champion" else "cyan")
    text.rstrip()
    return text if text.plain else Text("—", "bright_black")


class ModelsScreen(LabScreen):
    TITLE = "Models"
    HELP = ("The lab's registered models (left) and the versions of the one highlighted "
            "(right, newest first) with their aliases and latest gate result. tab moves between "
            "the two; enter opens a version (its gate report beside the champion's), p promotes "
            "it to champion (asks first; refused unless its gates pass, or forced with a reason), "
            "l shows its lineage.")
    BINDINGS: ClassVar = [
        Binding("enter", "open", "Open", show=False),
        Binding("p", "promote", "Promote"),
        Binding("l", "lineage", "Lineage"),
        Binding("r", "reload", "Refresh", show=False),
    ]
    DEFAULT_CSS = """
    ModelsScreen #model-list { width: 22; height: 1fr; border: tall $surface-lighten-1; }
    ModelsScreen #model-list:focus { border: tall $accent; }
    ModelsScreen #model-summary { height: auto; max-height: 3; padding: 0 1; background: $panel; }
    ModelsScreen #model-versions { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.models: list[ModelSummary] = []
        self.versions: list[VersionSummary] = []

    def compose_body(self) -> ComposeResult:
        with Horizontal():
            yield OptionList(id="model-list")
            with Vertical():
                yield Static("", id="model-summary")
                yield DataTable(id="model-versions", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one(DataTable)
        for name, width in COLUMNS:
            table.add_column(name, key=name, width=width)
        self.query_one(OptionList).focus()
        self.action_reload()

    def on_screen_resume(self) -> None:
        if self.models:  # back from a version or a promotion: aliases may have moved
            self.action_reload()

    def action_reload(self) -> None:
        self.in_thread(self.lab.backend.client.models.list, self._show_models, group="models")

    def _show_models(self, models: list[ModelSummary]) -> None:
        options = self.query_one(OptionList)
        keep = options.highlighted or 0
        self.models = models
        options.clear_options()
        options.add_options([Option(_model_label(m), id=m.name) for m in models])
        if models:
            options.highlighted = min(keep, len(models) - 1)
            self._load_versions()
        else:
            self.query_one("#model-summary", Static).update(Text(
                "no models yet: a finished run of a recipe with [model].register_as registers one, "
                "or `mlopslab models register RUN_ID --name NAME`", "dim"))

    @property
    def model(self) -> ModelSummary | None:
        index = self.query_one(OptionList).highlighted
        return self.models[index] if index is not None and index < len(self.models) else None

    @on(OptionList.OptionHighlighted)
    def _load_versions(self) -> None:
        if (model := self.model) is not None:
            name = model.name
            self.in_thread(lambda: self.lab.backend.client.models.versions(name), self._show_versions,
                           group="versions")

    @on(OptionList.OptionSelected)
    def _into_versions(self) -> None:
        self.query_one(DataTable).focus()

    def _show_versions(self, versions: list[VersionSummary]) -> None:
        model = self.model
        if model is None or not versions or versions[0].name != model.name:
            return  # a late answer for a model no longer highlighted
        self.versions = versions
        table = self.query_one(DataTable)
        keep = table.cursor_row
        table.clear()
        table.columns["score"].label = Text(versions[0].primary_metric or "score")  # type: ignore[index]
        aliases = table.columns["aliases"]  # type: ignore[index]
        aliases.auto_width = False  # as wide as this model's widest, whatever loaded before
        aliases.width = max(len("aliases"), *(alias_text(v.aliases).cell_len for v in versions))
        now = self.lab.clock()
        for v in versions:
            score = (v.scores or {}).get(v.primary_metric or "")
            table.add_row(Text(f"@{v.version}", "bold"), Text(number(score), justify="right"),
                          gate_text(v.gate), alias_text(v.aliases), ago(v.created_at, now),
                          f"run {v.run_id}" if v.run_id else "file", key=str(v.version))
        table.move_cursor(row=min(keep, len(versions) - 1))
        self.query_one("#model-summary", Static).update(_summary(model))

    def _selected(self) -> VersionSummary | None:
        key = selected_key(self.query_one(DataTable))
        return next((v for v in self.versions if str(v.version) == key), None)

    def _ref(self) -> str | None:
        version = self._selected()
        return None if version is None else version.ref

    def action_open(self) -> None:
        from mlopslab.tui.screens.model_detail import ModelVersionScreen

        if self.focused is self.query_one(OptionList):
            self._into_versions()
        elif (ref := self._ref()) is not None:
            self.app.push_screen(ModelVersionScreen(ref))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_lineage(self) -> None:
        from mlopslab.tui.screens.lineage import LineageScreen

        if (ref := self._ref()) is not None:
            self.app.push_screen(LineageScreen(f"model:{ref}"))

    def action_promote(self) -> None:
        version, model = self._selected(), self.model
        if version is not None and model is not None:
            promote(self, version, model.aliases.get("champion"), self.action_reload)


def _model_label(model: ModelSummary) -> Text:
    champion = model.aliases.get("champion")
    text = Text(model.name, "bold")
    count = model.versions
    text.append(f"\n {count} version{'s' if count != 1 else ''}", "dim")
    if champion is not None:
        text.append(f"  ★ @{champion}", "yellow")
    return text


def _summary(model: ModelSummary) -> Text:
    text = Text.assemble((model.name, "bold"), f"  {model.versions} versions, latest @{model.latest}")
    for alias, version in model.aliases.items():
        text.append(f"  {alias} ", "yellow bold" if alias == "champion" else "cyan")
        text.append(f"@{version}")
    return text
