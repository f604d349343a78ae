import { Handle, Position, type NodeProps } from "@xyflow/react";
import { memo, useContext } from "react";
import { payloadColor, useCatalogue } from "../catalogue";
import type { OutputData, SparkFlowNode } from "../model";
import { ProblemNodesContext } from "../problems";

/** A named output of the model (an `outputs[]` entry), reading one output port. */
export const OutputNode = memo(function OutputNode({ id, data, selected }: NodeProps<SparkFlowNode>) {
  const cat = useCatalogue();
  const problems = useContext(ProblemNodesContext);
  const d = data as OutputData;
  const color = payloadColor(cat, d.payload);
  return (
    <div className={`spark-io output${selected ? " selected" : ""}${problems.has(id) ? " has-problem" : ""}`}
      data-testid={`output-${d.name}`}>
      <Handle type="target" position={Position.Left} id="in:value" className="port-handle"
        style={{ background: color }} data-testid={`handle-output-${d.name}`} data-payload={d.payload} />
      <div className="io-title">output <b>{d.name}</b></div>
      <div className="io-sub" style={{ color }}>{d.payload}</div>
    </div>
  );
});
