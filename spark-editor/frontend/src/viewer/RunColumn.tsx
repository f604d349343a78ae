// One run's plots for the chosen node: raster, population rate, recorded traces, ISI histogram and weights.
// The time window and the cursor are the viewer's (shared by both columns).

import { useEffect, useRef, useState } from "react";
import { viewApi, type Isi, type Raster, type RunInfo, type Series, type Weights, type Window } from "./api";
import { COLORS, drawIsi, drawRaster, drawSeries, drawWeights, fmt, message } from "./draw";
import { TimePlot } from "./TimePlot";

interface Props {
  index: number; // column 0 or 1
  info: RunInfo;
  node: string | null;
  window: Window;
  smooth: number; // ms of the box the population rate is smoothed with (0: none)
  cursor: number | null;
  onCursor: (t: number | null) => void;
  onZoom: (w: Window | null) => void;
}

type Loaded<T> = { data: T | null; error: string | null; loading: boolean };
const EMPTY = { data: null, error: null, loading: false };

/** Fetch ``load()`` again whenever ``deps`` change (a little later, dropping answers that came too late). */
function useFetch<T>(load: ((signal: AbortSignal) => Promise<T>) | null, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>(EMPTY);
  useEffect(() => {
    if (!load) {
      setState(EMPTY);
      return;
    }
    const ctl = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    const timer = setTimeout(() => {
      load(ctl.signal).then(
        (data) => setState({ data, error: null, loading: false }),
        (e) => { if (!ctl.signal.aborted) setState({ data: null, error: (e as Error).message, loading: false }); });
    }, 40);
    return () => { clearTimeout(timer); ctl.abort(); };
  }, deps);
  return state;
}

