// Every installed pack's components, grouped by kind and pack, with a search box. Drag an item onto the canvas
// (or press its + button) to add it.

import { useMemo, useState } from "react";
import { KIND_LABELS, KIND_ORDER, firstLine, useCatalogue } from "../catalogue";
import type { ComponentSpec } from "../types";

export const DRAG_MIME = "application/x-spark-component";
export const INPUT_ITEM = "@input";
export const OUTPUT_ITEM = "@output";

interface Props {
  onAdd: (item: string) => void;
  onRefresh: () => void;
  refreshing: boolean;
}

function matches(c: ComponentSpec, q: string): boolean {
  if (!q) return true;
  const hay = `${c.id} ${c.name} ${c.kind} ${c.doc}`.toLowerCase();
  return q.toLowerCase().split(/\s+/).filter(Boolean).every((w) => hay.includes(w));
}

function Item({ id, title, sub, doc, onAdd, composite }: { id: string; title: string; sub: string; doc: string;
  onAdd: (id: string) => void; composite?: boolean }) {
  const [open, setOpen] = useState(false);
  return (
    <li className={`palette-item${composite ? " composite" : ""}`} draggable data-testid={`palette-${id}`}
      data-component={id} data-composite={composite ? "true" : undefined}
      onDragStart={(e) => {
        e.dataTransfer.setData(DRAG_MIME, id);
        e.dataTransfer.setData("text/plain", id);
        e.dataTransfer.effectAllowed = "copy";
      }}
      onDoubleClick={() => onAdd(id)}>
      <div className="palette-row">
        <button className="doc-toggle" aria-label={`${open ? "hide" : "show"} documentation of ${title}`}
          aria-expanded={open} onClick={() => setOpen(!open)}>{open ? "▾" : "▸"}</button>
        <span className="palette-name" title={doc}>{title}</span>
        {composite && <span className="palette-badge" title="a composite: a saved subgraph used as one node">◇ composite</span>}
        <button className="add" title={`add ${title} to the canvas`} aria-label={`add ${title}`}
          onClick={() => onAdd(id)}>+</button>
      </div>
      <div className="palette-sub">{sub}</div>
      {open ? <pre className="palette-doc">{doc}</pre> : <div className="palette-line">{firstLine(doc)}</div>}
    </li>
  );
}

export function Palette({ onAdd, onRefresh, refreshing }: Props) {
  const cat = useCatalogue();
  const [query, setQuery] = useState("");
  const groups = useMemo(() => {
    const byKind = new Map<string, Map<string, ComponentSpec[]>>();
    for (const c of cat.raw.components) {
      if (!matches(c, query)) continue;
      const packs = byKind.get(c.kind) ?? new Map<string, ComponentSpec[]>();
      byKind.set(c.kind, packs);
      packs.set(c.distribution, [...(packs.get(c.distribution) ?? []), c]);
    }
    const kinds = [...byKind.keys()].sort((a, b) => {
      const ia = KIND_ORDER.indexOf(a), ib = KIND_ORDER.indexOf(b);
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
    });
    return kinds.map((k) => ({ kind: k, packs: [...byKind.get(k)!.entries()].sort(([a], [b]) => a.localeCompare(b)) }));
  }, [cat, query]);
  const broken = cat.raw.packs.filter((p) => p.status !== "ok");
  const ioVisible = !query || "input output model".includes(query.toLowerCase());
  return (
    <aside className="palette" aria-label="component palette">
      <div className="palette-head">
        <input type="search" placeholder="Search components…" value={query} aria-label="search components"
          onChange={(e) => setQuery(e.target.value)} data-testid="palette-search" />
        <button onClick={onRefresh} disabled={refreshing} title="rediscover installed packs"
          data-testid="refresh-packs">{refreshing ? "…" : "↻"}</button>
      </div>
      <div className="palette-scroll">
        {groups.map(({ kind, packs }) => (
          <section key={kind} className="palette-kind" data-testid={`kind-${kind}`}>
            <h3>{KIND_LABELS[kind] ?? kind}</h3>
            {packs.map(([dist, comps]) => (
              <div key={dist} className="palette-pack">
                <h4>{dist === "library" ? "library (your components)" : dist}</h4>
                <ul>
                  {comps.map((c) => (
                    <Item key={c.id} id={c.id} title={c.name} doc={c.doc} onAdd={onAdd} composite={!!c.composite}
                      sub={c.distribution === "library" ? `${c.id} · user library` : `${c.id} · ${c.version}`} />
                  ))}
                </ul>
              </div>
            ))}
          </section>
        ))}
        {!groups.length && cat.raw.components.length > 0 && <p className="muted">No component matches “{query}”.</p>}
        {!cat.raw.components.length && <p className="muted">No components installed. Install a pack, e.g.
          <code> pip install spark-components</code>, then press ↻.</p>}
        {ioVisible && (
          <section className="palette-kind">
            <h3>Model inputs &amp; outputs</h3>
            <ul>
              <Item id={INPUT_ITEM} title="input" sub="named external input"
                doc="A named input of the model: data or current fed to one input port (with an optional constant value)."
                onAdd={onAdd} />
              <Item id={OUTPUT_ITEM} title="output" sub="named output"
                doc="A named output of the model, read from one output port." onAdd={onAdd} />
            </ul>
          </section>
        )}
        {broken.length > 0 && (
          <section className="palette-broken">
            <h3>Packs that failed to load</h3>
            {broken.map((p) => (
              <p key={p.distribution} title={p.error ?? ""}><b>{p.distribution} {p.version}</b> ({p.status}): {p.error}</p>
            ))}
          </section>
        )}
      </div>
    </aside>
  );
}
