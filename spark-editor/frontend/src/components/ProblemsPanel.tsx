// Validation problems (the validator of `spark validate`); clicking one selects its node or edge.

import type { Problem } from "../types";

interface Props {
  problems: Problem[];
  checking: boolean;
  onSelect: (p: Problem) => void;
}

export function ProblemsPanel({ problems, checking, onSelect }: Props) {
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
    </div>
  );
}
