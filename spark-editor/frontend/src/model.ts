// The model on the canvas <-> the `.spark` document.
//
// Canvas nodes are of three roles: a component node (one `nodes[]` entry), a model input (one `inputs[]` entry,
// drawn as a node with one output handle) and a model output (one `outputs[]` entry). Edges join handles whose
// ids are `in:<port>` / `out:<port>`; the edge from a learning rule's `@attach` handle to a synapse's `@rules`
// handle is the rule's `attach` field. Layout goes into the document's `editor` section, which the loader ignores.

import type { Edge, Node } from "@xyflow/react";
import { ATTACH, findPort, resolveComponent, type CatalogueIndex } from "./catalogue";
import type { Json, SparkDoc } from "./types";

export const ATTACH_OUT = "out:@attach";
export const RULES_IN = "in:@rules";
export const INPUT_TYPE = "spark-input";
export const OUTPUT_TYPE = "spark-output";
export const GENERIC_TYPE = "component";
export const EDGE_TYPE = "spark";

export interface ComponentData extends Record<string, unknown> {
  role: "component";
  name: string;
  component: string;
  params: Record<string, Json>;
  shape: ShapeEntry[] | null; // a composite's inner node may size itself by a param: [{"param": "n"}]
  extra: Record<string, Json>; // keys of the node entry the editor does not know, kept as they are
}

export interface InputData extends Record<string, unknown> {
  role: "input";
  name: string;
  payload: string;
  value: number | null;
}

export interface OutputData extends Record<string, unknown> {
  role: "output";
  name: string;
  payload: string;
}

/** One entry of a node's shape: a size, or (inside a composite) a reference to one of its params. */
export type ShapeEntry = number | { param: string };

/** A shape as text: `100, 20`; a param reference is written as its name (`n`). */
export function shapeText(shape: ShapeEntry[] | null | undefined): string {
  if (!shape) return "";
  return shape.map((x) => (typeof x === "number" ? String(x)
    : x && typeof x === "object" && typeof x.param === "string" ? x.param : JSON.stringify(x))).join(", ");
}

/** The distribution of the user library's composites (`library:<name>`): not a pip distribution, never in `requires`. */
export const LIBRARY = "library";

export type NodeData = ComponentData | InputData | OutputData;
export type SparkFlowNode = Node<NodeData>;

export interface EdgeData extends Record<string, unknown> {
  delay?: number | null;
  extra?: Record<string, Json>;
}
export type SparkFlowEdge = Edge<EdgeData>;

export interface Meta {
  name: string;
  dt: number;
  seed: number;
  description?: string;
  requires: Record<string, string>;
  extra: Record<string, Json>; // unknown top-level keys, kept
  editorExtra: Record<string, Json>; // unknown keys of the editor section, kept
}

export interface ModelState {
  nodes: SparkFlowNode[];
  edges: SparkFlowEdge[];
  meta: Meta;
}

/** Where each document item came from on the canvas, to map validation problems back. */
export interface DocIndex {
  nodes: string[];
  edges: string[];
  inputs: string[];
  outputs: string[];
}

export const NODE_ID_RE = /^[A-Za-z_][A-Za-z0-9_-]*$/;
export const IO_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function newMeta(): Meta {
  return { name: "untitled", dt: 0.1, seed: 0, requires: {}, extra: {}, editorExtra: {} };
}

let counter = 0;
export function freshId(prefix = "n"): string {
  counter += 1;
  return `${prefix}${Date.now().toString(36)}${counter.toString(36)}`;
}

export function handleId(direction: "in" | "out", port: string): string {
  return `${direction}:${port}`;
}

export function portOf(handle: string | null | undefined): string {
  if (!handle) return "";
  const i = handle.indexOf(":");
  return i >= 0 ? handle.slice(i + 1) : handle;
}

/** The node type (a key of `nodeTypes`) for a component kind from the registry. */
export function nodeTypeFor(kind: string | undefined, known: Record<string, unknown>): string {
  return kind && kind in known ? kind : GENERIC_TYPE;
}

export function uniqueName(base: string, taken: Set<string>, re: RegExp = NODE_ID_RE): string {
  let stem = base.replace(/[^A-Za-z0-9_-]/g, "_");
  if (!re.test(stem)) stem = `n_${stem}`;
  if (re === IO_NAME_RE) stem = stem.replace(/-/g, "_");
  if (!taken.has(stem)) return stem;
  for (let k = 2; ; k++) {
    const name = `${stem}_${k}`;
    if (!taken.has(name)) return name;
  }
}

