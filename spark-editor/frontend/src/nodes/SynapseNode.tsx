import { Handle, Position, type NodeProps } from "@xyflow/react";
import { memo } from "react";
import { ATTACH_COLOR } from "../catalogue";
import { RULES_IN, type SparkFlowNode } from "../model";
import { ComponentBody } from "./ComponentBody";

/** A projection that owns weights (kind `synapse`); learning rules attach to its `rules` handle. */
export const SynapseNode = memo(function SynapseNode(props: NodeProps<SparkFlowNode>) {
  return (
    <ComponentBody {...props} accent="#29335c" icon="⇉">
      <div className="attach-row" title="learning rules attached to this synapse change its weights">
        <Handle type="target" position={Position.Bottom} id={RULES_IN} className="attach-handle"
          style={{ background: ATTACH_COLOR }} data-testid={`handle-${props.data.name}-rules`} />
        <span>rules</span>
      </div>
    </ComponentBody>
  );
});
