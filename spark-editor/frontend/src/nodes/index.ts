// Node types, defined once at module level. Keys are component kinds as the registry names them
// (catalogue `components[].kind`); a kind without its own type is drawn by `component` (GenericNode).

import type { NodeTypes } from "@xyflow/react";
import { GENERIC_TYPE, INPUT_TYPE, OUTPUT_TYPE } from "../model";
import { DecoderNode } from "./DecoderNode";
import { EncoderNode } from "./EncoderNode";
import { GenericNode } from "./GenericNode";
import { InputNode } from "./InputNode";
import { LearningRuleNode } from "./LearningRuleNode";
import { OutputNode } from "./OutputNode";
import { SomaNode } from "./SomaNode";
import { SynapseNode } from "./SynapseNode";

export const nodeTypes: NodeTypes = {
  soma: SomaNode,
  synapse: SynapseNode,
  learning_rule: LearningRuleNode,
  encoder: EncoderNode,
  decoder: DecoderNode,
  [GENERIC_TYPE]: GenericNode,
  [INPUT_TYPE]: InputNode,
  [OUTPUT_TYPE]: OutputNode,
};
