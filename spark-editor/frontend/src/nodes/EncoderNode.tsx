import type { NodeProps } from "@xyflow/react";
import { memo } from "react";
import type { SparkFlowNode } from "../model";
import { ComponentBody } from "./ComponentBody";

/** Data in, spikes out (kind `encoder`). */
export const EncoderNode = memo(function EncoderNode(props: NodeProps<SparkFlowNode>) {
  return <ComponentBody {...props} accent="#ffc914" icon="⟿" />;
});
