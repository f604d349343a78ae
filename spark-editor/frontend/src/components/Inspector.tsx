// The right-hand panel: a form for the selected node (name, shape, params from its params_schema) or edge
// (delay), or for the model itself when nothing is selected.

import { useContext, useEffect, useState } from "react";
import { api } from "../api";
import { findPort, payloadColor, resolveComponent, useCatalogue } from "../catalogue";
import { OpenCompositeContext } from "../composites";
import {
  ATTACH_OUT, IO_NAME_RE, NODE_ID_RE, portOf, shapeText, type ComponentData, type InputData, type Meta, type NodeData,
  type SparkFlowEdge, type SparkFlowNode,
} from "../model";
import type { Json } from "../types";
import { ParamField } from "./ParamField";

interface Props {
  nodes: SparkFlowNode[];
  edges: SparkFlowEdge[];
  meta: Meta;
  onNodeData: (id: string, data: Partial<NodeData>) => void;
  onEdgeData: (id: string, data: Record<string, unknown>) => void;
  onMeta: (patch: Partial<Meta>) => void;
}

/** A text field committed on Enter / blur; `check` returns an error message or the value to store. */
function TextField({ label, value, check, commit, testid, help, placeholder }: {
  label: string; value: string; testid: string; help?: string; placeholder?: string;
  check: (text: string) => { error: string } | { value: unknown };
  commit: (value: any) => void;
}) {
  const [draft, setDraft] = useState(value);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => { setDraft(value); setError(null); }, [value]);
  const done = () => {
    if (draft === value) { setError(null); return; }
    const r = check(draft);
    if ("error" in r) setError(r.error);
    else { setError(null); commit(r.value); }
  };
  return (
    <div className={`param${error ? " invalid" : ""}`}>
      <label htmlFor={testid}><span className="param-name">{label}</span></label>
      <div className="param-input">
        <input id={testid} data-testid={testid} type="text" value={draft} placeholder={placeholder}
          spellCheck={false} aria-invalid={error ? true : undefined}
          onChange={(e) => setDraft(e.target.value)} onBlur={done}
          onKeyDown={(e) => {
            if (e.key === "Enter") (e.target as HTMLInputElement).blur();
            if (e.key === "Escape") { setDraft(value); setError(null); }
          }} />
      </div>
      {help && <div className="param-help">{help}</div>}
      {error && <div className="param-error" role="alert" data-testid={`${testid}-error`}>{error}</div>}
    </div>
  );
}

function nameCheck(nodes: SparkFlowNode[], self: SparkFlowNode, re: RegExp, what: string) {
  return (text: string) => {
    const t = text.trim();
    if (!re.test(t)) {
      return { error: `${JSON.stringify(t)} is not a valid ${what} name: use letters, digits and _`
        + `${re === NODE_ID_RE ? " or -" : ""}, not starting with a digit` };
    }
    if (nodes.some((n) => n.id !== self.id && n.data.role === self.data.role && n.data.name === t)) {
      return { error: `another ${what} is already named ${JSON.stringify(t)}; names must be unique` };
    }
    return { value: t };
  };
}

function shapeCheck(text: string) {
  const t = text.trim().replace(/^\[|\]$/g, "");
  if (!t) return { value: null };
  const parts = t.split(/[\s,×]+/).filter(Boolean);
  // a name is a reference to a param of the composite being edited (`n` -> {"param": "n"})
  if (parts.every((p) => (/^\d+$/.test(p) && Number(p) > 0) || /^[A-Za-z_]\w*$/.test(p))) {
    return { value: parts.map((p) => (/^\d+$/.test(p) ? Number(p) : { param: p })) };
  }
  return { error: `shape ${JSON.stringify(text)} must be positive whole numbers, e.g. 100 or 28, 28 (or, inside a `
    + "composite, names of its params)" };
}

