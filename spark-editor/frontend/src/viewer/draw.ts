// Canvas drawing for the run viewer (no chart library): time plots share one window [t0, t1] (ms) and one layout,
// so a cursor at time t is at the same x in every plot of every column.

import type { Isi, Raster, Series, Weights } from "./api";

export const PAD = { l: 54, r: 10, t: 8, b: 20 };
export const COLORS = ["#2d6cdf", "#e4572e", "#17a398", "#9b59b6", "#f0a202", "#76b041", "#d7263d", "#1b998b"];

export interface Geom {
  w: number;
  h: number;
  pw: number;
  ph: number;
  t0: number;
  t1: number;
  x: (t: number) => number;
  time: (x: number) => number;
}

export function geom(canvas: HTMLCanvasElement, t0: number, t1: number): Geom {
  const w = canvas.clientWidth, h = canvas.clientHeight;
  const pw = Math.max(w - PAD.l - PAD.r, 1), ph = Math.max(h - PAD.t - PAD.b, 1);
  const span = t1 - t0 || 1;
  return {
    w, h, pw, ph, t0, t1,
    x: (t) => PAD.l + ((t - t0) / span) * pw,
    time: (x) => t0 + ((x - PAD.l) / pw) * span,
  };
}

/** Size the backing store to the element (device pixels), clear it, and return a context in CSS pixels. */
export function prepare(canvas: HTMLCanvasElement): CanvasRenderingContext2D | null {
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
    canvas.width = Math.round(w * ratio);
    canvas.height = Math.round(h * ratio);
  }
  const ctx = canvas.getContext("2d");
  if (!ctx) return null;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return ctx;
}

export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(1);
  return String(+v.toFixed(a < 1 ? 3 : a < 100 ? 2 : 1));
}

function niceStep(span: number, target: number): number {
  const raw = span / Math.max(target, 1);
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (raw <= m * p) return m * p;
  return 10 * p;
}

