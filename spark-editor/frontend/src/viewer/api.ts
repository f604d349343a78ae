// The run viewer's data API (spark_editor/viewer.py): GET only; every time is in ms, stamped by the server.

import { authHeaders } from "../session";
import type { SparkDoc } from "../types";

export interface RunEntry { id: string; name: string; folder: string }
export interface RunList { mode: "view" | "edit"; runs: RunEntry[] }

export interface MonitorInfo {
  key: string;
  node: string;
  attr: string;
  kind: "spikes" | "rate" | "trace";
  payload: string | null;
  unit: string | null;
  every: number;
  samples: number;
  columns: number;
  neurons: number[] | null;
}

export interface RunInfo {
  run: string;
  name: string;
  dt: number;
  steps: number;
  t_start: number;
  t_end: number;
  doc: SparkDoc | null;
  graph_source: string | null;
  monitors: MonitorInfo[];
  rates: Record<string, { key: string; hz: number; spikes: number | null; neurons: number | null }>;
  weights: Record<string, { shape: number[]; pre: string | null; post: string | null; image_shape: number[] | null }>;
}

export interface Raster {
  key: string;
  t0: number;
  t1: number;
  neurons: [number, number];
  n_neurons: number;
  total: number;
  mode: "events" | "density";
  t?: number[];
  i?: number[];
  cols?: number;
  rows?: number;
  max?: number;
  counts?: string;
}

export interface Series {
  key: string;
  unit: string | null;
  t: number[];
  t_start?: number[];
  pooled: number;
  smooth?: number | null;
  values?: number[][];
  min?: number[][];
  max?: number[][];
  neurons?: number[];
}

export interface Isi { key: string; n: number; edges: number[]; counts: number[]; mean: number | null; cv: number | null }

export interface Weights {
  synapse: string;
  shape: number[];
  block: number[];
  min: number;
  max: number;
  matrix: number[][];
  image_shape?: number[];
  fields?: number[][][];
}

export class ViewApiError extends Error {
  status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

async function get<T>(path: string, params: Record<string, string | number | null | undefined>,
  signal?: AbortSignal): Promise<T> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") q.set(k, String(v));
  const res = await fetch(`${path}?${q}`, { signal, headers: authHeaders() });
  let data: any = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) throw new ViewApiError(res.status, (data && data.error) || `GET ${path} failed: ${res.status}`);
  return data as T;
}

export type Window = { t0: number; t1: number };

export const viewApi = {
  runs: () => get<RunList>("/api/runs", {}),
  info: (run: string, signal?: AbortSignal) => get<RunInfo>("/api/runs/info", { run }, signal),
  raster: (run: string, key: string, w: Window, width: number, height: number, signal?: AbortSignal) =>
    get<Raster>("/api/runs/raster", { run, key, t0: w.t0, t1: w.t1, width, height, max_events: 50000 }, signal),
  rate: (run: string, key: string, w: Window, width: number, smooth: number, signal?: AbortSignal) =>
    get<Series>("/api/runs/rate", { run, key, t0: w.t0, t1: w.t1, width, smooth: smooth || null }, signal),
  trace: (run: string, key: string, columns: string, w: Window, width: number, signal?: AbortSignal) =>
    get<Series>("/api/runs/trace", { run, key, columns, t0: w.t0, t1: w.t1, width }, signal),
  isi: (run: string, key: string, w: Window, signal?: AbortSignal) =>
    get<Isi>("/api/runs/isi", { run, key, t0: w.t0, t1: w.t1, bins: 40 }, signal),
  weights: (run: string, synapse: string, signal?: AbortSignal) =>
    get<Weights>("/api/runs/weights", { run, synapse, fields: 16 }, signal),
};
