import type { NodeProps } from "@xyflow/react";
import { memo } from "react";
import type { SparkFlowNode } from "../model";
import { ComponentBody } from "./ComponentBody";

/** Any component whose kind has no node type of its own (a pack's own kinds, unknown components). */
export const GenericNode = memo(function GenericNode(props: NodeProps<SparkFlowNode>) {
  return <ComponentBody {...props} accent="#888888" icon="□" />;
});