/** Frame, time ticks (ms) along the bottom, and the y range labels. */
export function timeAxes(ctx: CanvasRenderingContext2D, g: Geom, ylo: string, yhi: string, title: string) {
  ctx.strokeStyle = "#c4c9d2";
  ctx.lineWidth = 1;
  ctx.strokeRect(PAD.l + 0.5, PAD.t + 0.5, g.pw, g.ph);
  ctx.fillStyle = "#5b6270";
  ctx.font = "10px sans-serif";
  const step = niceStep(g.t1 - g.t0, Math.max(2, Math.floor(g.pw / 90)));
  ctx.textAlign = "center";
  for (let t = Math.ceil(g.t0 / step) * step; t <= g.t1 + 1e-9; t += step) {
    const x = g.x(t);
    ctx.fillRect(x, PAD.t + g.ph, 1, 3);
    ctx.fillText(`${fmt(t)}`, x, g.h - 6);
  }
  ctx.textAlign = "left";
  ctx.fillText("t (ms)", 2, g.h - 6);
  ctx.textAlign = "right";
  ctx.fillText(yhi, PAD.l - 4, PAD.t + 9);
  ctx.fillText(ylo, PAD.l - 4, PAD.t + g.ph);
  ctx.save();
  ctx.translate(11, PAD.t + g.ph / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = "center";
  ctx.fillText(title, 0, 0);
  ctx.restore();
}

export function message(canvas: HTMLCanvasElement, text: string) {
  const ctx = prepare(canvas);
  if (!ctx) return;
  ctx.fillStyle = "#6b7280";
  ctx.font = "12px sans-serif";
  ctx.textAlign = "center";
  ctx.fillText(text, canvas.clientWidth / 2, canvas.clientHeight / 2);
}

function clip(ctx: CanvasRenderingContext2D, g: Geom) {
  ctx.save();
  ctx.beginPath();
  ctx.rect(PAD.l, PAD.t, g.pw, g.ph);
  ctx.clip();
}

/** Spikes: one tick per spike over its step ([t - dt, t], at least a pixel wide); or a density image. */
export function drawRaster(canvas: HTMLCanvasElement, r: Raster, t0: number, t1: number, dt: number, color: string) {
  const ctx = prepare(canvas);
  if (!ctx) return;
  const g = geom(canvas, t0, t1);
  const [a, b] = r.neurons;
  const rows = Math.max(b - a, 1);
  timeAxes(ctx, g, `${a}`, `${b - 1}`, "neuron");
  clip(ctx, g);
  if (r.mode === "events" && r.t && r.i) {
    ctx.fillStyle = color;
    const dy = Math.max(g.ph / rows, 1), dx = Math.max(g.x(dt) - g.x(0), 1);
    for (let j = 0; j < r.t.length; j++) {
      const x = g.x(r.t[j] - dt);
      const y = PAD.t + g.ph - ((r.i[j] - a + 1) / rows) * g.ph;
      ctx.fillRect(x, y, dx, dy);
    }
  } else if (r.mode === "density" && r.counts && r.cols && r.rows) {
    const bytes = Uint8Array.from(atob(r.counts), (c) => c.charCodeAt(0));
    const counts = new Uint16Array(bytes.buffer);
    const off = document.createElement("canvas");
    off.width = r.cols;
    off.height = r.rows;
    const octx = off.getContext("2d")!;
    const img = octx.createImageData(r.cols, r.rows);
    const max = Math.max(r.max ?? 1, 1);
    const [cr, cg, cb] = [parseInt(color.slice(1, 3), 16), parseInt(color.slice(3, 5), 16), parseInt(color.slice(5, 7), 16)];
    for (let row = 0; row < r.rows; row++) {
      for (let col = 0; col < r.cols; col++) {
        const c = counts[row * r.cols + col];
        if (!c) continue;
        const p = ((r.rows - 1 - row) * r.cols + col) * 4; // neuron 0 at the bottom
        img.data[p] = cr;
        img.data[p + 1] = cg;
        img.data[p + 2] = cb;
        img.data[p + 3] = Math.round(70 + 185 * Math.sqrt(c / max));
      }
    }
    octx.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(off, g.x(r.t0), PAD.t, Math.max(g.x(r.t1) - g.x(r.t0), 1), g.ph);
  }
  ctx.restore();
}

/** Lines over time; a pooled series (bins of several samples) is drawn at each bin's middle, as a min-max band
 * when it has an envelope. */
export function drawSeries(canvas: HTMLCanvasElement, s: Series, t0: number, t1: number, title: string,
  opts: { zero?: boolean; colors?: string[] } = {}) {
  const ctx = prepare(canvas);
  if (!ctx) return;
  const g = geom(canvas, t0, t1);
  const xs = s.t.map((t, k) => (s.t_start ? (s.t_start[k] + t) / 2 : t));
  const lows = s.min ?? s.values ?? [];
  const highs = s.max ?? s.values ?? [];
  let lo = opts.zero ? 0 : Infinity, hi = -Infinity;
  for (const row of lows) for (const v of row) if (Number.isFinite(v)) lo = Math.min(lo, v);
  for (const row of highs) for (const v of row) if (Number.isFinite(v)) hi = Math.max(hi, v);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) { lo = 0; hi = 1; }
  if (hi - lo < 1e-9) { hi = lo + 1; }
  const pad = opts.zero ? 0 : (hi - lo) * 0.05;
  lo -= pad;
  hi += pad * (opts.zero ? 0 : 1) + (opts.zero ? (hi - lo) * 0.08 : 0);
  const unit = s.unit ? ` ${s.unit}` : "";
  timeAxes(ctx, g, `${fmt(lo)}${unit}`, `${fmt(hi)}${unit}`, title);
  const y = (v: number) => PAD.t + (1 - (v - lo) / (hi - lo)) * g.ph;
  clip(ctx, g);
  const colors = opts.colors ?? COLORS;
  lows.forEach((low, n) => {
    const high = highs[n];
    const color = colors[n % colors.length];
    if (s.min && s.max) { // envelope band
      ctx.fillStyle = color + "55";
      ctx.beginPath();
      xs.forEach((x, k) => (k ? ctx.lineTo(g.x(x), y(high[k])) : ctx.moveTo(g.x(x), y(high[k]))));
      for (let k = xs.length - 1; k >= 0; k--) ctx.lineTo(g.x(xs[k]), y(low[k]));
      ctx.closePath();
      ctx.fill();
    }
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.2;
    ctx.beginPath();
    xs.forEach((x, k) => {
      const v = s.min && s.max ? (low[k] + high[k]) / 2 : low[k];
      if (k) ctx.lineTo(g.x(x), y(v)); else ctx.moveTo(g.x(x), y(v));
    });
    ctx.stroke();
  });
  ctx.restore();
}

