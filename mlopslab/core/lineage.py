"""Lineage: the graph data version -> run -> model version -> gate report -> deployment,
and deployment -> retraining decision -> run.

The store answers "what is next to this node" (`Neighbours`); this module walks
the graph both ways from any node, so a model version leads back to the data it
was trained on and forward to the reports and deployments that use it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Way = Literal["up", "down"]


@dataclass(frozen=True)
class Node:
    """One thing in the lineage graph: `ref` like `model:churn@3`, its kind and what to show.
    A data version known only from its use (not versioned as a run input) is a bare Node."""

    ref: str
    kind: str
    label: str = ""


@dataclass(frozen=True, kw_only=True)
class DataNode(Node):
    source: str | None
    size: int | None


@dataclass(frozen=True, kw_only=True)
class RunNode(Node):
    status: str
    data_version: str | None
    code_version: str | None


@dataclass(frozen=True, kw_only=True)
class ModelNode(Node):
    sha256: str
    source: str


@dataclass(frozen=True, kw_only=True)
class GateNode(Node):
    passed: bool
    model: str  # NAME@N of the version gated
    champion_version: int | None


@dataclass(frozen=True, kw_only=True)
class DeploymentNode(Node):
    backend: str
    status: str
    serving: str | None  # NAME@N it serves, if any


@dataclass(frozen=True, kw_only=True)
class DecisionNode(Node):
    """A retraining decision (core/decisions.py): deployment -> decision -> run."""

    decision_status: str
    reason: str


# the most specific first (a reply's nodes are told apart by the fields they carry)
LineageNode = DataNode | RunNode | ModelNode | GateNode | DeploymentNode | DecisionNode | Node


@dataclass(frozen=True)
class Edge:
    """`source` -> `target`, e.g. data -> run ("input"), run -> model ("trained")."""

    source: str
    target: str
    relation: str


@dataclass(frozen=True)
class LineageWalk:
    """What one way (up or down) from a node reaches; `truncated`: it stopped at the limit."""

    nodes: list[LineageNode]
    edges: list[Edge]
    truncated: bool


@dataclass(frozen=True)
class Lineage:
    """The graph around `node`: what it came from (upstream) and what came of it."""

    node: LineageNode
    upstream: LineageWalk
    downstream: LineageWalk


Neighbours = Callable[[Node, Way], list[tuple[Edge, Node]]]


def walk(start: Node, neighbours: Neighbours, way: Way, max_nodes: int = 500) -> LineageWalk:
    """Every node reachable from `start` going upstream or downstream, breadth first."""
    seen = {start.ref}
    nodes: list[LineageNode] = []
    edges: list[Edge] = []
    frontier = [start]
    while frontier and len(nodes) < max_nodes:
        next_frontier = []
        for node in frontier:
            for edge, other in neighbours(node, way):
                if edge not in edges:
                    edges.append(edge)
                if other.ref not in seen:
                    seen.add(other.ref)
                    nodes.append(other)
                    next_frontier.append(other)
        frontier = next_frontier
    return LineageWalk(nodes=nodes, edges=edges, truncated=bool(frontier))


def lineage(start: Node, neighbours: Neighbours) -> Lineage:
    return Lineage(node=start, upstream=walk(start, neighbours, "up"),
                   downstream=walk(start, neighbours, "down"))
