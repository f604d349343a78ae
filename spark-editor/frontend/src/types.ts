// Shapes of what the server sends: the catalogue (spark.Registry.to_json()), problems, `.spark` documents.

export interface PayloadType {
  name: string;
  dtype: string;
  unit: string;
  doc: string;
  summable: boolean;
  delayed: boolean;
  color: string;
}

export interface PortSpec {
  name: string;
  direction: "in" | "out";
  payload: string;
  unit: string;
  doc: string;
  optional: boolean;
}

export interface ParamSchema {
  type: string | string[];
  description?: string;
  default?: unknown;
  "x-unit"?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  enum?: unknown[];
}

export interface ComponentSpec {
  id: string;
  distribution: string;
  version: string;
  name: string;
  kind: string;
  class: string;
  doc: string;
  params_schema: { title?: string; properties: Record<string, ParamSchema> };
  inputs: PortSpec[];
  outputs: PortSpec[];
  stochastic: boolean;
  /** only for composites (spark.composite): the file it comes from, its inner nodes and port maps */
  composite?: CompositeInfo;
}

export interface CompositeInfo {
  source: string;
  nodes: { id: string; component: string }[];
  inputs: Record<string, string[]>;
  outputs: Record<string, string>;
}

export interface PackInfo {
  distribution: string;
  version: string;
  entry_point: string;
  status: string;
  error: string | null;
  requires_spark_core: string | null;
  components: string[];
}

export interface Catalogue {
  format: string;
  format_version: number;
  spark_core: string;
  packs: PackInfo[];
  payload_types: PayloadType[];
  components: ComponentSpec[];
}

export interface Problem {
  path: string;
  message: string;
  node: string | null;
  edge: number | null;
  /** "warning": the model is valid and runs, but probably not as meant (an encoder fed by nothing, no outputs) */
  severity?: "error" | "warning";
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface SparkNode {
  id: string;
  component: string;
  shape?: Json[];
  params?: Record<string, Json>;
  attach?: string;
  [key: string]: Json | undefined;
}

export interface SparkDoc {
  format: "spark";
  version: number;
  name?: string;
  dt: number;
  seed?: number;
  requires?: Record<string, string>;
  nodes: SparkNode[];
  edges?: { from: string; to: string; delay?: number; [key: string]: Json | undefined }[];
  inputs?: { name: string; to: string; value?: number; [key: string]: Json | undefined }[];
  outputs?: { name: string; from: string; [key: string]: Json | undefined }[];
  editor?: { [key: string]: Json };
  [key: string]: unknown;
}