export function drawIsi(canvas: HTMLCanvasElement, isi: Isi, color: string) {
  const ctx = prepare(canvas);
  if (!ctx) return;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  const pw = w - PAD.l - PAD.r, ph = h - PAD.t - PAD.b;
  const top = Math.max(...isi.counts, 1);
  const xmax = isi.edges[isi.edges.length - 1] || 1;
  ctx.strokeStyle = "#c4c9d2";
  ctx.strokeRect(PAD.l + 0.5, PAD.t + 0.5, pw, ph);
  ctx.fillStyle = color;
  isi.counts.forEach((c, k) => {
    const x0 = PAD.l + (isi.edges[k] / xmax) * pw, x1 = PAD.l + (isi.edges[k + 1] / xmax) * pw;
    const bh = (c / top) * ph;
    ctx.fillRect(x0, PAD.t + ph - bh, Math.max(x1 - x0 - 1, 1), bh);
  });
  ctx.fillStyle = "#5b6270";
  ctx.font = "10px sans-serif";
  ctx.textAlign = "right";
  ctx.fillText(`${top}`, PAD.l - 4, PAD.t + 9);
  ctx.fillText("0", PAD.l - 4, PAD.t + ph);
  ctx.textAlign = "left";
  ctx.fillText("0", PAD.l, h - 6);
  ctx.textAlign = "right";
  ctx.fillText(`${fmt(xmax)} ms (ISI)`, w - PAD.r, h - 6);
  const stats = `n = ${isi.n}${isi.cv !== null ? `, CV ${isi.cv.toFixed(2)}` : ""}${
    isi.mean !== null ? `, mean ${fmt(isi.mean)} ms` : ""}`;
  const sw = ctx.measureText(stats).width + 6;
  ctx.fillStyle = "rgba(255,255,255,0.85)";
  ctx.fillRect(w - PAD.r - 4 - sw + 3, PAD.t + 2, sw, 13);
  ctx.fillStyle = "#5b6270";
  ctx.textAlign = "right";
  ctx.fillText(stats, w - PAD.r - 4, PAD.t + 12);
}

/** A value -> colour map: diverging (blue, white, red) around 0 when the values change sign, else white to blue. */
function colormap(lo: number, hi: number): (v: number) => [number, number, number] {
  if (lo < 0 && hi > 0) {
    const m = Math.max(-lo, hi);
    return (v) => {
      const u = Math.max(-1, Math.min(1, v / m));
      return u >= 0 ? [255, Math.round(255 * (1 - u)), Math.round(255 * (1 - u))]
        : [Math.round(255 * (1 + u)), Math.round(255 * (1 + u)), 255];
    };
  }
  const span = hi - lo || 1;
  return (v) => {
    const u = Math.max(0, Math.min(1, (v - lo) / span));
    return [Math.round(255 - 230 * u), Math.round(255 - 170 * u), Math.round(255 - 60 * u)];
  };
}

