// The editor server's REST API. Every write sends application/json (the server refuses anything else).

import { authHeaders } from "./session";
import type { Catalogue, Problem, SparkDoc } from "./types";

export class ApiError extends Error {
  status: number;
  body: any;
  constructor(status: number, message: string, body: any) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

async function request<T>(method: "GET" | "POST", url: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const res = await fetch(url, {
    method,
    headers: { ...authHeaders(), ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
  let data: any = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    throw new ApiError(res.status, (data && data.error) || `${method} ${url} failed: ${res.status}`, data);
  }
  return data as T;
}

export interface Session {
  root: string;
  file: string | null;
  file_exists: boolean;
  spark_core: string;
  spark_editor: string;
}

export interface ParamCheck {
  ok: boolean;
  params?: Record<string, unknown>;
  message?: string;
  problems?: { param: string; message: string }[];
}

/** A port of the selection that "make component" offers to expose (POST /api/component/propose). */
export interface OfferedPort {
  node: string;
  port: string;
  direction: "in" | "out";
  payload: string;
  doc: string;
  crossing: boolean; // has an edge across the selection's boundary: always exposed
  inside: boolean;
  expose: boolean;
  name: string;
}

export interface ComponentOffer {
  ports: OfferedPort[];
  params: { node: string; param: string; value: unknown; name: string }[];
  n: number | null;
  name: string;
}

export interface MakeRequest {
  doc: SparkDoc;
  nodes: string[];
  name: string;
  kind: string;
  description?: string;
  ports: { node: string; port: string; direction: string; expose: boolean; name: string }[];
  params: { node: string; param: string; name: string }[];
  shape_param: boolean;
  overwrite?: boolean;
}

export interface Made {
  path: string;
  id: string;
  component: SparkDoc;
  doc: SparkDoc;
  problems: Problem[];
  warnings?: Problem[];
}

export interface CompositeSource {
  id: string;
  name: string;
  kind: string;
  doc: SparkDoc;
  editable: boolean;
  path: string | null;
  source: string;
}

export const api = {
  session: () => request<Session>("GET", "/api/session"),
  catalogue: () => request<Catalogue>("GET", "/api/catalogue"),
  refreshCatalogue: () => request<Catalogue>("POST", "/api/catalogue/refresh", {}),
  checkParams: (component: string, params: Record<string, unknown>) =>
    request<ParamCheck>("POST", "/api/params/check", { component, params }),
  // an aborted validation closes its connection: the server stops checking it (spark.cancel) and frees its slot
  validate: (doc: SparkDoc, signal?: AbortSignal) =>
    request<{ problems: Problem[]; warnings?: Problem[] }>("POST", "/api/validate", { doc }, signal),
  files: () => request<{ root: string; files: string[] }>("GET", "/api/files"),
  open: (path: string) =>
    request<{ path: string; doc: SparkDoc; problems: Problem[]; warnings?: Problem[] }>("GET", `/api/open?path=${encodeURIComponent(path)}`),
  save: (path: string, doc: SparkDoc, overwrite: boolean) =>
    request<{ path: string; problems: Problem[]; warnings?: Problem[] }>("POST", "/api/save", { path, doc, overwrite }),
  proposeComponent: (doc: SparkDoc, nodes: string[]) =>
    request<ComponentOffer>("POST", "/api/component/propose", { doc, nodes }),
  makeComponent: (req: MakeRequest) => request<Made>("POST", "/api/component/make", req),
  component: (id: string) => request<CompositeSource>("GET", `/api/component?id=${encodeURIComponent(id)}`),
};
