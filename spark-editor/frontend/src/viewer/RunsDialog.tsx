// The editor's "Runs…" dialog: the run folders under the editor's folder (what `spark run` wrote), each opened in
// the run viewer (/view) in a new tab; pick a second run to compare two side by side.

import { useEffect, useState } from "react";
import { keepEmbed } from "../session";
import { viewApi, type RunEntry } from "./api";

export function viewUrl(runs: string[]): string {
  const q = keepEmbed(new URLSearchParams());
  for (const r of runs) q.append("run", r);
  return `/view?${q}`;
}

export function RunsDialog({ onClose }: { onClose: () => void }) {
  const [runs, setRuns] = useState<RunEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [a, setA] = useState("");
  const [b, setB] = useState("");
  useEffect(() => {
    viewApi.runs().then((r) => { setRuns(r.runs); setA(r.runs[0]?.id ?? ""); },
      (e) => setError((e as Error).message));
  }, []);
  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className="modal" role="dialog" aria-modal="true" aria-label="Runs" data-testid="runs-dialog">
        <h2>Recorded runs</h2>
        <p className="muted small">Folders written by <code>spark run</code> under the editor's folder; each opens in
          the run viewer (a new tab).</p>
        {error && <p className="error">{error}</p>}
        <ul className="file-list" data-testid="run-list">
          {runs === null && !error && <li className="muted">loading…</li>}
          {runs?.length === 0 && <li className="muted">no runs here (spark run MODEL --out FOLDER makes one)</li>}
          {runs?.map((r) => (
            <li key={r.id}><a className="file" href={viewUrl([r.id])} target="_blank" rel="noreferrer"
              data-testid={`run-${r.id}`}>{r.name}</a></li>
          ))}
        </ul>
        {runs && runs.length > 1 && (
          <p className="compare">Compare <select value={a} onChange={(e) => setA(e.target.value)} data-testid="compare-a">
            {runs.map((r) => <option key={r.id} value={r.id}>{r.name}</option>)}
          </select> with <select value={b} onChange={(e) => setB(e.target.value)} data-testid="compare-b">
            <option value="">—</option>
            {runs.filter((r) => r.id !== a).map((r) => <option key={r.id} value={r.id}>{r.name}</option>)}
          </select>{" "}
          {a && b && <a href={viewUrl([a, b])} target="_blank" rel="noreferrer" data-testid="compare-open">open side by side</a>}
          </p>
        )}
        <div className="modal-buttons"><button onClick={onClose} data-testid="runs-close">Close</button></div>
      </div>
    </div>
  );
}
