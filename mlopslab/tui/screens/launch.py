"""Launch a recipe: a form of its typed params and resources, checked as you type
(the same checks as `mlopslab run --set`), then the new run, followed live."""

from __future__ import annotations

import getpass
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, Input, Label, Static

from mlopslab.core.durations import parse_duration
from mlopslab.core.params import check_value, convert
from mlopslab.core.recipe import ParamSpec
from mlopslab.core.run import Run
from mlopslab.runspecs import RunOptions
from mlopslab.tui.backend import RecipeEntry
from mlopslab.tui.format import number
from mlopslab.tui.screens.base import LabScreen


class ParamValidator(Validator):
    """One param's type and range, as `--set` checks them."""

    def __init__(self, spec: ParamSpec) -> None:
        super().__init__()
        self.spec = spec

    def validate(self, value: str) -> ValidationResult:
        try:
            check_value(self.spec, convert(self.spec, value.strip()))
        except ValueError as e:
            return self.failure(str(e).removeprefix("value "))
        return self.success()


class NumberValidator(Validator):
    def __init__(self, minimum: float = 0, integer: bool = False, optional: bool = False) -> None:
        super().__init__()
        self.minimum, self.integer, self.optional = minimum, integer, optional

    def validate(self, value: str) -> ValidationResult:
        if not value.strip() and self.optional:
            return self.success()
        try:
            number = int(value) if self.integer else float(value)
        except ValueError:
            return self.failure(f"{value!r} is not {'a whole number' if self.integer else 'a number'}")
        return self.success() if number >= self.minimum else self.failure(f"must be at least {self.minimum:g}")


class DurationValidator(Validator):
    def validate(self, value: str) -> ValidationResult:
        if not value.strip():
            return self.success()
        try:
            parse_duration(value.strip())
        except Exception as e:  # noqa: BLE001 - its message is the feedback
            return self.failure(str(getattr(e, "message", e)))
        return self.success()


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return "" if value is None else str(value)