export function namesOf(nodes: SparkFlowNode[], role: NodeData["role"]): Set<string> {
  return new Set(nodes.filter((n) => n.data.role === role).map((n) => n.data.name));
}

// ----- payloads of handles ----------------------------------------------------------------------------------------

export function handlePayload(cat: CatalogueIndex, node: SparkFlowNode | undefined, handle: string | null | undefined):
  string | undefined {
  if (!node || !handle) return undefined;
  if (handle === ATTACH_OUT || handle === RULES_IN) return ATTACH;
  const d = node.data;
  if (d.role === "input" || d.role === "output") return d.payload;
  const direction = handle.startsWith("in:") ? "in" : "out";
  return findPort(resolveComponent(cat, d.component), direction, portOf(handle))?.payload;
}

export interface ConnectionLike {
  source: string | null;
  target: string | null;
  sourceHandle?: string | null;
  targetHandle?: string | null;
}

/** Why a connection may not be made (null when it may). The server's validator checks again. */
export function connectionProblem(cat: CatalogueIndex, nodes: SparkFlowNode[], edges: SparkFlowEdge[],
  c: ConnectionLike): string | null {
  const src = nodes.find((n) => n.id === c.source);
  const dst = nodes.find((n) => n.id === c.target);
  if (!src || !dst) return "connect an output port to an input port";
  let from = handlePayload(cat, src, c.sourceHandle);
  let to = handlePayload(cat, dst, c.targetHandle);
  // a model input / output not yet connected takes the payload of the port it is connected to
  if (src.data.role === "input" && !edges.some((e) => e.source === src.id) && to && to !== ATTACH) from = to;
  if (dst.data.role === "output" && !edges.some((e) => e.target === dst.id) && from && from !== ATTACH) to = from;
  const srcLabel = `${src.data.name}.${portOf(c.sourceHandle)}`;
  const dstLabel = `${dst.data.name}.${portOf(c.targetHandle)}`;
  if (!from || !to) return `unknown port ${!from ? srcLabel : dstLabel}`;
  if (from === ATTACH || to === ATTACH) {
    if (from !== to) return "a learning rule's attach handle connects only to a synapse's rules handle";
  } else if (from !== to) {
    return `cannot connect ${srcLabel} (${from}) to ${dstLabel} (${to}): ports must carry the same payload type`;
  }
  if (edges.some((e) => e.source === c.source && e.target === c.target && e.sourceHandle === c.sourceHandle
    && e.targetHandle === c.targetHandle)) return `${srcLabel} is already connected to ${dstLabel}`;
  if (src.data.role === "input" && edges.some((e) => e.source === src.id)) {
    return `input ${src.data.name} already feeds a port; add another input for another port`;
  }
  if (dst.data.role === "output" && edges.some((e) => e.target === dst.id)) {
    return `output ${dst.data.name} already reads a port; add another output`;
  }
  if (c.sourceHandle === ATTACH_OUT && edges.some((e) => e.source === src.id && e.sourceHandle === ATTACH_OUT)) {
    return `learning rule ${src.data.name} is already attached to a synapse`;
  }
  const payload = cat.payloads.get(to);
  if (payload && !payload.summable && edges.some((e) => e.target === dst.id && e.targetHandle === c.targetHandle)) {
    return `${dstLabel} (${to}) already has a source; ${to} inputs take one source: use one synapse per source`;
  }
  return null;
}

// ----- document -> canvas -----------------------------------------------------------------------------------------

const NODE_KEYS = new Set(["id", "component", "shape", "params", "attach"]);
const DOC_KEYS = new Set(["format", "version", "name", "dt", "seed", "description", "requires", "nodes", "edges",
  "inputs", "outputs", "editor"]);

function isObj(x: unknown): x is Record<string, Json> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function pos(x: unknown): { x: number; y: number } | null {
  if (isObj(x) && typeof x.x === "number" && typeof x.y === "number") return { x: x.x, y: x.y };
  return null;
}

/** `node.port` -> [node, port]. Node ids may hold dots (`cell.soma`, an inner node written out by hand), and a ref
 * may name an inner port of a composite node by path (`layer1.cell.v_dend`): the node is the longest id of the model
 * that the ref starts with; else the part before the last dot (docs/composites.md: a port is the part after it). */
