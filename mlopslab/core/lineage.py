"""Lineage: the graph data version -> run -> model version -> gate report -> deployment.

The store answers "what is next to this node" (`Neighbours`); this module walks
the graph both ways from any node, so a model version leads back to the data it
was trained on and forward to the reports and deployments that use it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Way = Literal["up", "down"]


@dataclass(frozen=True)
class Node:
    """One thing in the lineage graph: `ref` like `model:churn@3`, plus what to show."""

    ref: str
    kind: str
    label: str = ""
    info: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Edge:
    """`source` -> `target`, e.g. data -> run ("input"), run -> model ("trained")."""

    source: str
    target: str
    relation: str


Neighbours = Callable[[Node, Way], list[tuple[Edge, Node]]]


def walk(start: Node, neighbours: Neighbours, way: Way, max_nodes: int = 500) -> dict[str, Any]:
    """Every node reachable from `start` going upstream or downstream, breadth first."""
    seen = {start.ref}
    nodes: list[Node] = []
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
    return {"nodes": [node_dict(n) for n in nodes], "edges": [edge.__dict__ for edge in edges],
            "truncated": bool(frontier)}


def node_dict(node: Node) -> dict[str, Any]:
    return {"ref": node.ref, "kind": node.kind, "label": node.label, **node.info}


def lineage(start: Node, neighbours: Neighbours) -> dict[str, Any]:
    return {"node": node_dict(start), "upstream": walk(start, neighbours, "up"),
            "downstream": walk(start, neighbours, "down")}
