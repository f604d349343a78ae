// Edges coloured by the payload they carry; a delayed edge shows its delay.

import { BaseEdge, EdgeLabelRenderer, getBezierPath, useNodesData, type EdgeProps, type EdgeTypes } from "@xyflow/react";
import { memo } from "react";
import { ATTACH_COLOR, payloadColor, useCatalogue } from "../catalogue";
import { ATTACH_OUT, handlePayload, type SparkFlowEdge, type SparkFlowNode } from "../model";

export const SparkEdge = memo(function SparkEdge(props: EdgeProps<SparkFlowEdge>) {
  const { id, source, sourceHandleId, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, data,
    selected, markerEnd } = props;
  const cat = useCatalogue();
  const src = useNodesData<SparkFlowNode>(source);
  const attach = sourceHandleId === ATTACH_OUT;
  const payload = src ? handlePayload(cat, { id: source, position: { x: 0, y: 0 }, data: src.data } as SparkFlowNode,
    sourceHandleId) : undefined;
  const color = attach ? ATTACH_COLOR : payload ? payloadColor(cat, payload) : "#999";
  const [path, lx, ly] = getBezierPath({ sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition });
  const delay = data?.delay;
  return (
    <>
      <BaseEdge id={id} path={path} markerEnd={markerEnd} interactionWidth={16}
        style={{ stroke: color, strokeWidth: selected ? 3.5 : 2, strokeDasharray: attach ? "6 4" : undefined }} />
      {typeof delay === "number" && delay > 0 && (
        <EdgeLabelRenderer>
          <div className="edge-label nodrag nopan" style={{ transform: `translate(-50%, -50%) translate(${lx}px, ${ly}px)` }}>
            delay {delay} ms
          </div>
        </EdgeLabelRenderer>
      )}
    </>
  );
});

export const edgeTypes: EdgeTypes = { spark: SparkEdge };