function splitRef(ref: unknown, ids?: Map<string, string>): [string, string] {
  const s = typeof ref === "string" ? ref : "";
  if (ids) {
    for (let i = s.lastIndexOf("."); i > 0; i = s.lastIndexOf(".", i - 1)) {
      if (ids.has(s.slice(0, i))) return [s.slice(0, i), s.slice(i + 1)];
    }
  }
  const i = s.lastIndexOf(".");
  return i >= 0 ? [s.slice(0, i), s.slice(i + 1)] : [s, ""];
}

/** Canvas state of a document. `needsLayout`: some nodes had no position in the editor section. */
export function docToModel(doc: SparkDoc, cat: CatalogueIndex, nodeTypes: Record<string, unknown>):
  ModelState & { needsLayout: boolean } {
  const editor = isObj(doc.editor) ? doc.editor : {};
  const positions = isObj(editor.positions) ? editor.positions : {};
  const inPos = isObj(editor.inputs) ? editor.inputs : {};
  const outPos = isObj(editor.outputs) ? editor.outputs : {};
  let needsLayout = false;
  const place = (p: unknown, k: number) => {
    const found = pos(p);
    if (!found) needsLayout = true;
    return found ?? { x: 0, y: k * 80 };
  };
  const nodes: SparkFlowNode[] = [];
  const edges: SparkFlowEdge[] = [];
  const byName = new Map<string, string>();
  (Array.isArray(doc.nodes) ? doc.nodes : []).forEach((raw, k) => {
    const spec: Record<string, Json> = isObj(raw) ? raw : {};
    const name = typeof spec.id === "string" ? spec.id : `node_${k}`;
    const component = typeof spec.component === "string" ? spec.component : "";
    const extra: Record<string, Json> = {};
    for (const [key, v] of Object.entries(spec)) if (!NODE_KEYS.has(key)) extra[key] = v as Json;
    const id = freshId();
    byName.set(name, id);
    nodes.push({
      id,
      type: nodeTypeFor(resolveComponent(cat, component)?.kind, nodeTypes),
      position: place(positions[name], k),
      data: {
        role: "component", name, component,
        params: isObj(spec.params) ? { ...spec.params } : {},
        shape: Array.isArray(spec.shape) ? (spec.shape as ShapeEntry[]) : null,
        extra,
      },
    });
  });
  (Array.isArray(doc.nodes) ? doc.nodes : []).forEach((raw) => {
    if (isObj(raw) && typeof raw.attach === "string" && typeof raw.id === "string") {
      const src = byName.get(raw.id)!;
      const dst = byName.get(raw.attach) ?? `missing:${raw.attach}`;
      edges.push({ id: freshId("e"), source: src, sourceHandle: ATTACH_OUT, target: dst, targetHandle: RULES_IN,
        data: {} });
    }
  });
  (Array.isArray(doc.edges) ? doc.edges : []).forEach((raw) => {
    const e: Record<string, Json> = isObj(raw) ? raw : {};
    const [sn, sp] = splitRef(e.from, byName);
    const [tn, tp] = splitRef(e.to, byName);
    const extra: Record<string, Json> = {};
    for (const [key, v] of Object.entries(e)) if (!["from", "to", "delay"].includes(key)) extra[key] = v as Json;
    edges.push({
      id: freshId("e"),
      source: byName.get(sn) ?? `missing:${sn}`, sourceHandle: handleId("out", sp),
      target: byName.get(tn) ?? `missing:${tn}`, targetHandle: handleId("in", tp),
      data: { delay: typeof e.delay === "number" ? e.delay : null, extra },
    });
  });
  (Array.isArray(doc.inputs) ? doc.inputs : []).forEach((raw, k) => {
    const spec: Record<string, Json> = isObj(raw) ? raw : {};
    const name = typeof spec.name === "string" ? spec.name : `input_${k}`;
    const [tn, tp] = splitRef(spec.to, byName);
    const target = nodes.find((n) => n.id === byName.get(tn));
    const saved = isObj(inPos[name]) ? inPos[name] : {};
    const payload = (target && handlePayload(cat, target, handleId("in", tp)))
      ?? (typeof saved.payload === "string" ? saved.payload : "Signal");
    const id = freshId("i");
    nodes.push({
      id, type: INPUT_TYPE, position: place(saved, k),
      data: { role: "input", name, payload, value: typeof spec.value === "number" ? spec.value : null },
    });
    edges.push({ id: freshId("e"), source: id, sourceHandle: "out:value", target: byName.get(tn) ?? `missing:${tn}`,
      targetHandle: handleId("in", tp), data: {} });
  });
  (Array.isArray(doc.outputs) ? doc.outputs : []).forEach((raw, k) => {
    const spec: Record<string, Json> = isObj(raw) ? raw : {};
    const name = typeof spec.name === "string" ? spec.name : `output_${k}`;
    const [sn, sp] = splitRef(spec.from, byName);
    const source = nodes.find((n) => n.id === byName.get(sn));
    const saved = isObj(outPos[name]) ? outPos[name] : {};
    const payload = (source && handlePayload(cat, source, handleId("out", sp)))
      ?? (typeof saved.payload === "string" ? saved.payload : "Spikes");
    const id = freshId("o");
    nodes.push({ id, type: OUTPUT_TYPE, position: place(saved, k), data: { role: "output", name, payload } });
    edges.push({ id: freshId("e"), source: byName.get(sn) ?? `missing:${sn}`, sourceHandle: handleId("out", sp),
      target: id, targetHandle: "in:value", data: {} });
  });
  // model inputs/outputs not yet connected (kept only in the editor section)
  const loose = Array.isArray(editor.unconnected) ? editor.unconnected : [];
  for (const raw of loose) {
    if (!isObj(raw) || typeof raw.name !== "string") continue;
    const at = pos(raw) ?? { x: 0, y: 0 };
    const payload = typeof raw.payload === "string" ? raw.payload : "Signal";
    if (raw.role === "input") {
      nodes.push({ id: freshId("i"), type: INPUT_TYPE, position: at,
        data: { role: "input", name: raw.name, payload, value: typeof raw.value === "number" ? raw.value : null } });
    } else if (raw.role === "output") {
      nodes.push({ id: freshId("o"), type: OUTPUT_TYPE, position: at, data: { role: "output", name: raw.name, payload } });
    }
  }
  const extra: Record<string, Json> = {};
  for (const [key, v] of Object.entries(doc)) if (!DOC_KEYS.has(key)) extra[key] = v as Json;
  const editorExtra: Record<string, Json> = {};
  for (const [key, v] of Object.entries(editor)) {
    if (!["positions", "inputs", "outputs", "unconnected"].includes(key)) editorExtra[key] = v as Json;
  }
  const meta: Meta = {
    name: typeof doc.name === "string" ? doc.name : "",
    dt: typeof doc.dt === "number" ? doc.dt : 0.1,
    seed: typeof doc.seed === "number" ? doc.seed : 0,
    requires: isObj(doc.requires) ? { ...(doc.requires as Record<string, string>) } : {},
    extra, editorExtra,
  };
  if (typeof doc.description === "string") meta.description = doc.description;
  // a document with a wrong dt or version still opens; keep the raw value for the validator to report
  if (typeof doc.dt !== "number" && doc.dt !== undefined) meta.extra.dt = doc.dt as Json;
  if (doc.version !== 1 && doc.version !== undefined) meta.extra.version = doc.version as Json;
  for (const e of edges) e.type = EDGE_TYPE;
  return { nodes, edges, meta, needsLayout: needsLayout && nodes.length > 0 };
}

