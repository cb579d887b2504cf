"""Which segments depend on which through ``member_of``: ordering and cycle detection.

The daily run evaluates segments so that a segment is evaluated after every segment it
names (``evaluation_order``); a save that would close a loop is refused
(``check_no_cycle``), because a loop has no evaluation order at all. Pure Python, no Arrow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from seglift.segments.conditions import ConditionError, referenced_segments


def _graph(conditions: Mapping[str, Any]) -> dict[str, list[str]]:
    return {
        segment: sorted(referenced_segments(cond) if isinstance(cond, dict) else set())
        for segment, cond in conditions.items()
    }


def find_cycle(conditions: Mapping[str, Any]) -> list[str] | None:
    """A dependency loop as a list of segment ids (first == last), or None."""
    graph = _graph(conditions)
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for root in sorted(graph):
        if state.get(root):
            continue
        path: list[str] = [root]
        iterators = [iter(graph[root])]
        state[root] = 1
        while iterators:
            nxt = next(iterators[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                iterators.pop()
                continue
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if state.get(nxt) is None and nxt in graph:
                state[nxt] = 1
                path.append(nxt)
                iterators.append(iter(graph[nxt]))
    return None


def check_no_cycle(segment_id: str, condition: Any, conditions: Mapping[str, Any]) -> None:
    """Raise ``ConditionError`` if saving ``condition`` as ``segment_id`` closes a loop."""
    proposed = dict(conditions)
    proposed[segment_id] = condition
    cycle = find_cycle(proposed)
    if cycle and segment_id in cycle:
        # Start the loop at the segment being saved: that is how the merchant reads it.
        ring = cycle[:-1]
        start = ring.index(segment_id)
        loop = [*ring[start:], *ring[:start], segment_id]
        raise ConditionError(
            "segment membership loop: " + " -> ".join(loop)
            + "; a segment cannot (even indirectly) require membership of itself",
            "$",
        )


def evaluation_order(conditions: Mapping[str, Any]) -> list[str]:
    """Segment ids with every ``member_of`` dependency before its dependants.

    Ties keep id order, so the result is deterministic. Raises ``ConditionError`` naming
    the loop if there is one.
    """
    cycle = find_cycle(conditions)
    if cycle:
        raise ConditionError("segment membership loop: " + " -> ".join(cycle))
    graph = _graph(conditions)
    order: list[str] = []
    placed: set[str] = set()

    def place(segment: str) -> None:
        # Iterative post-order, so deep chains do not hit the recursion limit.
        stack = [(segment, iter(graph.get(segment, [])))]
        while stack:
            node, deps = stack[-1]
            dep = next(deps, None)
            if dep is None:
                stack.pop()
                if node not in placed:
                    placed.add(node)
                    order.append(node)
            elif dep not in placed and dep in graph:
                stack.append((dep, iter(graph[dep])))

    for segment in sorted(graph):
        if segment not in placed:
            place(segment)
    return order


def dependants_of(segment_id: str, conditions: Mapping[str, Any]) -> list[str]:
    """Segments whose condition names ``segment_id`` directly."""
    return sorted(s for s, deps in _graph(conditions).items() if segment_id in deps)
