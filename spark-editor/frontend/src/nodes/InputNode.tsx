import { Handle, Position, type NodeProps } from "@xyflow/react";
import { memo, useContext } from "react";
import { payloadColor, useCatalogue } from "../catalogue";
import type { InputData, SparkFlowNode } from "../model";
import { ProblemNodesContext } from "../problems";

/** A named external input of the model (an `inputs[]` entry), feeding one input port. */
export const InputNode = memo(function InputNode({ id, data, selected }: NodeProps<SparkFlowNode>) {
  const cat = useCatalogue();
  const problems = useContext(ProblemNodesContext);
  const d = data as InputData;
  const color = payloadColor(cat, d.payload);
  return (
    <div className={`spark-io input${selected ? " selected" : ""}${problems.has(id) ? " has-problem" : ""}`}
      data-testid={`input-${d.name}`}>
      <div className="io-title">input <b>{d.name}</b></div>
      <div className="io-sub" style={{ color }}>{d.payload}{d.value !== null ? ` = ${d.value}` : ""}</div>
      <Handle type="source" position={Position.Right} id="out:value" className="port-handle"
        style={{ background: color }} data-testid={`handle-input-${d.name}`} data-payload={d.payload} />
    </div>
  );
});
