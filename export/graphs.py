"""Small edits of ONNX graphs shared by the exporters that rewrite upstream models."""

from __future__ import annotations

import onnx

__all__ = ["replace_nodes"]


def replace_nodes(graph: onnx.GraphProto, nodes: list[onnx.NodeProto]) -> None:
    """``nodes`` become the graph's; initializers no node reads any more go."""
    used = {x for node in nodes for x in node.input}
    del graph.node[:]
    graph.node.extend(nodes)
    keep = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)
