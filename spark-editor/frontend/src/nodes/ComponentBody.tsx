// The body every component node shares: header, ports as coloured handles (one row per port), shape.
// Each node type (one file per type in this folder) wraps it with its own accent and extra handles.

import { Handle, Position, useStore, type NodeProps } from "@xyflow/react";
import { memo, useContext, useMemo, type ReactNode } from "react";
import { firstLine, payloadColor, resolveComponent, useCatalogue } from "../catalogue";
import { OpenCompositeContext } from "../composites";
import { handleId, portOf, shapeText, type ComponentData, type SparkFlowNode } from "../model";
import { NodeBadgeContext } from "../badges";
import { ProblemNodesContext } from "../problems";
import type { PortSpec } from "../types";

export interface BodyProps extends NodeProps<SparkFlowNode> {
  accent: string;
  icon: string;
  children?: ReactNode;
}

function PortRow({ node, port }: { node: string; port: PortSpec }) {
  const cat = useCatalogue();
  const color = payloadColor(cat, port.payload);
  const out = port.direction === "out";
  const title = `${port.name} (${port.direction === "in" ? "input" : "output"}, ${port.payload}`
    + `${port.unit ? `, ${port.unit}` : ""})${port.doc ? `: ${port.doc}` : ""}${port.optional ? "" : " (required)"}`;
  return (
    <div className={`port-row ${out ? "out" : "in"}`} title={title}>
      <Handle
        type={out ? "source" : "target"}
        position={out ? Position.Right : Position.Left}
        id={handleId(port.direction, port.name)}
        className="port-handle"
        style={{ background: color }}
        data-testid={`handle-${node}-${port.direction}-${port.name}`}
        data-payload={port.payload}
      />
      <span className="port-name">{port.name}{port.optional ? "" : "*"}</span>
      <span className="port-payload" style={{ color }}>{port.payload}</span>
    </div>
  );
}

/** Ports of a node whose component is not installed, as far as its edges tell (so the edges stay drawn). */
function usePortsFromEdges(id: string, wanted: boolean): PortSpec[] {
  const key = useStore((s) => (wanted ? s.edges.flatMap((e) => [
    e.source === id ? e.sourceHandle : null, e.target === id ? e.targetHandle : null]).filter(Boolean).sort().join("|")
    : ""));
  return useMemo(() => [...new Set(key ? key.split("|") : [])].map((h) => ({
    name: portOf(h), direction: h.startsWith("in:") ? "in" : "out", payload: "?", unit: "", doc: "", optional: true,
  }) as PortSpec), [key]);
}

export const ComponentBody = memo(function ComponentBody({ id, data, selected, accent, icon, children }: BodyProps) {
  const cat = useCatalogue();
  const problems = useContext(ProblemNodesContext);
  const d = data as ComponentData;
  const badges = useContext(NodeBadgeContext).get(d.name);
  const spec = resolveComponent(cat, d.component);
  const guessed = usePortsFromEdges(id, !spec);
  const openComposite = useContext(OpenCompositeContext);
  const classes = ["spark-node", `kind-${spec?.kind ?? "unknown"}`];
  if (spec?.composite) classes.push("composite");
  if (selected) classes.push("selected");
  if (problems.has(id)) classes.push("has-problem");
  return (
    <div className={classes.join(" ")} style={{ borderTopColor: accent }} data-testid={`node-${d.name}`}
      title={spec ? firstLine(spec.doc) : undefined}>
      <div className="spark-node-header">
        <span className="node-icon" aria-hidden>{icon}</span>
        <span className="node-name">{d.name}</span>
        <span className="node-component">{spec ? spec.name : d.component}</span>
        {spec?.composite && (
          <button className="node-open nodrag" data-testid={`open-${d.name}`} aria-label={`open the inside of ${d.name}`}
            title={`composite ${spec.id}: open its inside (or double-click the node)`}
            onClick={(e) => { e.stopPropagation(); openComposite(spec.id); }}>↗</button>
        )}
      </div>
      {!spec && <div className="node-unknown">unknown component {d.component || "(none)"}: install its pack</div>}
      <div className="ports">
        {spec?.inputs.map((p) => <PortRow key={`in-${p.name}`} node={d.name} port={p} />)}
        {spec?.outputs.map((p) => <PortRow key={`out-${p.name}`} node={d.name} port={p} />)}
        {!spec && guessed.map((p) => <PortRow key={`${p.direction}-${p.name}`} node={d.name} port={p} />)}
      </div>
      {d.shape && <div className="node-shape">shape [{shapeText(d.shape)}]</div>}
      {spec?.composite && <div className="node-composite">composite · {spec.composite.nodes.length} inner nodes</div>}
      {badges && badges.length > 0 && (
        <div className="node-badges" data-testid={`badge-${d.name}`}>{badges.map((b) => <span key={b}>{b}</span>)}</div>
      )}
      {children}
    </div>
  );
});