function ComponentInspector({ node, nodes, onNodeData }: { node: SparkFlowNode; nodes: SparkFlowNode[];
  onNodeData: Props["onNodeData"] }) {
  const cat = useCatalogue();
  const d = node.data as ComponentData;
  const spec = resolveComponent(cat, d.component);
  const openComposite = useContext(OpenCompositeContext);
  const commitParam = (name: string) => async (value: unknown | undefined): Promise<string | null> => {
    const params: Record<string, unknown> = { ...d.params };
    if (value === undefined) delete params[name];
    else params[name] = value;
    let res;
    try {
      res = await api.checkParams(d.component, params);
    } catch (e) {
      return `cannot check the value: ${(e as Error).message}`;
    }
    if (!res.ok) {
      const mine = res.problems?.find((p) => p.param === name);
      return mine?.message ?? res.message ?? "invalid value";
    }
    // store what the core made of it (e.g. 10 -> 10.0 stays a number), only for parameters set explicitly
    const stored: Record<string, Json> = {};
    for (const k of Object.keys(params)) stored[k] = (res.params?.[k] ?? params[k]) as Json;
    onNodeData(node.id, { params: stored });
    return null;
  };
  return (
    <div className="inspector-body" data-testid="inspector-node">
      <h2>{spec ? spec.name : d.component} <span className="muted">{spec?.kind}</span></h2>
      <div className="muted small">{d.component}{spec ? ` · ${spec.version}` : ""}</div>
      <TextField label="name" value={d.name} testid="node-name" check={nameCheck(nodes, node, NODE_ID_RE, "node")}
        commit={(v) => onNodeData(node.id, { name: v })} help="the node's id in the model (edges refer to it)" />
      {spec?.composite && (
        <div className="composite-box">
          <p className="muted small">A composite of {spec.composite.nodes.length} nodes
            ({spec.composite.nodes.map((n) => n.id).join(", ")}); its params set its shape.</p>
          <button data-testid="open-composite" onClick={() => openComposite(spec.id)}>Open inside ↗</button>
        </div>
      )}
      {!spec?.composite && <TextField label="shape" value={shapeText(d.shape)} testid="node-shape" check={shapeCheck}
        placeholder="inferred from connections"
        help={spec?.kind === "synapse" || spec?.kind === "learning_rule"
          ? "[n_pre, n_post]; leave empty to infer it from the connected populations"
          : "number of neurons, e.g. 100 or 28, 28"}
        commit={(v) => onNodeData(node.id, { shape: v })} />}
      {spec ? (
        <>
          <h3>Parameters</h3>
          {Object.entries(spec.params_schema.properties).map(([name, schema]) => (
            <ParamField key={`${node.id}-${name}`} name={name} schema={schema} value={d.params[name]}
              onCommit={commitParam(name)} />
          ))}
          {Object.keys(spec.params_schema.properties).length === 0 && <p className="muted">No parameters.</p>}
          <h3>Ports</h3>
          <ul className="port-list">
            {[...spec.inputs, ...spec.outputs].map((p) => (
              <li key={`${p.direction}${p.name}`}>
                <span className="dot" style={{ background: payloadColor(cat, p.payload) }} />
                <b>{p.name}</b> {p.direction} · {p.payload}{p.unit ? ` (${p.unit})` : ""}
                {p.optional ? "" : " · required"} <span className="muted">{p.doc}</span>
              </li>
            ))}
          </ul>
          <h3>Documentation</h3>
          <pre className="doc">{spec.doc}</pre>
        </>
      ) : (
        <p className="error">Unknown component {JSON.stringify(d.component)}: no installed pack provides it.
          Its parameters are kept as they are: {JSON.stringify(d.params)}</p>
      )}
    </div>
  );
}

