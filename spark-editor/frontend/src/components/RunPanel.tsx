// Run the open model for N steps; spikes, voltages and rates stream in over the /api/run websocket as it runs.

import { socketUrl } from "../session";
import { useEffect, useMemo, useRef, useState } from "react";
import { resolveComponent, useCatalogue } from "../catalogue";
import type { Problem, SparkDoc } from "../types";
import { COLORS, drawRaster, drawRates, drawVoltages, emptyRun, type RunData } from "./plots";

interface Props {
  doc: SparkDoc;
  onProblems: (problems: Problem[]) => void;
}

type Status = { state: "idle" | "connecting" | "compiling" | "running" | "done" | "stopped" | "error"; text: string };

function parseNeurons(text: string): number[] {
  return text.split(/[\s,]+/).filter((s) => /^\d+$/.test(s)).map(Number);
}

export function RunPanel({ doc, onProblems }: Props) {
  const cat = useCatalogue();
  const [steps, setSteps] = useState("1000");
  const [neurons, setNeurons] = useState<Record<string, string>>({});
  const [status, setStatus] = useState<Status>({ state: "idle", text: "Not run yet." });
  const [spikeCount, setSpikeCount] = useState(0);
  const [legend, setLegend] = useState<{ pops: string[]; traces: string[] }>({ pops: [], traces: [] });
  const run = useRef<RunData>(emptyRun());
  const ws = useRef<WebSocket | null>(null);
  const raster = useRef<HTMLCanvasElement>(null);
  const volts = useRef<HTMLCanvasElement>(null);
  const rates = useRef<HTMLCanvasElement>(null);
  const frame = useRef(0);
  const docRef = useRef(doc);
  docRef.current = doc;
  const voltageNodes = useMemo(() => doc.nodes.filter((n) => {
    const spec = resolveComponent(cat, n.component);
    return spec?.outputs.some((p) => p.payload === "Voltage");
  }).map((n) => n.id), [doc, cat]);

  const redraw = () => {
    cancelAnimationFrame(frame.current);
    frame.current = requestAnimationFrame(() => {
      if (raster.current) drawRaster(raster.current, run.current);
      if (volts.current) drawVoltages(volts.current, run.current);
      if (rates.current) drawRates(rates.current, run.current);
    });
  };
  useEffect(() => {
    const onResize = () => redraw();
    window.addEventListener("resize", onResize);
    return () => { window.removeEventListener("resize", onResize); ws.current?.close(); };
  }, []);

  const running = ["connecting", "compiling", "running"].includes(status.state);

  const start = () => {
    const n = Number(steps);
    if (!Number.isInteger(n) || n < 1) {
      setStatus({ state: "error", text: `steps must be a whole number >= 1, got ${JSON.stringify(steps)}` });
      return;
    }
    ws.current?.close();
    run.current = emptyRun();
    run.current.steps = n;
    setSpikeCount(0);
    if (raster.current) { raster.current.dataset.spikes = "0"; raster.current.dataset.chunks = "0"; }
    redraw();
    const voltage: Record<string, number[]> = {};
    for (const node of voltageNodes) voltage[node] = parseNeurons(neurons[node] ?? "0, 1, 2");
    const socket = new WebSocket(socketUrl("/api/run"));
    ws.current = socket;
    setStatus({ state: "connecting", text: "connecting…" });
    const started = performance.now();
    let total = 0;
    socket.onopen = () => {
      setStatus({ state: "compiling", text: "building and compiling the model…" });
      socket.send(JSON.stringify({ type: "start", doc: docRef.current, steps: n, chunk: Math.min(100, n), voltage }));
    };
    socket.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      const r = run.current;
      if (msg.type === "started") {
        r.dt = msg.dt;
        r.pops = msg.populations;
        r.traces = msg.voltages;
        for (const p of r.pops) { r.spikes.set(p.key, { t: [], i: [] }); r.rates.set(p.key, []); }
        for (const t of r.traces) r.v.set(t.key, t.neurons.map(() => []));
        setLegend({
          pops: r.pops.map((p) => `${p.key} (${p.shown < p.size ? `first ${p.shown} of ` : ""}${p.size})`),
          traces: r.traces.flatMap((t) => t.neurons.map((i) => `${t.key}[${i}]`)),
        });
      } else if (msg.type === "chunk") {
        for (const [key, s] of Object.entries(msg.spikes as Record<string, { t: number[]; i: number[] }>)) {
          const acc = r.spikes.get(key)!;
          acc.t.push(...s.t);
          acc.i.push(...s.i);
          total += s.t.length;
        }
        for (const [key, v] of Object.entries(msg.rates as Record<string, number[]>)) r.rates.get(key)!.push(...v);
        for (const [key, rows] of Object.entries(msg.v as Record<string, (number | null)[][]>)) {
          const per = r.v.get(key)!;
          for (const row of rows) row.forEach((x, k) => per[k].push(x as number));
        }
        r.done = msg.t0 + msg.n;
        setSpikeCount(total);
        if (raster.current) {
          raster.current.dataset.spikes = String(total);
          raster.current.dataset.chunks = String(Number(raster.current.dataset.chunks ?? 0) + 1);
        }
        setStatus({ state: "running", text: `running: ${r.done} / ${r.steps} steps (${(r.done * r.dt).toFixed(1)} ms)` });
        redraw();
      } else if (msg.type === "done" || msg.type === "stopped") {
        const secs = ((performance.now() - started) / 1000).toFixed(1);
        setStatus({ state: msg.type, text: `${msg.type === "done" ? "done" : "stopped"}: ${msg.steps} steps in ${secs} s` });
        socket.close();
      } else if (msg.type === "problems") {
        onProblems(msg.problems);
        setStatus({ state: "error", text: `the model has ${msg.problems.length} problem(s); see Problems` });
        socket.close();
      } else if (msg.type === "error") {
        setStatus({ state: "error", text: msg.message });
        socket.close();
      }
    };
    socket.onerror = () => setStatus({ state: "error", text: "connection to the editor's server failed" });
  };

  const stop = () => ws.current?.send(JSON.stringify({ type: "stop" }));

  return (
    <div className="run-panel" data-testid="run-panel">
      <div className="run-controls">
        <label>steps <input type="text" inputMode="numeric" value={steps} onChange={(e) => setSteps(e.target.value)}
          data-testid="run-steps" size={8} /></label>
        <span className="muted small">dt {doc.dt} ms → {(Number(steps) * doc.dt || 0).toFixed(1)} ms</span>
        {!running
          ? <button className="primary" onClick={start} data-testid="run-start">▶ Run</button>
          : <button onClick={stop} data-testid="run-stop">■ Stop</button>}
        <span className={`run-status ${status.state}`} data-testid="run-status" data-state={status.state}>
          {status.text}
        </span>
        <span className="muted small" data-testid="spike-count">{spikeCount} spikes</span>
      </div>
      {voltageNodes.length > 0 && (
        <div className="run-controls">
          <span className="muted small">voltage traces of neurons:</span>
          {voltageNodes.map((node) => (
            <label key={node}>{node} <input type="text" size={10} value={neurons[node] ?? "0, 1, 2"}
              data-testid={`trace-neurons-${node}`}
              onChange={(e) => setNeurons({ ...neurons, [node]: e.target.value })} /></label>
          ))}
        </div>
      )}
      <div className="plots">
        <figure>
          <figcaption>Spike raster</figcaption>
          <canvas ref={raster} className="plot tall" data-testid="raster" data-spikes="0"
            data-chunks="0" />
          <div className="legend">{legend.pops.map((p, k) => (
            <span key={p}><i style={{ background: COLORS[k % COLORS.length] }} />{p}</span>))}</div>
        </figure>
        <figure>
          <figcaption>Voltage</figcaption>
          <canvas ref={volts} className="plot" data-testid="voltages" />
          <div className="legend">{legend.traces.map((p, k) => (
            <span key={p}><i style={{ background: COLORS[k % COLORS.length] }} />{p}</span>))}</div>
        </figure>
        <figure>
          <figcaption>Population rate</figcaption>
          <canvas ref={rates} className="plot" data-testid="rates" />
          <div className="legend">{legend.pops.map((p, k) => (
            <span key={p}><i style={{ background: COLORS[k % COLORS.length] }} />{p.split(" ")[0]}</span>))}</div>
        </figure>
      </div>
    </div>
  );
}
