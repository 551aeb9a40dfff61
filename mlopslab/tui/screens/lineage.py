"""Lineage of one thing, both ways: what it came from (data -> run -> version)
above it, what came of it (gate reports, versions, runs) below. enter walks to
the highlighted node; backspace walks back; o opens it (run or model version)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from mlopslab.core.lineage import DeploymentNode, Edge, GateNode, Lineage, Node
from mlopslab.tui.screens.base import LabScreen

KIND_STYLE = {"data": "magenta", "run": "cyan", "model": "bold yellow", "gate": "green",
              "deployment": "blue"}


def short_ref(ref: str) -> str:
    """data:sha256:<64 hex> -> data:sha256:<12 hex>…; other refs stay whole."""
    kind, _, key = ref.partition(":")
    algo, sep, digest = key.partition(":")
    return f"{kind}:{algo}:{digest[:12]}…" if kind == "data" and sep and len(digest) > 12 else ref


KIND_WIDTH = max(map(len, KIND_STYLE)) + 1


def node_label(node: Node) -> Text:
    """What to say of a node after its ref; a deployment says whether it still serves."""
    if isinstance(node, DeploymentNode):
        if node.status == "undeployed":
            return Text("  undeployed", "bright_black")
        serving = f"  serves {node.serving}" if node.serving else ""
        state = node.status or "live"
        return Text(f"  {state}{serving}  {node.label or ''}".rstrip(),
                    "green" if state == "serving" else "yellow")
    return Text(f"  {node.label}", "dim") if node.label else Text()


def node_line(node: Node, edges: list[Edge], marker: str = "  ") -> Text:
    """One node: its kind, ref, label and how it joins its neighbour in `edges`."""
    kind = node.kind
    text = Text(marker, no_wrap=True, overflow="ellipsis")
    text.append(f"{kind:<{KIND_WIDTH}}", KIND_STYLE.get(kind, ""))
    text.append(short_ref(node.ref).split(":", 1)[1], "bold" if marker.strip() else "")
    text.append_text(node_label(node))
    for edge in edges:
        if edge.source == node.ref:
            text.append(f"  ─{edge.relation}→ {short_ref(edge.target)}", "bright_black")
            break
        if edge.target == node.ref:
            text.append(f"  ←{edge.relation}─ {short_ref(edge.source)}", "bright_black")
            break
    return text


class LineageScreen(LabScreen):
    TITLE = "Lineage"
    HELP = ("Where a thing came from and what came of it. Above the highlighted node: its "
            "upstream (data versions, the run, the model version), furthest first; below: its "
            "downstream (gate reports, versions, runs). enter walks to the node under the "
            "cursor, backspace walks back, o opens a run or model version, escape goes back.")
    BINDINGS: ClassVar = [
        Binding("escape", "back", "Back"),
        Binding("backspace", "walk_back", "Walk back"),
        Binding("o", "open", "Open"),
    ]
    DEFAULT_CSS = """
    LineageScreen #lineage-title { height: 1; padding: 0 1; background: $panel; }
    LineageScreen #lineage { height: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, ref: str) -> None:
        super().__init__()
        self.trail: list[str] = [ref]
        self.graph: Lineage | None = None

    @property
    def ref(self) -> str:
        return self.trail[-1]

    def compose_body(self) -> ComposeResult:
        yield Static("loading…", id="lineage-title")
        yield OptionList(id="lineage")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(OptionList).focus()
        self.reload()

    def reload(self) -> None:
        ref = self.ref
        self.in_thread(lambda: self.lab.backend.client.models.lineage(ref), self._show, group="lineage")

    def _show(self, graph: Lineage) -> None:
        self.graph = graph
        node, up, down = graph.node, graph.upstream, graph.downstream
        self.trail[-1] = node.ref
        path = " › ".join(short_ref(r) for r in self.trail[-3:])
        self.query_one("#lineage-title", Static).update(Text.assemble(("lineage ", "bold"), path))
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_option(Option(Text(f"↑ upstream ({len(up.nodes)})", "bold"), disabled=True))
        for n in reversed(up.nodes):
            options.add_option(Option(node_line(n, up.edges), id=n.ref))
        options.add_option(Option(node_line(node, [], "● "), id=node.ref))
        options.add_option(Option(Text(f"↓ downstream ({len(down.nodes)})", "bold"), disabled=True))
        for n in down.nodes:
            options.add_option(Option(node_line(n, down.edges), id=n.ref))
        options.highlighted = len(up.nodes) + 1

    @property
    def highlighted(self) -> str | None:
        options = self.query_one(OptionList)
        if options.highlighted is None:
            return None
        return options.get_option_at_index(options.highlighted).id

    @on(OptionList.OptionSelected)
    def _walk(self, event: OptionList.OptionSelected) -> None:
        ref = event.option.id
        if ref and ref != self.ref:
            self.trail.append(ref)
            self.reload()

    def action_walk_back(self) -> None:
        if len(self.trail) > 1:
            self.trail.pop()
            self.reload()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_open(self) -> None:
        from mlopslab.tui.screens.model_detail import ModelVersionScreen
        from mlopslab.tui.screens.run_detail import RunDetailScreen

        ref = self.highlighted or ""
        kind, _, key = ref.partition(":")
        if kind == "run":
            self.app.push_screen(RunDetailScreen(key))
        elif kind == "model":
            self.app.push_screen(ModelVersionScreen(key))
        elif kind == "gate" and self.graph is not None:
            graph = self.graph
            gates = [n for n in (*graph.upstream.nodes, *graph.downstream.nodes, graph.node)
                     if isinstance(n, GateNode) and n.ref == ref]
            if gates:
                self.app.push_screen(ModelVersionScreen(gates[0].model))
        else:
            self.notify("enter walks to it; only runs and model versions open", title="lineage")