function image(values: number[][], map: (v: number) => [number, number, number]): HTMLCanvasElement {
  const rows = values.length, cols = values[0]?.length ?? 0;
  const off = document.createElement("canvas");
  off.width = Math.max(cols, 1);
  off.height = Math.max(rows, 1);
  const octx = off.getContext("2d")!;
  const img = octx.createImageData(off.width, off.height);
  values.forEach((row, r) => row.forEach((v, c) => {
    const [R, G, B] = map(v);
    const p = (r * cols + c) * 4;
    img.data[p] = R;
    img.data[p + 1] = G;
    img.data[p + 2] = B;
    img.data[p + 3] = 255;
  }));
  octx.putImageData(img, 0, 0);
  return off;
}

/** The weight matrix (rows: presynaptic, columns: postsynaptic neurons) and, beside it, receptive fields. */
export function drawWeights(canvas: HTMLCanvasElement, w: Weights) {
  const ctx = prepare(canvas);
  if (!ctx) return;
  const W = canvas.clientWidth, H = canvas.clientHeight;
  const map = colormap(w.min, w.max);
  ctx.imageSmoothingEnabled = false;
  const fields = w.fields ?? [];
  const side = Math.min(H - 34, fields.length ? W * 0.5 : W - 20);
  const mw = side, mh = side;
  ctx.drawImage(image(w.matrix, map), 10, 8, mw, mh);
  ctx.strokeStyle = "#c4c9d2";
  ctx.strokeRect(10.5, 8.5, mw, mh);
  ctx.fillStyle = "#5b6270";
  ctx.font = "10px sans-serif";
  ctx.textAlign = "left";
  ctx.fillText(`${w.synapse}: ${w.shape[0]} pre x ${w.shape[1]} post${w.block[0] > 1 || w.block[1] > 1
    ? ` (means of ${w.block[0]}x${w.block[1]})` : ""}; ${fmt(w.min)} .. ${fmt(w.max)}`, 10, H - 8);
  if (fields.length) {
    const n = fields.length, ncol = Math.ceil(Math.sqrt(n)), nrow = Math.ceil(n / ncol);
    const x0 = 20 + mw, avail = Math.min(W - x0 - 10, mh);
    const cell = Math.floor(avail / Math.max(ncol, nrow));
    fields.forEach((f, k) => {
      ctx.drawImage(image(f, map), x0 + (k % ncol) * cell, 8 + Math.floor(k / ncol) * cell, cell - 2, cell - 2);
    });
    ctx.fillText(`receptive fields of post neurons 0..${n - 1}`, x0, H - 20);
  }
}

/** The cursor (a vertical line with its time) and a zoom selection, on the overlay canvas. */
export function drawOverlay(canvas: HTMLCanvasElement, t0: number, t1: number, cursor: number | null,
  drag: [number, number] | null) {
  const ctx = prepare(canvas);
  if (!ctx) return;
  const g = geom(canvas, t0, t1);
  if (drag) {
    ctx.fillStyle = "rgba(45, 108, 223, 0.15)";
    const [a, b] = [Math.min(drag[0], drag[1]), Math.max(drag[0], drag[1])];
    ctx.fillRect(g.x(a), PAD.t, g.x(b) - g.x(a), g.ph);
  }
  if (cursor !== null && cursor >= t0 && cursor <= t1) {
    const x = Math.round(g.x(cursor)) + 0.5;
    ctx.strokeStyle = "#d7263d";
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(x, PAD.t);
    ctx.lineTo(x, PAD.t + g.ph);
    ctx.stroke();
    const label = `${fmt(cursor)} ms`;
    ctx.font = "10px sans-serif";
    const tw = ctx.measureText(label).width + 6;
    const lx = Math.min(x + 3, g.w - PAD.r - tw);
    ctx.fillStyle = "rgba(255,255,255,0.85)";
    ctx.fillRect(lx, PAD.t + 1, tw, 13);
    ctx.fillStyle = "#d7263d";
    ctx.textAlign = "left";
    ctx.fillText(label, lx + 3, PAD.t + 11);
  }
}
