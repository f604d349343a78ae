// Validation problems (the validator of `spark validate`), then warnings (a valid model that runs silently: an encoder
// fed by nothing, no outputs); clicking one selects its node or edge.

import type { Problem } from "../types";

interface Props {
  problems: Problem[];
  warnings?: Problem[];
  checking: boolean;
  onSelect: (p: Problem) => void;
}

export function ProblemsPanel({ problems, warnings = [], checking, onSelect }: Props) {
  return (
    <div className="problems" data-testid="problems">
      {problems.length === 0 ? (
        <p className="ok" data-testid="problems-none">{checking ? "checking…" : "✓ No problems: the model is valid."}</p>
      ) : (
        <ul>
          {problems.map((p, k) => (
            <li key={k}>
              <button className="problem" onClick={() => onSelect(p)} data-testid="problem"
                title="select what this problem is about">
                <code>{p.path}</code> {p.message}
              </button>
            </li>
          ))}
        </ul>
      )}
      {warnings.length > 0 && (
        <ul className="warnings">
          {warnings.map((p, k) => (
            <li key={k}>
              <button className="problem warning" onClick={() => onSelect(p)} data-testid="warning"
                title="the model runs, but probably not as meant">
                ⚠ <code>{p.path}</code> {p.message}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