// ----- canvas -> document -----------------------------------------------------------------------------------------

const round = (v: number) => Math.round(v * 10) / 10;

export function modelToDoc(state: ModelState, cat: CatalogueIndex): { doc: SparkDoc; index: DocIndex } {
  const { nodes, edges, meta } = state;
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const index: DocIndex = { nodes: [], edges: [], inputs: [], outputs: [] };
  const requires: Record<string, string> = {};
  const docNodes: SparkDoc["nodes"] = [];
  const positions: Record<string, Json> = {};
  const inPos: Record<string, Json> = {};
  const outPos: Record<string, Json> = {};
  const unconnected: Json[] = [];
  const attach = new Map<string, string>();
  for (const e of edges) {
    if (e.sourceHandle === ATTACH_OUT) {
      const dst = byId.get(e.target);
      attach.set(e.source, dst ? dst.data.name : e.target.replace(/^missing:/, ""));
    }
  }
  for (const n of nodes) {
    const d = n.data;
    if (d.role !== "component") continue;
    const entry: SparkDoc["nodes"][number] = { id: d.name, component: d.component };
    if (d.shape && d.shape.length) entry.shape = d.shape as Json[];
    if (Object.keys(d.params).length) entry.params = { ...d.params };
    const rule = attach.get(n.id);
    if (rule !== undefined) entry.attach = rule;
    Object.assign(entry, d.extra);
    docNodes.push(entry);
    index.nodes.push(n.id);
    positions[d.name] = { x: round(n.position.x), y: round(n.position.y) };
    const spec = resolveComponent(cat, d.component);
    const version = spec && cat.packVersions.get(spec.distribution);
    if (spec && version && spec.distribution !== LIBRARY && !(spec.distribution in meta.requires)) requires[spec.distribution] = `>=${version}`;
  }
  const refName = (id: string) => byId.get(id)?.data.name ?? id.replace(/^missing:/, "");
  const docEdges: NonNullable<SparkDoc["edges"]> = [];
  const docInputs: NonNullable<SparkDoc["inputs"]> = [];
  const docOutputs: NonNullable<SparkDoc["outputs"]> = [];
  for (const e of edges) {
    if (e.sourceHandle === ATTACH_OUT) continue;
    const src = byId.get(e.source);
    const dst = byId.get(e.target);
    if (src?.data.role === "input") {
      const d = src.data as InputData;
      const item: NonNullable<SparkDoc["inputs"]>[number] = {
        name: d.name, to: `${refName(e.target)}.${portOf(e.targetHandle)}` };
      if (d.value !== null && d.value !== undefined) item.value = d.value;
      docInputs.push(item);
      index.inputs.push(src.id);
      continue;
    }
    if (dst?.data.role === "output") {
      docOutputs.push({ name: dst.data.name, from: `${refName(e.source)}.${portOf(e.sourceHandle)}` });
      index.outputs.push(dst.id);
      continue;
    }
    const item: NonNullable<SparkDoc["edges"]>[number] = {
      from: `${refName(e.source)}.${portOf(e.sourceHandle)}`, to: `${refName(e.target)}.${portOf(e.targetHandle)}` };
    if (typeof e.data?.delay === "number") item.delay = e.data.delay;
    Object.assign(item, e.data?.extra ?? {});
    docEdges.push(item);
    index.edges.push(e.id);
  }
  for (const n of nodes) {
    const d = n.data;
    if (d.role === "component") continue;
    const connected = edges.some((e) => e.source === n.id || e.target === n.id);
    const at = { x: round(n.position.x), y: round(n.position.y) };
    if (!connected) {
      unconnected.push({ role: d.role, name: d.name, payload: d.payload, ...at,
        ...(d.role === "input" && d.value !== null ? { value: d.value } : {}) });
    } else if (d.role === "input") {
      inPos[d.name] = { ...at, payload: d.payload };
    } else {
      outPos[d.name] = { ...at, payload: d.payload };
    }
  }
  const doc: SparkDoc = { format: "spark", version: 1, name: meta.name, dt: meta.dt, seed: meta.seed } as SparkDoc;
  if (meta.description !== undefined) doc.description = meta.description;
  doc.requires = { ...meta.requires, ...requires };
  doc.nodes = docNodes;
  doc.edges = docEdges;
  doc.inputs = docInputs;
  doc.outputs = docOutputs;
  Object.assign(doc, meta.extra);
  const editor: Record<string, Json> = { ...meta.editorExtra, positions, inputs: inPos, outputs: outPos };
  if (unconnected.length) editor.unconnected = unconnected;
  doc.editor = editor;
  return { doc, index };
}

