// The run viewer: the model graph (drawn by the editor's node components, with each node's mean firing rate),
// then one column of plots per run (one or two, side by side) for the node picked in the graph. One time window
// and one cursor for every time plot. The state (runs, node, window) lives in the page's URL
// (/view?run=A&run=B&node=exc&t0=100&t1=200), so a view can be bookmarked or embedded as it is.

import { Background, Controls, ReactFlow, ReactFlowProvider, useReactFlow, type NodeMouseHandler } from "@xyflow/react";
import { useCallback, useEffect, useMemo, useState } from "react";
import { api } from "../api";
import { NodeBadgeContext } from "../badges";
import { CatalogueContext, EMPTY_CATALOGUE, indexCatalogue, resolveComponent, type CatalogueIndex } from "../catalogue";
import { edgeTypes } from "../edges/SparkEdge";
import { layout } from "../layout";
import { docToModel, type ComponentData, type SparkFlowEdge, type SparkFlowNode } from "../model";
import { nodeTypes } from "../nodes";
import { keepEmbed } from "../session";
import { viewApi, type RunEntry, type RunInfo, type Window } from "./api";
import { fmt } from "./draw";
import { RunColumn } from "./RunColumn";

interface UrlState { runs: string[]; node: string | null; window: Window | null; smooth: number }

const SMOOTHING = [0, 1, 2, 5, 10, 20, 50]; // ms

function readUrl(): UrlState {
  const q = new URLSearchParams(location.search);
  const t0 = Number(q.get("t0")), t1 = Number(q.get("t1"));
  return {
    runs: q.getAll("run").slice(0, 2),
    node: q.get("node"),
    window: q.has("t0") && q.has("t1") && Number.isFinite(t0) && Number.isFinite(t1) && t1 > t0 ? { t0, t1 } : null,
    smooth: Math.max(0, Number(q.get("smooth")) || 0),
  };
}

function writeUrl(s: UrlState) {
  const q = keepEmbed(new URLSearchParams());
  for (const r of s.runs) q.append("run", r);
  if (s.node) q.set("node", s.node);
  if (s.window) {
    q.set("t0", String(+s.window.t0.toFixed(6)));
    q.set("t1", String(+s.window.t1.toFixed(6)));
  }
  if (s.smooth) q.set("smooth", String(s.smooth));
  const url = `${location.pathname}?${q}`;
  if (url !== `${location.pathname}${location.search}`) history.replaceState(null, "", url);
}

function Graph({ info, others, node, onPick, cat }: {
  info: RunInfo; others: RunInfo[]; node: string | null; onPick: (n: string) => void; cat: CatalogueIndex;
}) {
  const rf = useReactFlow<SparkFlowNode, SparkFlowEdge>();
  const model = useMemo(() => {
    if (!info.doc) return { nodes: [] as SparkFlowNode[], edges: [] as SparkFlowEdge[] };
    const m = docToModel(info.doc, cat, nodeTypes);
    return { nodes: m.needsLayout ? layout(m.nodes, m.edges) : m.nodes, edges: m.edges };
  }, [info, cat]);
  const nodes = useMemo(() => model.nodes.map((n) => ({
    ...n, selected: n.data.role === "component" && (n.data as ComponentData).name === node,
    draggable: false, connectable: false,
  })), [model, node]);
  useEffect(() => {
    const t = setTimeout(() => rf.fitView({ padding: 0.15, maxZoom: 1 }), 60);
    return () => clearTimeout(t);
  }, [model, rf]);
  const badges = useMemo(() => {
    const out = new Map<string, string[]>();
    const all = [info, ...others];
    for (const [k, run] of all.entries()) {
      for (const [name, r] of Object.entries(run.rates)) {
        const label = `${all.length > 1 ? `${k === 0 ? "A" : "B"} ` : ""}${r.hz.toFixed(1)} Hz`;
        out.set(name, [...(out.get(name) ?? []), label]);
      }
    }
    return out;
  }, [info, others]);
  const onNodeClick: NodeMouseHandler<SparkFlowNode> = useCallback((_, n) => {
    if (n.data.role === "component") onPick((n.data as ComponentData).name);
  }, [onPick]);
  if (!info.doc) return <div className="graph-missing muted">No model graph in this run (no model.spark, no nodes in summary.json).</div>;
  return (
    <NodeBadgeContext.Provider value={badges}>
      <ReactFlow<SparkFlowNode, SparkFlowEdge> nodes={nodes} edges={model.edges} nodeTypes={nodeTypes}
        edgeTypes={edgeTypes} onNodeClick={onNodeClick} nodesDraggable={false} nodesConnectable={false}
        elementsSelectable={false} deleteKeyCode={null} minZoom={0.1} maxZoom={2} proOptions={{ hideAttribution: true }}>
        <Background gap={20} />
        <Controls showInteractive={false} />
      </ReactFlow>
    </NodeBadgeContext.Provider>
  );
}

