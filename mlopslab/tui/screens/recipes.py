"""Recipes: the lab's recipes with their params, resources and steps; enter opens
the launch form."""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from mlopslab.tui.backend import RecipeEntry
from mlopslab.tui.format import number
from mlopslab.tui.screens.base import LabScreen


class RecipesScreen(LabScreen):
    TITLE = "Recipes"
    HELP = ("The recipes in the lab's recipes/ folder. Up/down pick one; enter (or l) opens "
            "its launch form, where every param is checked as you type.")
    BINDINGS: ClassVar = [Binding("l", "launch", "Launch"), Binding("r", "reload", "Refresh", show=False)]

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[RecipeEntry] = []

    def compose_body(self) -> ComposeResult:
        with Horizontal():
            yield OptionList(id="recipe-list")
            with VerticalScroll(id="recipe-detail"):
                yield Static("", id="recipe-info")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(OptionList).focus()
        self.action_reload()

    def action_reload(self) -> None:
        self.in_thread(self.lab.backend.recipes, self._show, group="recipes")

    def _show(self, entries: list[RecipeEntry]) -> None:
        self.entries = entries
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options([Option(e.name if e.recipe else f"{e.name} (broken)", id=e.name) for e in entries])
        if entries:
            options.highlighted = 0
        else:
            self.query_one("#recipe-info", Static).update(
                Text(f"no recipes in {self.lab.backend.lab.recipes}", "dim"))

    @property
    def selected(self) -> RecipeEntry | None:
        index = self.query_one(OptionList).highlighted
        return self.entries[index] if index is not None and index < len(self.entries) else None

    @on(OptionList.OptionHighlighted)
    def _highlighted(self) -> None:
        if (entry := self.selected) is not None:
            self.query_one("#recipe-info", Static).update(describe_recipe(entry))

    @on(OptionList.OptionSelected)
    def _selected(self) -> None:
        self.action_launch()

    def action_launch(self) -> None:
        from mlopslab.tui.screens.launch import LaunchScreen

        entry = self.selected
        if entry is None or entry.recipe is None:
            problem = (entry.problem or "cannot read this recipe") if entry else "no recipe selected"
            self.notify(problem, title="launch", severity="error")
            return
        self.app.push_screen(LaunchScreen(entry))


def describe_recipe(entry: RecipeEntry) -> Group | Text:
    recipe = entry.recipe
    if recipe is None:
        return Text(entry.problem or "cannot read this recipe", "red")
    # one line per param, never cut, its help below it: readable at 80 columns
    params = Table(box=None, padding=(0, 1), header_style="bold", show_edge=False)
    for name in ("param", "type", "default", "range / choices"):
        params.add_column(name, no_wrap=True)
    rows: list[RenderableType] = [params]
    for key, spec in recipe.params.items():
        allowed = ", ".join(map(str, spec.choices)) if spec.choices else (
            f"{number(spec.min)} … {number(spec.max)}" if spec.min is not None or spec.max is not None else "")
        params.add_row(Text(key, "cyan"), spec.type, number(spec.default), allowed)
    helps = [Text.assemble((f"{key}: ", "cyan"), (spec.help, "dim")) for key, spec in recipe.params.items()
             if spec.help]
    rows += [Padding(h, (0, 0, 0, 1)) for h in helps]
    r = recipe.resources
    return Group(
        Text(recipe.name, "bold"), Text(recipe.description or "", "italic"), Text(""),
        *rows, Text(""),
        Text(f"resources: {number(r.cpus)} CPU, {number(r.gpus)} GPU, time limit {r.time_limit or 'none'}"),
        Text(f"seed {recipe.seed} · steps: {' → '.join(s.name for s in recipe.steps)}"),
        Text(f"data: {', '.join(recipe.data) or 'none'}", "dim"),
    )