/** The canvas item a validation problem is about: a node id or an edge id. */
export function problemTarget(p: { path: string; node: string | null; edge: number | null }, index: DocIndex,
  nodes: SparkFlowNode[]): { node?: string; edge?: string } | null {
  if (p.edge !== null && p.edge !== undefined && index.edges[p.edge]) return { edge: index.edges[p.edge] };
  if (p.node) {
    const n = nodes.find((x) => x.data.role === "component" && x.data.name === p.node);
    if (n) return { node: n.id };
  }
  const m = /^\$\.(nodes|edges|inputs|outputs)\[(\d+)\]/.exec(p.path);
  if (m) {
    const k = Number(m[2]);
    if (m[1] === "edges" && index.edges[k]) return { edge: index.edges[k] };
    const list = m[1] === "nodes" ? index.nodes : m[1] === "inputs" ? index.inputs : m[1] === "outputs" ? index.outputs : [];
    if (list[k]) return { node: list[k] };
  }
  return null;
}

/** A plain copy of the state for the undo history (selection and measurements dropped). */
export function snapshot(state: ModelState): ModelState {
  return {
    nodes: state.nodes.map(({ id, type, position, data }) => ({ id, type, position: { ...position },
      data: structuredClone(data) })),
    edges: state.edges.map(({ id, type, source, target, sourceHandle, targetHandle, data }) => ({
      id, type, source, target, sourceHandle, targetHandle, data: structuredClone(data ?? {}) })),
    meta: structuredClone(state.meta),
  };
}