export function RunColumn({ index, info, node, window: w, smooth, cursor, onCursor, onZoom }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setWidth(Math.max(100, Math.round(el.clientWidth / 50) * 50)));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const color = COLORS[index % COLORS.length];
  const monitors = info.monitors.filter((m) => m.node === node);
  const spikes = monitors.find((m) => m.kind === "spikes");
  const rateKey = spikes?.key ?? monitors.find((m) => m.kind === "rate")?.key;
  const traces = monitors.filter((m) => m.kind === "trace");
  const [traceKey, setTraceKey] = useState<string | null>(null);
  const trace = traces.find((m) => m.key === traceKey) ?? traces[0];
  const [columns, setColumns] = useState("0:5");
  const [columnsDraft, setColumnsDraft] = useState("0:5");
  useEffect(() => { // the first (at most 5) recorded columns of a newly shown monitor
    if (!trace) return;
    const first = `0:${Math.min(5, Math.max(trace.columns, 1))}`;
    setColumns(first);
    setColumnsDraft(first);
  }, [info.run, trace?.key]);
  const synapses = node && info.weights[node] ? [node]
    : Object.entries(info.weights).filter(([, v]) => v.post === node).map(([k]) => k);
  const [synapseKey, setSynapseKey] = useState<string | null>(null);
  const synapse = synapses.find((s) => s === synapseKey) ?? synapses[0] ?? null;
  const ready = width > 0;

  const raster = useFetch<Raster>(ready && spikes ? (s) => viewApi.raster(info.run, spikes.key, w, width - 64, 260, s)
    : null, [info.run, spikes?.key, w.t0, w.t1, width]);
  const rate = useFetch<Series>(ready && rateKey ? (s) => viewApi.rate(info.run, rateKey, w, width - 64, smooth, s)
    : null, [info.run, rateKey, w.t0, w.t1, width, smooth]);
  const traceData = useFetch<Series>(ready && trace ? (s) => viewApi.trace(info.run, trace.key, columns, w, width - 64, s)
    : null, [info.run, trace?.key, columns, w.t0, w.t1, width]);
  const isi = useFetch<Isi>(ready && spikes ? (s) => viewApi.isi(info.run, spikes.key, w, s) : null,
    [info.run, spikes?.key, w.t0, w.t1, ready]);
  const weights = useFetch<Weights>(synapse ? (s) => viewApi.weights(info.run, synapse, s) : null,
    [info.run, synapse]);

  const rateOf = node ? info.rates[node] : undefined;
  const common = { t0: w.t0, t1: w.t1, cursor, onCursor, onZoom };
  const dt = info.dt;
  const hasNode = node !== null && ((info.doc?.nodes ?? []).some((n) => n.id === node) || monitors.length > 0);

  return (
    <section className="run-column" ref={box} data-testid={`column-${index}`}>
      <header className="run-head">
        <b className="run-name" style={{ color }} data-testid={`run-name-${index}`}>{info.run}</b>
        <span className="muted">{info.name} · dt {info.dt} ms · {info.steps} steps ({fmt(info.t_start)}–{fmt(info.t_end)} ms)</span>
        {node && rateOf && (
          <span className="run-rate" data-testid={`node-rate-${index}`}>
            {node}: {rateOf.hz.toFixed(2)} Hz{rateOf.neurons ? ` (${rateOf.neurons} neurons, ${rateOf.spikes} spikes)` : ""}
          </span>
        )}
      </header>
      {!node && <p className="muted pad">Pick a node in the graph.</p>}
      {node && !hasNode && <p className="muted pad">This run has no node {node}.</p>}
      {node && hasNode && monitors.length === 0 && !synapse && (
        <p className="muted pad">Nothing was recorded of {node} in this run.</p>
      )}
      {spikes && (
        <div className="plot-block">
          <div className="plot-title">
            spikes <code>{spikes.key}</code>{" "}
            <span className="muted small" data-testid={`raster-info-${index}`}>
              {raster.data ? (raster.data.mode === "events" ? `${raster.data.total} spikes`
                : `${raster.data.total} spikes, drawn as density`) : raster.loading ? "loading…" : ""}
            </span>
            {raster.error && <span className="error small"> {raster.error}</span>}
          </div>
          <TimePlot testid={`raster-${index}`} height={260} {...common} version={raster.data}
            data={{ events: raster.data?.total ?? -1, mode: raster.data?.mode ?? "" }}
            draw={(c) => (raster.data ? drawRaster(c, raster.data, w.t0, w.t1, dt, color) : message(c, raster.loading ? "loading…" : ""))} />
        </div>
      )}
      {rateKey && (
        <div className="plot-block">
          <div className="plot-title">population rate <code>{rateKey}</code>{" "}
            <span className="muted small">{rate.data ? [
              rate.data.smooth ? `smoothed over ${rate.data.smooth} ms` : "",
              rate.data.pooled > 1 ? `mean of ${rate.data.pooled} samples per point` : "every sample"].filter(Boolean).join(", ")
              : ""}</span>
            {rate.error && <span className="error small"> {rate.error}</span>}
          </div>
          <TimePlot testid={`rate-${index}`} height={130} {...common} version={rate.data}
            data={{ points: rate.data?.t.length ?? -1, smooth: rate.data?.smooth ?? 0 }}
            draw={(c) => (rate.data ? drawSeries(c, rate.data, w.t0, w.t1, "Hz", { zero: true, colors: [color] }) : message(c, ""))} />
        </div>
      )}
      {trace && (
        <div className="plot-block">
          <div className="plot-title">
            trace <select value={trace.key} onChange={(e) => setTraceKey(e.target.value)} data-testid={`trace-key-${index}`}>
              {traces.map((m) => <option key={m.key} value={m.key}>{m.key}</option>)}
            </select>{" "}
            columns <input className="columns" value={columnsDraft} data-testid={`trace-columns-${index}`}
              onChange={(e) => setColumnsDraft(e.target.value)}
              onKeyDown={(e) => { if (e.key === "Enter") setColumns(columnsDraft); }}
              onBlur={() => setColumns(columnsDraft)} />{" "}
            <span className="muted small">{traceData.data ? `neurons ${traceData.data.neurons?.join(", ")}` : ""}</span>
            {traceData.error && <span className="error small"> {traceData.error}</span>}
          </div>
          <TimePlot testid={`trace-${index}`} height={150} {...common} version={traceData.data}
            data={{ points: traceData.data?.t.length ?? -1 }}
            draw={(c) => (traceData.data ? drawSeries(c, traceData.data, w.t0, w.t1, trace.unit ?? "") : message(c, ""))} />
        </div>
      )}
      <div className="plot-row">
        {spikes && (
          <div className="plot-block half">
            <div className="plot-title">inter-spike intervals {isi.error && <span className="error small"> {isi.error}</span>}</div>
            <div className="static-plot"><IsiCanvas isi={isi.data} color={color} index={index} /></div>
          </div>
        )}
        {synapse && (
          <div className="plot-block half">
            <div className="plot-title">final weights{" "}
              {synapses.length > 1 ? (
                <select value={synapse} onChange={(e) => setSynapseKey(e.target.value)} data-testid={`synapse-${index}`}>
                  {synapses.map((k) => <option key={k} value={k}>{k}</option>)}
                </select>) : <code>{synapse}</code>}
              {weights.error && <span className="error small"> {weights.error}</span>}</div>
            <div className="static-plot"><WeightCanvas weights={weights.data} index={index} /></div>
          </div>
        )}
      </div>
    </section>
  );
}

function useStatic(draw: (c: HTMLCanvasElement) => void, deps: unknown[]) {
  const ref = useRef<HTMLCanvasElement>(null);
  const [w, setW] = useState(0);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setW(el.clientWidth));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  useEffect(() => { if (ref.current && w > 0) draw(ref.current); }, [...deps, w]);
  return ref;
}

function IsiCanvas({ isi, color, index }: { isi: Isi | null; color: string; index: number }) {
  const ref = useStatic((c) => (isi ? drawIsi(c, isi, color) : message(c, "")), [isi]);
  return <canvas ref={ref} className="plot-base" data-testid={`isi-${index}`} data-n={isi?.n ?? -1} />;
}

function WeightCanvas({ weights, index }: { weights: Weights | null; index: number }) {
  const ref = useStatic((c) => (weights ? drawWeights(c, weights) : message(c, "")), [weights]);
  return <canvas ref={ref} className="plot-base" data-testid={`weights-${index}`} />;
}
