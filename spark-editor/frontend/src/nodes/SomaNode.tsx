import type { NodeProps } from "@xyflow/react";
import { memo } from "react";
import type { SparkFlowNode } from "../model";
import { ComponentBody } from "./ComponentBody";

/** A population of neurons (kind `soma`). */
export const SomaNode = memo(function SomaNode(props: NodeProps<SparkFlowNode>) {
  return <ComponentBody {...props} accent="#2d6cdf" icon="◉" />;
});
