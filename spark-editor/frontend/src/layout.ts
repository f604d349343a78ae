// Automatic layout: layered, left to right (dagre), with measured node sizes where known.

import dagre from "@dagrejs/dagre";
import type { SparkFlowEdge, SparkFlowNode } from "./model";

export function estimateSize(n: SparkFlowNode): { width: number; height: number } {
  const width = n.measured?.width ?? (n.data.role === "component" ? 220 : 150);
  const height = n.measured?.height ?? (n.data.role === "component" ? 110 : 56);
  return { width, height };
}

/** New positions for every node (a copy of `nodes`); edges give the layers. */
export function layout(nodes: SparkFlowNode[], edges: SparkFlowEdge[]): SparkFlowNode[] {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "LR", nodesep: 40, ranksep: 90, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  const ids = new Set(nodes.map((n) => n.id));
  for (const n of nodes) g.setNode(n.id, estimateSize(n));
  for (const e of edges) {
    if (ids.has(e.source) && ids.has(e.target) && e.source !== e.target) {
      // a learning rule sits beside its synapse, not in a layer of its own
      g.setEdge(e.source, e.target, { minlen: e.sourceHandle === "out:@attach" ? 0 : 1 }, e.id);
    }
  }
  dagre.layout(g);
  return nodes.map((n) => {
    const p = g.node(n.id);
    const { width, height } = estimateSize(n);
    return { ...n, position: { x: Math.round(p.x - width / 2), y: Math.round(p.y - height / 2) } };
  });
}
