import { Handle, Position, type NodeProps } from "@xyflow/react";
import { memo } from "react";
import { ATTACH_COLOR } from "../catalogue";
import { ATTACH_OUT, type SparkFlowNode } from "../model";
import { ComponentBody } from "./ComponentBody";

/** A plasticity rule (kind `learning_rule`); its `attach` handle goes to the synapse whose weights it changes. */
export const LearningRuleNode = memo(function LearningRuleNode(props: NodeProps<SparkFlowNode>) {
  return (
    <ComponentBody {...props} accent={ATTACH_COLOR} icon="Δ">
      <div className="attach-row top" title="connect to the synapse whose weights this rule changes">
        <Handle type="source" position={Position.Top} id={ATTACH_OUT} className="attach-handle"
          style={{ background: ATTACH_COLOR }} data-testid={`handle-${props.data.name}-attach`} />
        <span>attach</span>
      </div>
    </ComponentBody>
  );
});