class LaunchScreen(LabScreen):
    TITLE = "Launch"
    HELP = ("Edit the params and resources of the recipe; each field is checked as you "
            "type and says what it expects. ctrl+s (or the Launch button) submits the run "
            "and opens it, following its logs; escape goes back without launching.")
    BINDINGS: ClassVar = [Binding("ctrl+s", "launch", "Launch"), Binding("escape", "back", "Back")]

    def __init__(self, entry: RecipeEntry) -> None:
        super().__init__()
        assert entry.recipe is not None
        self.entry, self.recipe = entry, entry.recipe
        self.hints: dict[str, str] = {}

    def on_mount(self) -> None:
        super().on_mount()
        # labels as wide as the longest (a param name is never cut), hints under the fields
        width = max(len(str(label.content)) for label in self.query(".field-label").results(Label)) + 2
        for label in self.query(".field-label"):
            label.styles.width = width
        for hint in self.query(".field-hint"):
            hint.styles.padding = (0, 0, 0, width)
        self.query_one("#launch").styles.margin = (1, 0, 0, width)
        self.query(Input).first().focus()  # typing goes into the first param at once

    def compose_body(self) -> ComposeResult:
        r = self.recipe
        with VerticalScroll(id="launch-form"):
            yield Static(Text.assemble(("launch ", "bold"), (r.name, "bold cyan"), f"  {r.description}"))
            for key, spec in r.params.items():
                hint = f"{spec.type}" + (f" in {spec.choices}" if spec.choices else "")
                if spec.min is not None or spec.max is not None:
                    hint += f" [{number(spec.min)} … {number(spec.max)}]"
                yield from self._field(f"param-{key}", key, _text(spec.default), ParamValidator(spec),
                                       hint + (f" · {spec.help}" if spec.help else ""))
            yield Static(Text("resources and accounting", "bold underline"))
            res = r.resources
            yield from self._field("res-cpus", "cpus", _text(res.cpus), NumberValidator(0), "CPUs per step")
            yield from self._field("res-gpus", "gpus", _text(res.gpus), NumberValidator(0),
                                   "GPUs per step (fractions allowed)")
            yield from self._field("res-gpu-mem", "GPU memory", _text(res.gpu_memory_gb),
                                   NumberValidator(0, optional=True), "GiB; over it the run is killed; empty: none")
            yield from self._field("res-mem", "memory", _text(res.memory_gb), NumberValidator(0, optional=True),
                                   "host GiB per step; empty: none")
            yield from self._field("res-time", "time limit", _text(res.time_limit), DurationValidator(),
                                   "e.g. 30m, 2h; empty: none")
            yield from self._field("opt-priority", "priority", "0", NumberValidator(-1000, integer=True),
                                   "queue priority; higher starts first")
            yield from self._field("opt-seed", "seed", _text(r.seed), NumberValidator(0, integer=True), "")
            yield from self._field("opt-project", "project", self._default_project(), None, "")
            yield Button("Launch (ctrl+s)", id="launch", variant="primary")

    def _default_project(self) -> str:
        try:
            return self.lab.backend.lab.config.lab.default_project
        except Exception:  # noqa: BLE001
            return "default"

    def _field(self, id: str, label: str, value: str, validator: Validator | None, hint: str) -> ComposeResult:
        self.hints[id] = hint
        with Horizontal(classes="field"):
            yield Label(label, classes="field-label")
            yield Input(value, id=id, validators=[validator] if validator else [], classes="field-input")
        yield Static(Text(hint, "dim"), id=f"{id}-hint", classes="field-hint")

    @on(Input.Changed)
    def _checked(self, event: Input.Changed) -> None:
        hint = self.query_one(f"#{event.input.id}-hint", Static)
        result = event.validation_result
        what = self.hints.get(event.input.id or "", "")
        if result is None or result.is_valid:
            hint.update(Text.assemble(("✓ ", "green"), (what, "dim")))
        else:
            hint.update(Text.assemble(("✗ " + "; ".join(result.failure_descriptions), "bold red"),
                                      (f"  ({what})" if what else "", "dim")))

    def invalid(self) -> list[str]:
        bad = []
        for box in self.query(Input):
            result = box.validate(box.value)
            if result is not None and not result.is_valid:
                bad.append(box.id or "?")
        return bad

    def values(self) -> RunOptions:
        def get(id: str) -> str:
            return self.query_one(f"#{id}", Input).value.strip()

        return RunOptions(
            sets=tuple(f"{key}={get(f'param-{key}')}" for key in self.recipe.params),
            cpus=float(get("res-cpus")), gpus=float(get("res-gpus")),
            gpu_memory_gb=float(get("res-gpu-mem")) if get("res-gpu-mem") else None,
            memory_gb=float(get("res-mem")) if get("res-mem") else None,
            priority=int(get("opt-priority") or 0),
            time_limit=get("res-time") or None, seed=int(get("opt-seed")),
            project=get("opt-project") or None, user=getpass.getuser())

    @on(Button.Pressed, "#launch")
    def action_launch(self) -> None:
        bad = self.invalid()
        if bad:
            self.notify("fix the fields marked ✗ first: " + ", ".join(b.split("-", 1)[1] for b in bad),
                        title="launch", severity="error")
            return
        opts = self.values()
        backend, path = self.lab.backend, self.entry.path
        self.notify(f"submitting {self.recipe.name}…", title="launch")
        self.in_thread(lambda: backend.launch(path, opts), self._launched, group="launch")

    def _launched(self, run: Run) -> None:
        """Back to the recipe list (key 4 shows it again); the new run opens on Runs (key 2)."""
        from mlopslab.tui.screens.run_detail import RunDetailScreen

        self.notify(f"run {run.id} submitted", title="launch")
        self.dismiss()
        self.app.switch_mode("runs")
        self.app.push_screen(RunDetailScreen(run.id))

    def action_back(self) -> None:
        self.dismiss()
