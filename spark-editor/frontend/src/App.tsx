// The editor: toolbar, palette, canvas, inspector and the bottom panel (problems, run).

import {
  Background, Controls, MiniMap, ReactFlow, ReactFlowProvider, applyEdgeChanges, applyNodeChanges, useReactFlow,
  type Connection, type EdgeChange, type FinalConnectionState, type NodeChange, type OnBeforeDelete,
} from "@xyflow/react";
import { useCallback, useEffect, useMemo, useReducer, useRef, useState, type DragEvent } from "react";
import { ApiError, api, type ComponentOffer, type MakeRequest } from "./api";
import {
  CatalogueContext, EMPTY_CATALOGUE, indexCatalogue, payloadColor, resolveComponent, type CatalogueIndex,
} from "./catalogue";
import { useDialogs } from "./components/Dialogs";
import { MakeComponentDialog } from "./components/MakeComponentDialog";
import { OpenCompositeContext } from "./composites";
import { Inspector } from "./components/Inspector";
import { DRAG_MIME, INPUT_ITEM, OUTPUT_ITEM, Palette } from "./components/Palette";
import { ProblemsPanel } from "./components/ProblemsPanel";
import { RunPanel } from "./components/RunPanel";
import { edgeTypes } from "./edges/SparkEdge";
import { layout } from "./layout";
import {
  EDGE_TYPE, INPUT_TYPE, IO_NAME_RE, OUTPUT_TYPE, connectionProblem, docToModel, freshId, handlePayload,
  modelToDoc, namesOf, newMeta, nodeTypeFor, problemTarget, snapshot, uniqueName,
  type ConnectionLike, type Meta, type ModelState, type NodeData, type SparkFlowEdge, type SparkFlowNode,
} from "./model";
import { nodeTypes } from "./nodes";
import { ProblemNodesContext } from "./problems";
import { RunsDialog } from "./viewer/RunsDialog";
import type { Problem, SparkDoc } from "./types";

const HISTORY_LIMIT = 200;
const SHAPED_KINDS = new Set(["soma", "encoder"]);

type Toast = { text: string; kind: "info" | "error" } | null;

/** A model left to open a composite's inside: restored as it was by "back". */
interface Parent {
  label: string;
  filePath: string | null;
  savedJson: string | null;
  state: ModelState;
  history: { undo: ModelState[]; redo: ModelState[] };
  readOnly: string | null;
}

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el) return false;
  return el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName);
}

function docJsonOf(state: ModelState, cat: CatalogueIndex): string {
  return JSON.stringify(modelToDoc(state, cat).doc);
}