function IoInspector({ node, nodes, onNodeData }: { node: SparkFlowNode; nodes: SparkFlowNode[];
  onNodeData: Props["onNodeData"] }) {
  const cat = useCatalogue();
  const d = node.data;
  if (d.role === "component") return null;
  const isInput = d.role === "input";
  return (
    <div className="inspector-body" data-testid="inspector-io">
      <h2>model {d.role}</h2>
      <TextField label="name" value={d.name} testid="io-name" check={nameCheck(nodes, node, IO_NAME_RE, d.role)}
        commit={(v) => onNodeData(node.id, { name: v })}
        help={isInput ? "the name to give data under in Brain.run(inputs={name: ...})" : "the output's name"} />
      <div className="param">
        <label htmlFor="io-payload"><span className="param-name">payload</span></label>
        <select id="io-payload" data-testid="io-payload" value={d.payload}
          onChange={(e) => onNodeData(node.id, { payload: e.target.value })}>
          {cat.raw.payload_types.map((p) => <option key={p.name} value={p.name}>{p.name}</option>)}
        </select>
        <div className="param-help">the payload type of the port it connects to</div>
      </div>
      {isInput && (
        <TextField label="value" value={(d as InputData).value === null ? "" : String((d as InputData).value)}
          testid="io-value" placeholder="none"
          help="constant used when a run does not give this input (e.g. in the editor's Run panel)"
          check={(t) => (t.trim() === "" ? { value: null } : /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t.trim())
            ? { value: Number(t) } : { error: `${JSON.stringify(t)} is not a number` })}
          commit={(v) => onNodeData(node.id, { value: v })} />
      )}
    </div>
  );
}

function EdgeInspector({ edge, nodes, onEdgeData }: { edge: SparkFlowEdge; nodes: SparkFlowNode[];
  onEdgeData: Props["onEdgeData"] }) {
  const cat = useCatalogue();
  const src = nodes.find((n) => n.id === edge.source);
  const dst = nodes.find((n) => n.id === edge.target);
  if (edge.sourceHandle === ATTACH_OUT) {
    return (
      <div className="inspector-body" data-testid="inspector-edge">
        <h2>attachment</h2>
        <p>Learning rule <b>{src?.data.name}</b> changes the weights of synapse <b>{dst?.data.name}</b>.</p>
      </div>
    );
  }
  const io = src?.data.role !== "component" || dst?.data.role !== "component";
  const port = src?.data.role === "component"
    ? findPort(resolveComponent(cat, (src.data as ComponentData).component), "out", portOf(edge.sourceHandle))
    : undefined;
  return (
    <div className="inspector-body" data-testid="inspector-edge">
      <h2>edge</h2>
      <p><b>{src?.data.name}.{portOf(edge.sourceHandle)}</b> → <b>{dst?.data.name}.{portOf(edge.targetHandle)}</b></p>
      {port && <p className="muted">{port.payload}{port.unit ? ` (${port.unit})` : ""}</p>}
      {!io && (
        <TextField label="delay [ms]" value={typeof edge.data?.delay === "number" ? String(edge.data.delay) : ""}
          testid="edge-delay" placeholder="none"
          help="extra delay, rounded to whole steps (Spikes edges always deliver one step later)"
          check={(t) => {
            const s = t.trim();
            if (s === "") return { value: null };
            const v = Number(s);
            return /^[+]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s) && v >= 0 ? { value: v }
              : { error: `delay ${JSON.stringify(t)} must be a number of ms >= 0` };
          }}
          commit={(v) => onEdgeData(edge.id, { delay: v })} />
      )}
    </div>
  );
}

/** The `component` section of a composite file being edited: what it exposes (edit the file's JSON to change it). */
function ComponentSection({ head }: { head: Json | undefined }) {
  if (!head || typeof head !== "object" || Array.isArray(head)) return null;
  const h = head as Record<string, Json>;
  const table = (x: Json | undefined) => (x && typeof x === "object" && !Array.isArray(x) ? x as Record<string, Json> : {});
  const ref = (x: Json, key: string) => {
    const v = x && typeof x === "object" && !Array.isArray(x) ? (x as Record<string, Json>)[key] : null;
    return Array.isArray(v) ? v.join(", ") : String(v ?? "");
  };
  return (
    <div className="component-section" data-testid="component-section">
      <h3>Component <code>{String(h.name ?? "")}</code> <span className="muted">{String(h.kind ?? "composite")}</span></h3>
      <ul className="port-list">
        {Object.entries(table(h.inputs)).map(([k, v]) => <li key={`i${k}`}><b>{k}</b> in → {ref(v, "to")}</li>)}
        {Object.entries(table(h.outputs)).map(([k, v]) => <li key={`o${k}`}><b>{k}</b> out ← {ref(v, "from")}</li>)}
        {Object.entries(table(h.params)).map(([k, v]) => (
          <li key={`p${k}`}>param <b>{k}</b> = {JSON.stringify(table(v).default ?? null)}</li>
        ))}
      </ul>
    </div>
  );
}

