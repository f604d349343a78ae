// Canvas drawing of the run's raster, voltage traces and population rates (no chart library).
import { prepare } from "../viewer/draw";

export const COLORS = ["#e4572e", "#2d6cdf", "#17a398", "#9b59b6", "#f0a202", "#76b041", "#d7263d", "#1b998b"];

export interface Population { key: string; node: string; port: string; size: number; shown: number }
export interface Trace { key: string; node: string; port: string; neurons: number[] }

export interface RunData {
  steps: number; // planned
  dt: number;
  done: number; // steps received
  pops: Population[];
  traces: Trace[];
  spikes: Map<string, { t: number[]; i: number[] }>;
  rates: Map<string, number[]>;
  v: Map<string, number[][]>; // key -> per neuron -> values
}

export function emptyRun(): RunData {
  return { steps: 0, dt: 1, done: 0, pops: [], traces: [], spikes: new Map(), rates: new Map(), v: new Map() };
}

const PAD = { l: 56, r: 8, t: 6, b: 18 };

function axes(ctx: CanvasRenderingContext2D, w: number, h: number, xmax: number, ylo: string, yhi: string) {
  ctx.strokeStyle = "#bbb";
  ctx.lineWidth = 1;
  ctx.strokeRect(PAD.l, PAD.t, w - PAD.l - PAD.r, h - PAD.t - PAD.b);
  ctx.fillStyle = "#666";
  ctx.font = "10px sans-serif";
  ctx.textAlign = "right";
  ctx.fillText(yhi, PAD.l - 4, PAD.t + 9);
  ctx.fillText(ylo, PAD.l - 4, h - PAD.b);
  ctx.textAlign = "left";
  ctx.fillText("0", PAD.l, h - 5);
  ctx.textAlign = "right";
  ctx.fillText(`${+xmax.toFixed(3)} ms`, w - PAD.r, h - 5);
}

export function drawRaster(canvas: HTMLCanvasElement, run: RunData) {
  const ctx = prepare(canvas);
  if (!ctx) return;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  const rows = run.pops.reduce((s, p) => s + p.shown, 0) || 1;
  const T = Math.max(run.steps, 1);
  axes(ctx, w, h, T * run.dt, "", `${rows}`);
  const pw = w - PAD.l - PAD.r, ph = h - PAD.t - PAD.b;
  const dx = Math.max(pw / T, 1), dy = Math.max(ph / rows, 1);
  let offset = 0;
  run.pops.forEach((p, k) => {
    const s = run.spikes.get(p.key);
    ctx.fillStyle = COLORS[k % COLORS.length];
    if (s) {
      for (let j = 0; j < s.t.length; j++) {
        ctx.fillRect(PAD.l + (s.t[j] / T) * pw, PAD.t + ((offset + s.i[j]) / rows) * ph, dx, dy);
      }
    }
    offset += p.shown;
    if (k < run.pops.length - 1) {
      ctx.strokeStyle = "#ddd";
      ctx.beginPath();
      ctx.moveTo(PAD.l, PAD.t + (offset / rows) * ph);
      ctx.lineTo(w - PAD.r, PAD.t + (offset / rows) * ph);
      ctx.stroke();
    }
  });
}

function lines(canvas: HTMLCanvasElement, run: RunData, series: { color: string; values: (number | null)[] }[],
  unit: string) {
  const ctx = prepare(canvas);
  if (!ctx) return;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  let lo = Infinity, hi = -Infinity;
  for (const s of series) for (const v of s.values) if (v !== null) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (!Number.isFinite(lo)) { lo = 0; hi = 1; }
  if (hi - lo < 1e-9) { hi += 1; lo -= 1; }
  const T = Math.max(run.steps, 1);
  axes(ctx, w, h, T * run.dt, `${+lo.toFixed(2)} ${unit}`, `${+hi.toFixed(2)} ${unit}`);
  const pw = w - PAD.l - PAD.r, ph = h - PAD.t - PAD.b;
  for (const s of series) {
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 1.2;
    ctx.beginPath();
    let pen = false;
    s.values.forEach((v, t) => {
      if (v === null) { pen = false; return; }
      // the value of step t is the state at its end, (t + 1) dt (docs/time.md); a spike of step t is drawn over
      // the step, [t dt, (t + 1) dt], ending at its stamp
      const x = PAD.l + ((t + 1) / T) * pw, y = PAD.t + (1 - (v - lo) / (hi - lo)) * ph;
      if (pen) ctx.lineTo(x, y); else ctx.moveTo(x, y);
      pen = true;
    });
    ctx.stroke();
  }
}

export function drawVoltages(canvas: HTMLCanvasElement, run: RunData) {
  const series: { color: string; values: (number | null)[] }[] = [];
  let k = 0;
  for (const tr of run.traces) {
    const per = run.v.get(tr.key) ?? [];
    per.forEach((values) => series.push({ color: COLORS[k++ % COLORS.length], values }));
  }
  lines(canvas, run, series, "mV");
}

/** Rates smoothed over a sliding window of about 5 ms. */
export function drawRates(canvas: HTMLCanvasElement, run: RunData) {
  const win = Math.max(1, Math.round(5 / run.dt));
  const series = run.pops.map((p, k) => {
    const raw = run.rates.get(p.key) ?? [];
    const out: number[] = [];
    let acc = 0;
    raw.forEach((r, t) => {
      acc += r;
      if (t >= win) acc -= raw[t - win];
      out.push(acc / Math.min(t + 1, win));
    });
    return { color: COLORS[k % COLORS.length], values: out };
  });
  lines(canvas, run, series, "Hz");
}