function Editor() {
  const rf = useReactFlow<SparkFlowNode, SparkFlowEdge>();
  const dialogs = useDialogs();
  const [catalogue, setCatalogue] = useState<CatalogueIndex>(EMPTY_CATALOGUE);
  const [nodes, setNodes] = useState<SparkFlowNode[]>([]);
  const [edges, setEdges] = useState<SparkFlowEdge[]>([]);
  const [meta, setMeta] = useState<Meta>(newMeta());
  const [filePath, setFilePath] = useState<string | null>(null);
  const [savedJson, setSavedJson] = useState<string | null>(null);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [warnings, setWarnings] = useState<Problem[]>([]);
  const [checking, setChecking] = useState(false);
  const [toast, setToast] = useState<Toast>(null);
  const [tab, setTab] = useState<"problems" | "run">("problems");
  const [refreshing, setRefreshing] = useState(false);
  const [runsOpen, setRunsOpen] = useState(false);
  const [ready, setReady] = useState(false);
  const [making, setMaking] = useState<{ offer: ComponentOffer; nodes: string[] } | null>(null);
  const [parents, setParents] = useState<Parent[]>([]); // the models above the one shown (composite insides)
  const [scope, setScope] = useState<string | null>(null); // the composite shown, when inside one
  const [readOnly, setReadOnly] = useState<string | null>(null); // id of a pack composite shown read-only
  const [, bump] = useReducer((x: number) => x + 1, 0);
  const history = useRef<{ undo: ModelState[]; redo: ModelState[] }>({ undo: [], redo: [] });
  const clipboard = useRef<{ nodes: SparkFlowNode[]; edges: SparkFlowEdge[]; pastes: number } | null>(null);
  const state = useRef<ModelState>({ nodes, edges, meta });
  state.current = { nodes, edges, meta };
  const catRef = useRef(catalogue);
  catRef.current = catalogue;

  const { doc, index } = useMemo(() => modelToDoc({ nodes, edges, meta }, catalogue), [nodes, edges, meta, catalogue]);
  const docJson = useMemo(() => JSON.stringify(doc), [doc]);
  const dirty = savedJson !== null && docJson !== savedJson;
  const dirtyRef = useRef(dirty);
  dirtyRef.current = dirty;

  const say = useCallback((text: string, kind: "info" | "error" = "info") => setToast({ text, kind }), []);
  useEffect(() => {
    if (!toast) return;
    const t = setTimeout(() => setToast(null), toast.kind === "error" ? 8000 : 4000);
    return () => clearTimeout(t);
  }, [toast]);

  // ----- history ----------------------------------------------------------------------------------------------

  const pushHistory = useCallback(() => {
    const h = history.current;
    h.undo.push(snapshot(state.current));
    if (h.undo.length > HISTORY_LIMIT) h.undo.shift();
    h.redo = [];
    bump();
  }, []);
  const restore = (s: ModelState) => {
    setNodes(s.nodes);
    setEdges(s.edges);
    setMeta(s.meta);
  };
  const undo = useCallback(() => {
    const h = history.current;
    const prev = h.undo.pop();
    if (!prev) return;
    h.redo.push(snapshot(state.current));
    restore(prev);
    bump();
  }, []);
  const redo = useCallback(() => {
    const h = history.current;
    const next = h.redo.pop();
    if (!next) return;
    h.undo.push(snapshot(state.current));
    restore(next);
    bump();
  }, []);

  // ----- loading ----------------------------------------------------------------------------------------------

  const load = useCallback((d: SparkDoc, path: string | null, cat: CatalogueIndex) => {
    const m = docToModel(d, cat, nodeTypes);
    const placed = m.needsLayout ? layout(m.nodes, m.edges) : m.nodes;
    const next: ModelState = { nodes: placed, edges: m.edges, meta: m.meta };
    restore(next);
    setFilePath(path);
    setSavedJson(docJsonOf(next, cat));
    history.current = { undo: [], redo: [] };
    bump();
    setTimeout(() => rf.fitView({ padding: 0.2, maxZoom: 1.2 }), 50);
  }, [rf]);

  const blank = useCallback((path: string | null, cat: CatalogueIndex) => {
    const next: ModelState = { nodes: [], edges: [], meta: newMeta() };
    restore(next);
    setFilePath(path);
    setSavedJson(docJsonOf(next, cat));
    history.current = { undo: [], redo: [] };
    setProblems([]);
    setWarnings([]);
    bump();
  }, []);

  const openPath = useCallback(async (path: string, cat: CatalogueIndex) => {
    try {
      const r = await api.open(path);
      load(r.doc, r.path, cat);
      setProblems(r.problems);
      setWarnings(r.warnings ?? []);
      say(`Opened ${r.path}`);
    } catch (e) {
      say(`Cannot open ${path}: ${(e as Error).message}`, "error");
    }
  }, [load, say]);

  useEffect(() => {
    (async () => {
      try {
        const [session, raw] = await Promise.all([api.session(), api.catalogue()]);
        const cat = indexCatalogue(raw);
        setCatalogue(cat);
        if (session.file && session.file_exists) await openPath(session.file, cat);
        else blank(session.file, cat);
      } catch (e) {
        say(`Cannot reach the editor's server: ${(e as Error).message}`, "error");
      }
      setReady(true);
    })();
  }, []);

  const discardOk = useCallback(async () => !dirtyRef.current
    || dialogs.confirm("Unsaved changes", "The model has unsaved changes. Discard them?", "Discard"), [dialogs]);

  const leaveComposites = () => {
    setParents([]);
    setScope(null);
    setReadOnly(null);
  };

  const newModel = useCallback(async () => {
    if (!(await discardOk())) return;
    leaveComposites();
    blank(null, catRef.current);
  }, [discardOk, blank]);

  const openModel = useCallback(async () => {
    if (!(await discardOk())) return;
    const path = await dialogs.pickFile();
    if (!path) return;
    leaveComposites();
    await openPath(path, catRef.current);
  }, [discardOk, dialogs, openPath]);

  const writeTo = useCallback(async (path: string, overwrite: boolean): Promise<boolean> => {
    const { doc: d } = modelToDoc(state.current, catRef.current);
    const json = JSON.stringify(d);
    try {
      const r = await api.save(path, d, overwrite);
      setFilePath(r.path);
      setSavedJson(json);
      setProblems(r.problems);
      setWarnings(r.warnings ?? []);
      say(r.problems.length ? `Saved ${r.path} (${r.problems.length} problem(s) to fix before it runs)` : `Saved ${r.path}`);
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) {
        if (await dialogs.confirm("Replace file?", `${path} already exists. Replace it?`, "Replace")) {
          return writeTo(path, true);
        }
        return false;
      }
      say(`Cannot save ${path}: ${(e as Error).message}`, "error");
      return false;
    }
  }, [dialogs, say]);

  const saveAs = useCallback(async () => {
    const suggestion = filePath ?? `${(state.current.meta.name || "model").replace(/[^\w.-]+/g, "_")}.spark`;
    let path = await dialogs.askPath("Save as", "File name (inside the editor's folder):", suggestion);
    if (!path) return;
    if (!path.endsWith(".spark")) path += ".spark";
    await writeTo(path, path === filePath);
  }, [dialogs, filePath, writeTo]);

  const save = useCallback(async () => {
    if (readOnly) {
      say(`${readOnly} belongs to its pack and opens read-only; Save as… writes a copy into the editor's folder`);
      await saveAs();
      return;
    }
    if (filePath) await writeTo(filePath, true);
    else await saveAs();
  }, [filePath, writeTo, saveAs, readOnly, say]);

  useEffect(() => {
    const onUnload = (e: BeforeUnloadEvent) => {
      if (dirtyRef.current) {
        e.preventDefault();
        e.returnValue = "";
      }
    };
    window.addEventListener("beforeunload", onUnload);
    return () => window.removeEventListener("beforeunload", onUnload);
  }, []);

  useEffect(() => {
    document.title = `${dirty ? "● " : ""}${filePath ?? "untitled"} — Spark editor`;
  }, [dirty, filePath]);

  // ----- live validation --------------------------------------------------------------------------------------

  const validation = useRef(0);
  useEffect(() => {
    if (!ready) return;
    const seq = ++validation.current;
    setChecking(true);
    const abort = new AbortController(); // a newer model makes this validation moot: stop it on the server too
    const t = setTimeout(async () => {
      try {
        const r = await api.validate(doc, abort.signal);
        if (seq === validation.current) {
          setProblems(r.problems);
          setWarnings(r.warnings ?? []);
        }
      } catch (e) {
        if (seq === validation.current) setProblems([{ path: "$", message: (e as Error).message, node: null, edge: null }]);
      } finally {
        if (seq === validation.current) setChecking(false);
      }
    }, 400);
    return () => {
      clearTimeout(t);
      abort.abort();
    };
  }, [docJson, ready]);

  const problemNodes = useMemo(() => {
    const s = new Set<string>();
    for (const p of problems) {
      const t = problemTarget(p, index, nodes);
      if (t?.node) s.add(t.node);
    }
    return s;
  }, [problems, index, nodes]);

  const selectProblem = useCallback((p: Problem) => {
    const t = problemTarget(p, index, state.current.nodes);
    if (!t) {
      say("This problem concerns the whole model (see the Model panel).");
      setNodes((nds) => nds.map((n) => ({ ...n, selected: false })));
      setEdges((eds) => eds.map((e) => ({ ...e, selected: false })));
      return;
    }
    setNodes((nds) => nds.map((n) => ({ ...n, selected: n.id === t.node })));
    setEdges((eds) => eds.map((e) => ({ ...e, selected: e.id === t.edge })));
    const n = state.current.nodes.find((x) => x.id === t.node)
      ?? state.current.nodes.find((x) => x.id === state.current.edges.find((e) => e.id === t.edge)?.target);
    if (n) rf.setCenter(n.position.x + 100, n.position.y + 50, { zoom: Math.max(rf.getZoom(), 0.8), duration: 300 });
  }, [index, rf, say]);

  // ----- canvas events ----------------------------------------------------------------------------------------

  const onNodesChange = useCallback((changes: NodeChange<SparkFlowNode>[]) => {
    setNodes((nds) => applyNodeChanges(changes, nds));
  }, []);
  const onEdgesChange = useCallback((changes: EdgeChange<SparkFlowEdge>[]) => {
    setEdges((eds) => applyEdgeChanges(changes, eds));
  }, []);
  const onBeforeDelete: OnBeforeDelete<SparkFlowNode, SparkFlowEdge> = useCallback(async () => {
    pushHistory();
    return true;
  }, [pushHistory]);

  const isValidConnection = useCallback((c: ConnectionLike) =>
    connectionProblem(catRef.current, state.current.nodes, state.current.edges, c) === null, []);

  const onConnect = useCallback((c: Connection) => {
    const { nodes: nds, edges: eds } = state.current;
    const problem = connectionProblem(catRef.current, nds, eds, c);
    if (problem) {
      say(problem, "error");
      return;
    }
    pushHistory();
    // a model input / output takes the payload of the port it is connected to
    const src = nds.find((n) => n.id === c.source);
    const dst = nds.find((n) => n.id === c.target);
    if (src?.data.role === "input" || dst?.data.role === "output") {
      const pseudo = src?.data.role === "input" ? src : dst!;
      const other = pseudo === src ? dst : src;
      const payload = handlePayload(catRef.current, other, pseudo === src ? c.targetHandle : c.sourceHandle);
      if (payload) {
        setNodes((all) => all.map((n) => (n.id === pseudo.id ? { ...n, data: { ...n.data, payload } as NodeData } : n)));
      }
    }
    setEdges((all) => [...all, {
      id: freshId("e"), type: EDGE_TYPE, source: c.source, target: c.target,
      sourceHandle: c.sourceHandle, targetHandle: c.targetHandle, data: {},
    }]);
  }, [pushHistory, say]);

  const onConnectEnd = useCallback((_: MouseEvent | TouchEvent, s: FinalConnectionState) => {
    if (!s.toHandle || s.isValid || !s.fromHandle) return;
    const [a, b] = s.fromHandle.type === "source" ? [s.fromHandle, s.toHandle] : [s.toHandle, s.fromHandle];
    const problem = connectionProblem(catRef.current, state.current.nodes, state.current.edges,
      { source: a.nodeId, sourceHandle: a.id, target: b.nodeId, targetHandle: b.id });
    if (problem) say(problem, "error");
  }, [say]);

  const addItem = useCallback((item: string, at?: { x: number; y: number }) => {
    const cat = catRef.current;
    const nds = state.current.nodes;
    let position = at;
    if (!position) {
      const box = document.querySelector(".canvas")?.getBoundingClientRect();
      const c = box ? { x: box.left + box.width / 2, y: box.top + box.height / 3 } : { x: 400, y: 300 };
      position = rf.screenToFlowPosition(c);
      position = { x: position.x - 100 + (nds.length % 5) * 30, y: position.y + (nds.length % 5) * 30 };
    }
    let node: SparkFlowNode;
    if (item === INPUT_ITEM || item === OUTPUT_ITEM) {
      const role = item === INPUT_ITEM ? "input" : "output";
      const name = uniqueName(role, namesOf(nds, role), IO_NAME_RE);
      node = {
        id: freshId(role === "input" ? "i" : "o"), type: role === "input" ? INPUT_TYPE : OUTPUT_TYPE, position,
        data: role === "input" ? { role, name, payload: "Signal", value: 1 } : { role, name, payload: "Spikes" },
      };
    } else {
      const spec = cat.byId.get(item);
      if (!spec) {
        say(`Unknown component ${item}`, "error");
        return;
      }
      const name = uniqueName(spec.name, namesOf(nds, "component"));
      node = {
        id: freshId(), type: nodeTypeFor(spec.kind, nodeTypes), position,
        data: { role: "component", name, component: spec.id, params: {},
          shape: SHAPED_KINDS.has(spec.kind) && !spec.composite ? [100] : null, extra: {} },
      };
    }
    pushHistory();
    setNodes((all) => [...all.map((n) => ({ ...n, selected: false })), { ...node, selected: true }]);
    setEdges((all) => all.map((e) => ({ ...e, selected: false })));
  }, [pushHistory, rf, say]);

  const onDragOver = useCallback((e: DragEvent) => {
    e.preventDefault();
    e.dataTransfer.dropEffect = "copy";
  }, []);
  const onDrop = useCallback((e: DragEvent) => {
    e.preventDefault();
    const item = e.dataTransfer.getData(DRAG_MIME);
    if (!item) return;
    const p = rf.screenToFlowPosition({ x: e.clientX, y: e.clientY });
    addItem(item, { x: p.x - 20, y: p.y - 20 });
  }, [addItem, rf]);

  // ----- edits from the inspector -----------------------------------------------------------------------------

  const onNodeData = useCallback((id: string, patch: Partial<NodeData>) => {
    pushHistory();
    setNodes((nds) => nds.map((n) => (n.id === id ? { ...n, data: { ...n.data, ...patch } as NodeData } : n)));
  }, [pushHistory]);
  const onEdgeData = useCallback((id: string, patch: Record<string, unknown>) => {
    pushHistory();
    setEdges((eds) => eds.map((e) => (e.id === id ? { ...e, data: { ...e.data, ...patch } } : e)));
  }, [pushHistory]);
  const onMeta = useCallback((patch: Partial<Meta>) => {
    pushHistory();
    setMeta((m) => ({ ...m, ...patch }));
  }, [pushHistory]);

  // ----- selection, clipboard, layout -------------------------------------------------------------------------

  const deleteSelected = useCallback(() => {
    const { nodes: nds, edges: eds } = state.current;
    rf.deleteElements({ nodes: nds.filter((n) => n.selected), edges: eds.filter((e) => e.selected) });
  }, [rf]);

  const copy = useCallback(() => {
    const { nodes: nds, edges: eds } = state.current;
    const sel = nds.filter((n) => n.selected);
    if (!sel.length) return false;
    const ids = new Set(sel.map((n) => n.id));
    const snap = snapshot({ nodes: sel, edges: eds.filter((e) => ids.has(e.source) && ids.has(e.target)), meta: newMeta() });
    clipboard.current = { nodes: snap.nodes, edges: snap.edges, pastes: 0 };
    say(`Copied ${sel.length} node(s)`);
    return true;
  }, [say]);

  const paste = useCallback(() => {
    const clip = clipboard.current;
    if (!clip) return;
    clip.pastes += 1;
    const off = 40 * clip.pastes;
    const taken = {
      component: namesOf(state.current.nodes, "component"),
      input: namesOf(state.current.nodes, "input"),
      output: namesOf(state.current.nodes, "output"),
    };
    const idMap = new Map<string, string>();
    const added: SparkFlowNode[] = clip.nodes.map((n) => {
      const id = freshId(n.id[0]);
      idMap.set(n.id, id);
      const role = n.data.role;
      const name = uniqueName(n.data.name, taken[role], role === "component" ? undefined : IO_NAME_RE);
      taken[role].add(name);
      return { ...n, id, selected: true, position: { x: n.position.x + off, y: n.position.y + off },
        data: { ...structuredClone(n.data), name } as NodeData };
    });
    const addedEdges: SparkFlowEdge[] = clip.edges.map((e) => ({
      ...e, id: freshId("e"), source: idMap.get(e.source)!, target: idMap.get(e.target)!, selected: false,
      data: structuredClone(e.data ?? {}),
    }));
    pushHistory();
    setNodes((all) => [...all.map((n) => ({ ...n, selected: false })), ...added]);
    setEdges((all) => [...all.map((e) => ({ ...e, selected: false })), ...addedEdges]);
  }, [pushHistory]);

  const autoLayout = useCallback(() => {
    pushHistory();
    setNodes((nds) => layout(nds, state.current.edges));
    setTimeout(() => rf.fitView({ padding: 0.2, duration: 300, maxZoom: 1.2 }), 50);
  }, [pushHistory, rf]);

  // ----- composites: make one from the selection, open one, go back up -------------------------------------

  const reloadCatalogue = useCallback(async () => {
    const cat = indexCatalogue(await api.catalogue());
    setCatalogue(cat);
    catRef.current = cat;
    return cat;
  }, []);

  const startMake = useCallback(async () => {
    const sel = state.current.nodes.filter((n) => n.selected && n.data.role === "component");
    if (!sel.length) {
      say("Select the nodes to make a component of (click, Ctrl+click or Shift+drag)", "error");
      return;
    }
    const names = sel.map((n) => n.data.name);
    try {
      const offer = await api.proposeComponent(modelToDoc(state.current, catRef.current).doc, names);
      setMaking({ offer, nodes: names });
    } catch (e) {
      say(`Cannot make a component of ${names.join(", ")}: ${(e as Error).message}`, "error");
    }
  }, [say]);

  const finishMake = useCallback(async (choice: Omit<MakeRequest, "doc" | "nodes">): Promise<string | null> => {
    if (!making) return null;
    const req: MakeRequest = { ...choice, doc: modelToDoc(state.current, catRef.current).doc, nodes: making.nodes };
    let made;
    try {
      made = await api.makeComponent(req);
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) {
        if (!(await dialogs.confirm("Replace component?", `${(e as Error).message.replace(/; confirm.*/, "")}. `
          + "Replace it? Models that use it will use the new one.", "Replace"))) return null;
        try {
          made = await api.makeComponent({ ...req, overwrite: true });
        } catch (e2) {
          return (e2 as Error).message;
        }
      } else {
        return (e as Error).message;
      }
    }
    const cat = await reloadCatalogue();
    const m = docToModel(made.doc, cat, nodeTypes);
    const placed = m.needsLayout ? layout(m.nodes, m.edges) : m.nodes;
    const nodeId = made.doc.nodes.find((n) => n.component === made.id)?.id;
    pushHistory();
    restore({ nodes: placed.map((n) => ({ ...n, selected: n.data.name === nodeId && n.data.role === "component" })),
      edges: m.edges, meta: m.meta });
    setMaking(null);
    say(`Made ${made.id} (${made.path}); ${made.problems.length ? `${made.problems.length} problem(s)` : "the model is valid"}`);
    return null;
  }, [making, dialogs, pushHistory, reloadCatalogue, say]);

  const openComposite = useCallback(async (cid: string) => {
    let src;
    try {
      src = await api.component(cid);
    } catch (e) {
      say(`Cannot open ${cid}: ${(e as Error).message}`, "error");
      return;
    }
    const parent: Parent = {
      label: scope ?? filePath ?? (state.current.meta.name || "model"), filePath, savedJson,
      state: snapshot(state.current), history: history.current, readOnly,
    };
    const cat = catRef.current;
    if (src.editable && src.path) {
      try {
        const r = await api.open(src.path);
        load(r.doc, r.path, cat);
        setProblems(r.problems);
        setWarnings(r.warnings ?? []);
      } catch (e) {
        say(`Cannot open ${src.path}: ${(e as Error).message}`, "error");
        return;
      }
      setReadOnly(null);
    } else {
      load(src.doc, null, cat);
      setReadOnly(src.id);
    }
    setParents((ps) => [...ps, parent]);
    setScope(src.name);
    say(src.editable ? `Opened ${src.id} (${src.path}); Save writes it, ‹ Back returns to ${parent.label}`
      : `Opened ${src.id} read-only (it belongs to its pack); ‹ Back returns to ${parent.label}`);
  }, [scope, filePath, savedJson, readOnly, load, say]);

  const goBack = useCallback(async () => {
    const parent = parents[parents.length - 1];
    if (!parent) return;
    if (dirtyRef.current && !(await dialogs.confirm("Unsaved changes",
      `${scope ?? "This component"} has unsaved changes. Discard them and go back?`, "Discard"))) return;
    let cat = catRef.current;
    try {
      cat = await reloadCatalogue(); // a saved component may expose other ports now
    } catch {
      // keep the catalogue we have
    }
    restore({ ...parent.state, nodes: parent.state.nodes.map((n) => (n.data.role === "component"
      ? { ...n, type: nodeTypeFor(resolveComponent(cat, n.data.component)?.kind, nodeTypes) } : n)) });
    setFilePath(parent.filePath);
    setSavedJson(parent.savedJson);
    history.current = parent.history;
    setReadOnly(parent.readOnly);
    setParents((ps) => ps.slice(0, -1));
    setScope(parents.length > 1 ? parent.label : null);
    bump();
    setTimeout(() => rf.fitView({ padding: 0.2, maxZoom: 1.2 }), 50);
  }, [parents, scope, dialogs, reloadCatalogue, rf]);

  const onNodeDoubleClick = useCallback((_: unknown, n: SparkFlowNode) => {
    if (n.data.role !== "component") return;
    const spec = resolveComponent(catRef.current, n.data.component);
    if (spec?.composite) openComposite(spec.id);
  }, [openComposite]);

  const refreshPacks = useCallback(async () => {
    setRefreshing(true);
    try {
      const cat = indexCatalogue(await api.refreshCatalogue());
      setCatalogue(cat);
      setNodes((nds) => nds.map((n) => (n.data.role === "component"
        ? { ...n, type: nodeTypeFor(resolveComponent(cat, n.data.component)?.kind, nodeTypes) } : n)));
      say(`Found ${cat.raw.components.length} components in ${cat.raw.packs.length} packs`);
    } catch (e) {
      say(`Cannot refresh: ${(e as Error).message}`, "error");
    }
    setRefreshing(false);
  }, [say]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey;
      if (!mod) return;
      const key = e.key.toLowerCase();
      if (key === "s") {
        e.preventDefault();
        if (e.shiftKey) saveAs(); else save();
        return;
      }
      if (key === "o") { e.preventDefault(); openModel(); return; }
      if (isTyping(e.target) || document.querySelector(".modal")) return;
      if (key === "z" && !e.shiftKey) { e.preventDefault(); undo(); }
      else if ((key === "z" && e.shiftKey) || key === "y") { e.preventDefault(); redo(); }
      else if (key === "c") { if (copy()) e.preventDefault(); }
      else if (key === "x") { if (copy()) { e.preventDefault(); deleteSelected(); } }
      else if (key === "v") { e.preventDefault(); paste(); }
      else if (key === "a") {
        e.preventDefault();
        setNodes((nds) => nds.map((n) => ({ ...n, selected: true })));
        setEdges((eds) => eds.map((x) => ({ ...x, selected: true })));
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [save, saveAs, openModel, undo, redo, copy, paste, deleteSelected]);

  const h = history.current;
  const anySelected = nodes.some((n) => n.selected) || edges.some((e) => e.selected);
  const componentsSelected = nodes.some((n) => n.selected && n.data.role === "component");
  return (
    <CatalogueContext.Provider value={catalogue}>
      <OpenCompositeContext.Provider value={openComposite}>
      <ProblemNodesContext.Provider value={problemNodes}>
        <div className="app">
          <header className="toolbar" role="toolbar" aria-label="editor actions">
            <span className="brand">⚡ Spark</span>
            <button onClick={newModel} data-testid="new" title="new model">New</button>
            <button onClick={openModel} data-testid="open" title="open a .spark file (Ctrl+O)">Open…</button>
            <button onClick={save} data-testid="save" title="save (Ctrl+S)">Save</button>
            <button onClick={saveAs} data-testid="save-as" title="save as (Ctrl+Shift+S)">Save as…</button>
            <span className="sep" />
            <button onClick={undo} disabled={!h.undo.length} data-testid="undo" title="undo (Ctrl+Z)">↶ Undo</button>
            <button onClick={redo} disabled={!h.redo.length} data-testid="redo" title="redo (Ctrl+Shift+Z)">↷ Redo</button>
            <button onClick={deleteSelected} disabled={!anySelected} data-testid="delete" title="delete (Del)">Delete</button>
            <button onClick={autoLayout} data-testid="layout" title="arrange the graph in layers">Layout</button>
            <button onClick={startMake} disabled={!componentsSelected} data-testid="make-component"
              title="turn the selected nodes into a component (saved in components/) used as one node">Make component</button>
            <span className="sep" />
            <button onClick={() => setRunsOpen(true)} data-testid="runs" title="recorded runs (spark run) in the run viewer">Runs…</button>
            <span className="sep" />
            {parents.length > 0 && (
              <nav className="breadcrumb" aria-label="where you are" data-testid="breadcrumb">
                <button onClick={goBack} data-testid="back" title="back to the model that uses it">‹ Back</button>
                {parents.map((p, k) => <span key={k} className="crumb">{p.label} ›</span>)}
                <span className="crumb here">{scope}</span>
                {readOnly && <span className="read-only" title="a pack's composite: Save as… to copy it">read-only</span>}
              </nav>
            )}
            <span className="file" data-testid="file-name" data-dirty={dirty ? "true" : "false"}>
              {filePath ?? "untitled"}{dirty ? " ●" : ""}
            </span>
            <span className={`validity ${problems.length ? "bad" : "good"}`} data-testid="validity">
              {checking ? "checking…" : problems.length ? `${problems.length} problem(s)` : "valid"}
            </span>
          </header>
          <Palette onAdd={(item) => addItem(item)} onRefresh={refreshPacks} refreshing={refreshing} />
          <main className="canvas" onDragOver={onDragOver} onDrop={onDrop} data-testid="canvas">
            <ReactFlow<SparkFlowNode, SparkFlowEdge>
              nodes={nodes} edges={edges} nodeTypes={nodeTypes} edgeTypes={edgeTypes}
              onNodesChange={onNodesChange} onEdgesChange={onEdgesChange} onConnect={onConnect}
              onConnectEnd={onConnectEnd} isValidConnection={isValidConnection} onBeforeDelete={onBeforeDelete}
              onNodeDragStart={pushHistory} onSelectionDragStart={pushHistory} onNodeDoubleClick={onNodeDoubleClick}
              deleteKeyCode={["Delete", "Backspace"]} multiSelectionKeyCode={["Control", "Meta"]}
              selectionKeyCode="Shift" minZoom={0.1} maxZoom={3} defaultViewport={{ x: 40, y: 40, zoom: 1 }}
              defaultEdgeOptions={{ type: EDGE_TYPE }}>
              <Background gap={20} />
              <MiniMap pannable zoomable nodeStrokeWidth={3}
                nodeColor={(n) => {
                  const d = n.data as NodeData;
                  if (d.role !== "component") return payloadColor(catalogue, d.payload);
                  return problemNodes.has(n.id) ? "#d7263d" : "#8aa4d6";
                }} />
              <Controls />
            </ReactFlow>
            {nodes.length === 0 && ready && (
              <div className="empty-hint">Drag components here from the palette (or press their +).</div>
            )}
          </main>
          <Inspector nodes={nodes} edges={edges} meta={meta} onNodeData={onNodeData} onEdgeData={onEdgeData}
            onMeta={onMeta} />
          <section className="bottom">
            <div className="tabs" role="tablist">
              <button role="tab" aria-selected={tab === "problems"} onClick={() => setTab("problems")}
                data-testid="tab-problems">Problems ({problems.length})</button>
              <button role="tab" aria-selected={tab === "run"} onClick={() => setTab("run")}
                data-testid="tab-run">Run</button>
            </div>
            <div className="tab-body" hidden={tab !== "problems"}>
              <ProblemsPanel problems={problems} warnings={warnings} checking={checking} onSelect={selectProblem} />
            </div>
            <div className="tab-body" hidden={tab !== "run"}>
              <RunPanel doc={doc} onProblems={(p) => { setProblems(p); setTab("problems"); }} />
            </div>
          </section>
          {toast && (
            <div className={`toast ${toast.kind}`} role={toast.kind === "error" ? "alert" : "status"}
              data-testid="toast" onClick={() => setToast(null)}>{toast.text}</div>
          )}
          {dialogs.element}
          {runsOpen && <RunsDialog onClose={() => setRunsOpen(false)} />}
          {making && (
            <MakeComponentDialog offer={making.offer} count={making.nodes.length} onCancel={() => setMaking(null)}
              onMake={finishMake} />
          )}
        </div>
      </ProblemNodesContext.Provider>
      </OpenCompositeContext.Provider>
    </CatalogueContext.Provider>
  );
}

export function App() {
  return (
    <ReactFlowProvider>
      <Editor />
    </ReactFlowProvider>
  );
}