function ModelInspector({ meta, onMeta, nodes }: { meta: Meta; onMeta: Props["onMeta"]; nodes: SparkFlowNode[] }) {
  return (
    <div className="inspector-body" data-testid="inspector-model">
      <h2>Model</h2>
      <TextField label="name" value={meta.name} testid="model-name" check={(t) => ({ value: t })}
        commit={(v) => onMeta({ name: v })} />
      <TextField label="dt [ms]" value={String(meta.dt)} testid="model-dt" help="time step"
        check={(t) => {
          const v = Number(t.trim());
          return t.trim() !== "" && Number.isFinite(v) && v > 0 ? { value: v }
            : { error: `dt = ${JSON.stringify(t)} must be a number of ms > 0, e.g. 0.1` };
        }}
        commit={(v) => onMeta({ dt: v })} />
      <TextField label="seed" value={String(meta.seed)} testid="model-seed"
        help="seed of every random draw (weights, connectivity, spikes)"
        check={(t) => (/^\d+$/.test(t.trim()) ? { value: Number(t.trim()) }
          : { error: `seed ${JSON.stringify(t)} must be a whole number >= 0` })}
        commit={(v) => onMeta({ seed: v })} />
      <TextField label="description" value={meta.description ?? ""} testid="model-description"
        check={(t) => ({ value: t })} commit={(v) => onMeta({ description: v || undefined })} />
      <ComponentSection head={meta.extra.component} />
      <p className="muted small">{nodes.filter((n) => n.data.role === "component").length} nodes. Select a node or
        edge to edit it; drag components in from the palette.</p>
      {Object.keys(meta.requires).length > 0 && (
        <>
          <h3>Requires</h3>
          <ul>{Object.entries(meta.requires).map(([d, v]) => <li key={d}><code>{d}{v}</code></li>)}</ul>
        </>
      )}
    </div>
  );
}

export function Inspector(props: Props) {
  const { nodes, edges } = props;
  const selNodes = nodes.filter((n) => n.selected);
  const selEdges = edges.filter((e) => e.selected);
  let body;
  if (selNodes.length === 1 && selEdges.length === 0) {
    const n = selNodes[0];
    body = n.data.role === "component"
      ? <ComponentInspector key={n.id} node={n} nodes={nodes} onNodeData={props.onNodeData} />
      : <IoInspector key={n.id} node={n} nodes={nodes} onNodeData={props.onNodeData} />;
  } else if (selEdges.length === 1 && selNodes.length === 0) {
    body = <EdgeInspector key={selEdges[0].id} edge={selEdges[0]} nodes={nodes} onEdgeData={props.onEdgeData} />;
  } else if (selNodes.length + selEdges.length > 1) {
    body = (
      <div className="inspector-body" data-testid="inspector-multi">
        <h2>{selNodes.length} nodes, {selEdges.length} edges selected</h2>
        <p className="muted">Delete removes them; Ctrl+C / Ctrl+V copies them; <b>Make component</b> (toolbar) turns
          them into one node of a new composite.</p>
      </div>
    );
  } else {
    body = <ModelInspector meta={props.meta} onMeta={props.onMeta} nodes={nodes} />;
  }
  return <aside className="inspector" aria-label="inspector">{body}</aside>;
}
