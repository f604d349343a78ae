// "Make component": name the new composite, choose its kind and which ports and params of the selection it exposes.
// The server offers the ports (POST /api/component/propose): those with edges across the selection's boundary are
// exposed (and must be), the others are offered unticked. Make writes components/<name>.spark (the editor folder's
// library) and replaces the selection by one node of it (see App.tsx and spark_editor/components.py).

import { useEffect, useRef, useState } from "react";
import type { ComponentOffer, MakeRequest, OfferedPort } from "../api";

const KINDS = ["composite", "soma", "synapse", "encoder", "decoder", "learning_rule"];
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

type Choice = Pick<MakeRequest, "name" | "kind" | "description" | "ports" | "params" | "shape_param">;

interface Props {
  offer: ComponentOffer;
  count: number;
  onCancel: () => void;
  /** makes it; resolves to an error message to show, or null when done */
  onMake: (choice: Choice) => Promise<string | null>;
}

const key = (p: OfferedPort) => `${p.node}-${p.direction}-${p.port}`;

export function MakeComponentDialog({ offer, count, onCancel, onMake }: Props) {
  const [name, setName] = useState(offer.name);
  const [kind, setKind] = useState("composite");
  const [description, setDescription] = useState("");
  const [ports, setPorts] = useState<OfferedPort[]>(offer.ports.map((p) => ({ ...p })));
  const [lifted, setLifted] = useState<Record<string, string | null>>({});
  const [shapeParam, setShapeParam] = useState(offer.n !== null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const ref = useRef<HTMLInputElement>(null);
  useEffect(() => { ref.current?.focus(); ref.current?.select(); }, []);

  const patch = (k: string, change: Partial<OfferedPort>) =>
    setPorts((all) => all.map((p) => (key(p) === k ? { ...p, ...change } : p)));
  const submit = async () => {
    if (!NAME.test(name)) {
      setError(`${JSON.stringify(name)} is not a plain name: use letters, digits and _, not starting with a digit`);
      return;
    }
    setBusy(true);
    const params = Object.entries(lifted).filter(([, v]) => v !== null).map(([k, v]) => {
      const [node, param] = k.split("\u0000");
      return { node, param, name: v as string };
    });
    const problem = await onMake({
      name, kind, description, shape_param: shapeParam, params,
      ports: ports.map((p) => ({ node: p.node, port: p.port, direction: p.direction, expose: p.expose, name: p.name })),
    });
    setBusy(false);
    setError(problem);
  };
  const exposed = ports.filter((p) => p.expose).length;
  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onCancel()}>
      <div className="modal make-component" role="dialog" aria-modal="true" aria-label="Make component"
        data-testid="make-dialog" onKeyDown={(e) => e.key === "Escape" && onCancel()}>
        <h2>Make component</h2>
        <p className="muted small">The {count} selected node(s) become a composite saved as
          <code> components/{name || "…"}.spark</code> (id <code>library:{name || "…"}</code>) and are replaced by one
          node of it.</p>
        <div className="make-row">
          <label htmlFor="make-name">name</label>
          <input id="make-name" ref={ref} type="text" value={name} data-testid="make-name" spellCheck={false}
            onChange={(e) => setName(e.target.value)} onKeyDown={(e) => e.key === "Enter" && submit()} />
          <label htmlFor="make-kind">kind</label>
          <select id="make-kind" value={kind} data-testid="make-kind" onChange={(e) => setKind(e.target.value)}>
            {KINDS.map((k) => <option key={k} value={k}>{k}</option>)}
          </select>
        </div>
        <input type="text" placeholder="what it is (optional)" value={description} data-testid="make-doc"
          onChange={(e) => setDescription(e.target.value)} />
        <h3>Ports to expose <span className="muted small">({exposed})</span></h3>
        <table className="make-ports">
          <tbody>
            {ports.map((p) => (
              <tr key={key(p)} className={p.crossing ? "crossing" : ""}>
                <td>
                  <input type="checkbox" checked={p.expose} disabled={p.crossing}
                    data-testid={`make-port-${key(p)}`} aria-label={`expose ${p.node}.${p.port}`}
                    onChange={(e) => patch(key(p), { expose: e.target.checked })} />
                </td>
                <td className="mono">{p.direction === "in" ? "→ " : ""}{p.node}.{p.port}{p.direction === "out" ? " →" : ""}</td>
                <td className="muted small">{p.payload}</td>
                <td>
                  <input type="text" value={p.name} disabled={!p.expose} spellCheck={false}
                    data-testid={`make-port-name-${key(p)}`} aria-label={`exposed name of ${p.node}.${p.port}`}
                    onChange={(e) => patch(key(p), { name: e.target.value })} />
                </td>
                <td className="muted small">{p.crossing ? "connected outside" : p.inside ? "connected inside" : ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {(offer.n !== null || offer.params.length > 0) && <h3>Params of the component</h3>}
        {offer.n !== null && (
          <label className="make-check">
            <input type="checkbox" checked={shapeParam} data-testid="make-shape-param"
              onChange={(e) => setShapeParam(e.target.checked)} />
            the size of the selected populations ({offer.n}) becomes param <code>n</code>
          </label>
        )}
        {offer.params.map((p) => {
          const k = `${p.node}\u0000${p.param}`;
          const on = lifted[k] !== undefined && lifted[k] !== null;
          return (
            <label key={k} className="make-check">
              <input type="checkbox" checked={on} data-testid={`make-param-${p.node}-${p.param}`}
                onChange={(e) => setLifted((all) => ({ ...all, [k]: e.target.checked ? p.name : null }))} />
              <span className="mono">{p.node}.{p.param}</span> = {JSON.stringify(p.value)} becomes param
              <input type="text" value={on ? (lifted[k] as string) : p.name} disabled={!on} spellCheck={false}
                onChange={(e) => setLifted((all) => ({ ...all, [k]: e.target.value }))} />
            </label>
          );
        })}
        {error && <p className="error" role="alert" data-testid="make-error">{error}</p>}
        <div className="modal-buttons">
          <button onClick={onCancel} data-testid="make-cancel">Cancel</button>
          <button className="primary" disabled={busy} onClick={submit} data-testid="make-ok">Make component</button>
        </div>
      </div>
    </div>
  );
}