/** A sensible first node: a soma with recorded spikes, else any node with a rate, else nothing. */
function firstNode(info: RunInfo, cat: CatalogueIndex): string | null {
  const withRate = Object.keys(info.rates);
  const kind = (name: string) => {
    const n = info.doc?.nodes.find((x) => x.id === name);
    return n ? resolveComponent(cat, n.component)?.kind : undefined;
  };
  return withRate.find((n) => kind(n) === "soma") ?? withRate[withRate.length - 1] ?? null;
}

function ViewerBody() {
  const initial = useMemo(readUrl, []);
  const [cat, setCat] = useState<CatalogueIndex>(EMPTY_CATALOGUE);
  const [available, setAvailable] = useState<RunEntry[]>([]);
  const [runs, setRuns] = useState<string[]>(initial.runs);
  const [infos, setInfos] = useState<Record<string, RunInfo>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [node, setNode] = useState<string | null>(initial.node);
  const [win, setWin] = useState<Window | null>(initial.window);
  const [cursor, setCursor] = useState<number | null>(null);
  const [smooth, setSmooth] = useState<number>(initial.smooth);
  const [draft, setDraft] = useState<{ t0: string; t1: string }>({ t0: "", t1: "" });
  const [fatal, setFatal] = useState<string | null>(null);

  useEffect(() => {
    (async () => {
      try {
        const [list, raw] = await Promise.all([viewApi.runs(), api.catalogue()]);
        setCat(indexCatalogue(raw));
        setAvailable(list.runs);
        setRuns((r) => (r.length ? r : list.runs.slice(0, list.mode === "view" ? 2 : 1).map((x) => x.id)));
      } catch (e) {
        setFatal(`Cannot reach the viewer's server: ${(e as Error).message}`);
      }
    })();
  }, []);

  useEffect(() => {
    for (const r of runs) {
      if (infos[r] || errors[r]) continue;
      viewApi.info(r).then((i) => setInfos((m) => ({ ...m, [r]: i })),
        (e) => setErrors((m) => ({ ...m, [r]: (e as Error).message })));
    }
  }, [runs]);

  const shown = runs.map((r) => infos[r]).filter(Boolean) as RunInfo[];
  const full: Window | null = shown.length
    ? { t0: Math.min(...shown.map((i) => i.t_start)), t1: Math.max(...shown.map((i) => i.t_end)) } : null;
  const w = win ?? full;

  useEffect(() => {
    if (!node && shown.length) setNode(firstNode(shown[0], cat));
  }, [shown.length, cat]);
  useEffect(() => writeUrl({ runs, node, window: win, smooth }), [runs, node, win, smooth]);
  useEffect(() => {
    if (w) setDraft({ t0: fmt(w.t0), t1: fmt(w.t1) });
  }, [w?.t0, w?.t1]);
  useEffect(() => {
    document.title = `${runs.join(" vs ") || "runs"} — Spark viewer`;
  }, [runs]);

  const zoom = useCallback((next: Window | null) => setWin(next), []);
  const applyDraft = () => {
    const t0 = Number(draft.t0), t1 = Number(draft.t1);
    if (Number.isFinite(t0) && Number.isFinite(t1) && t1 > t0) setWin({ t0, t1 });
  };
  const scale = (f: number) => {
    if (!w || !full) return;
    const mid = cursor !== null && cursor >= w.t0 && cursor <= w.t1 ? cursor : (w.t0 + w.t1) / 2;
    const half = ((w.t1 - w.t0) * f) / 2;
    const t0 = Math.max(full.t0, mid - half), t1 = Math.min(full.t1, mid + half);
    setWin(t1 - t0 >= (full.t1 - full.t0) - 1e-9 ? null : { t0, t1 });
  };
  const setRun = (k: number, id: string) => {
    const next = [...runs];
    if (id) next[k] = id; else next.splice(k, 1);
    setRuns(next.filter((x, i) => x && next.indexOf(x) === i));
  };

  return (
    <CatalogueContext.Provider value={cat}>
      <div className="viewer" data-testid="viewer">
        <header className="toolbar">
          <span className="brand">Spark viewer</span>
          <label>run A <select value={runs[0] ?? ""} data-testid="run-a" onChange={(e) => setRun(0, e.target.value)}>
            {!runs[0] && <option value="">—</option>}
            {available.map((r) => <option key={r.id} value={r.id}>{r.name}</option>)}
          </select></label>
          <label>run B <select value={runs[1] ?? ""} data-testid="run-b" onChange={(e) => setRun(1, e.target.value)}
            disabled={!runs[0]}>
            <option value="">— none —</option>
            {available.filter((r) => r.id !== runs[0]).map((r) => <option key={r.id} value={r.id}>{r.name}</option>)}
          </select></label>
          <span className="sep" />
          <label>window <input className="ms" value={draft.t0} data-testid="window-t0"
            onChange={(e) => setDraft({ ...draft, t0: e.target.value })}
            onKeyDown={(e) => e.key === "Enter" && applyDraft()} /></label>
          <label>– <input className="ms" value={draft.t1} data-testid="window-t1"
            onChange={(e) => setDraft({ ...draft, t1: e.target.value })}
            onKeyDown={(e) => e.key === "Enter" && applyDraft()} /> ms</label>
          <button onClick={applyDraft} data-testid="window-apply">Zoom</button>
          <button onClick={() => scale(0.5)} title="zoom in around the cursor" data-testid="zoom-in">+</button>
          <button onClick={() => scale(2)} title="zoom out" data-testid="zoom-out">−</button>
          <button onClick={() => setWin(null)} disabled={!win} data-testid="window-full" title="the whole run (or double-click a plot)">Full</button>
          <span className="sep" />
          <label title="population rates: a centred moving average of this many ms">rate smoothing <select
            value={smooth} onChange={(e) => setSmooth(Number(e.target.value))} data-testid="smooth">
            {[...new Set([...SMOOTHING, smooth])].sort((a, b) => a - b).map((v) => (
              <option key={v} value={v}>{v ? `${v} ms` : "none"}</option>))}
          </select></label>
          <span className="cursor-label" data-testid="cursor-label">
            {cursor !== null ? `cursor ${fmt(cursor)} ms` : "drag: zoom · double-click: all"}
          </span>
        </header>
        <div className="viewer-graph" data-testid="viewer-graph">
          {fatal && <p className="error pad">{fatal}</p>}
          {shown[0] && <Graph info={shown[0]} others={shown.slice(1)} node={node} onPick={setNode} cat={cat} />}
          {!fatal && !runs.length && available.length === 0 && (
            <p className="muted pad">No runs here. Make one with <code>spark run MODEL --out FOLDER</code>.</p>
          )}
        </div>
        <div className="viewer-columns" style={{ gridTemplateColumns: `repeat(${Math.max(runs.length, 1)}, minmax(0, 1fr))` }}>
          {runs.map((r, k) => (
            errors[r] ? <section key={r} className="run-column"><p className="error pad" data-testid={`run-error-${k}`}>
              {errors[r]}</p></section>
              : infos[r] && w ? <RunColumn key={r} index={k} info={infos[r]} node={node} window={w} smooth={smooth} cursor={cursor}
                onCursor={setCursor} onZoom={zoom} />
                : <section key={r} className="run-column"><p className="muted pad">loading {r}…</p></section>
          ))}
        </div>
      </div>
    </CatalogueContext.Provider>
  );
}

export function Viewer() {
  return (
    <ReactFlowProvider>
      <ViewerBody />
    </ReactFlowProvider>
  );
}
