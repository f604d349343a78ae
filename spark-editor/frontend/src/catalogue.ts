// Lookups over the catalogue (the registry's JSON): components by id, payload colours, ports.

import { createContext, useContext } from "react";
import type { Catalogue, ComponentSpec, PayloadType, PortSpec } from "./types";

/** Pseudo payload of the handles that attach a learning rule to a synapse. */
export const ATTACH = "@attach";
export const ATTACH_COLOR = "#9b59b6";

export interface CatalogueIndex {
  raw: Catalogue;
  byId: Map<string, ComponentSpec>;
  payloads: Map<string, PayloadType>;
  packVersions: Map<string, string>; // distributions of installed, working packs
}

export function indexCatalogue(raw: Catalogue): CatalogueIndex {
  return {
    raw,
    byId: new Map(raw.components.map((c) => [c.id, c])),
    payloads: new Map(raw.payload_types.map((p) => [p.name, p])),
    packVersions: new Map(raw.packs.filter((p) => p.status === "ok").map((p) => [p.distribution, p.version])),
  };
}

export const EMPTY_CATALOGUE: CatalogueIndex = indexCatalogue({
  format: "spark-component-list", format_version: 1, spark_core: "", packs: [], payload_types: [], components: [],
});

export const CatalogueContext = createContext<CatalogueIndex>(EMPTY_CATALOGUE);
export const useCatalogue = () => useContext(CatalogueContext);

/** Resolve a component id as the core does: canonical `dist:name`, or a short name where it is unique. */
export function resolveComponent(cat: CatalogueIndex, id: string): ComponentSpec | undefined {
  if (id.includes(":")) {
    const [dist, name] = [id.slice(0, id.indexOf(":")), id.slice(id.indexOf(":") + 1)];
    return cat.byId.get(`${dist.toLowerCase().replace(/[-_.]+/g, "-")}:${name}`);
  }
  const matches = cat.raw.components.filter((c) => c.name === id);
  return matches.length === 1 ? matches[0] : undefined;
}

export function payloadColor(cat: CatalogueIndex, payload: string): string {
  if (payload === ATTACH) return ATTACH_COLOR;
  return cat.payloads.get(payload)?.color ?? "#888888";
}

export function findPort(spec: ComponentSpec | undefined, direction: "in" | "out", name: string): PortSpec | undefined {
  if (!spec) return undefined;
  return (direction === "in" ? spec.inputs : spec.outputs).find((p) => p.name === name);
}

export function firstLine(doc: string): string {
  return (doc || "").trim().split("\n")[0] ?? "";
}

export const KIND_LABELS: Record<string, string> = {
  soma: "Somas",
  synapse: "Synapses",
  learning_rule: "Learning rules",
  encoder: "Encoders",
  decoder: "Decoders",
};

export const KIND_ORDER = ["encoder", "soma", "synapse", "learning_rule", "decoder"];
