import type { NodeProps } from "@xyflow/react";
import { memo } from "react";
import type { SparkFlowNode } from "../model";
import { ComponentBody } from "./ComponentBody";

/** Spikes in, numbers out (kind `decoder`). */
export const DecoderNode = memo(function DecoderNode(props: NodeProps<SparkFlowNode>) {
  return <ComponentBody {...props} accent="#76b041" icon="Σ" />;
});
