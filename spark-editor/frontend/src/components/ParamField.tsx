// One parameter of a component, generated from its JSON Schema (type, x-unit, bounds, enum, description).
// The value is committed on Enter / blur / change; the server builds the Params class and a refusal shows the
// core's own message under the field, leaving the model unchanged.

import { useEffect, useState } from "react";
import type { ParamSchema } from "../types";

const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function types(s: ParamSchema): string[] {
  return Array.isArray(s.type) ? s.type : [s.type];
}

export function boundsText(s: ParamSchema): string {
  const unit = s["x-unit"] ? ` ${s["x-unit"]}` : "";
  const parts: string[] = [];
  if (s.exclusiveMinimum !== undefined) parts.push(`> ${s.exclusiveMinimum}${unit}`);
  if (s.minimum !== undefined) parts.push(`≥ ${s.minimum}${unit}`);
  if (s.exclusiveMaximum !== undefined) parts.push(`< ${s.exclusiveMaximum}${unit}`);
  if (s.maximum !== undefined) parts.push(`≤ ${s.maximum}${unit}`);
  return parts.join(", ");
}

function show(v: unknown): string {
  if (v === undefined || v === null) return "";
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** The text of a field as a JSON value, without evaluating it: numbers where it reads as one, else the text. */
export function parseText(text: string, s: ParamSchema): unknown {
  const t = text.trim();
  const ty = types(s);
  if ((ty.includes("number") || ty.includes("integer")) && NUMBER_RE.test(t)) return Number(t);
  return ty.includes("string") ? text : t;
}

interface Props {
  name: string;
  schema: ParamSchema;
  value: unknown; // undefined: not set in the model (the default applies)
  onCommit: (value: unknown | undefined) => Promise<string | null>; // resolves to an error message or null
}

export function ParamField({ name, schema, value, onCommit }: Props) {
  const ty = types(schema);
  const nullable = ty.includes("null");
  const set = value !== undefined;
  const [draft, setDraft] = useState(show(value));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setDraft(show(value));
    setError(null);
  }, [value]);

  const commit = async (v: unknown | undefined) => {
    setBusy(true);
    const err = await onCommit(v);
    setBusy(false);
    setError(err);
  };
  const commitText = () => {
    if (draft === show(value) && !error) return;
    if (draft.trim() === "") return commit(undefined); // back to the default
    return commit(parseText(draft, schema));
  };
  const unit = schema["x-unit"];
  const bounds = boundsText(schema);
  const id = `param-${name}`;
  let input;
  if (schema.enum) {
    input = (
      <select id={id} value={show(value ?? schema.default)} data-testid={id}
        onChange={(e) => commit(schema.enum!.find((o) => show(o) === e.target.value))}>
        {schema.enum.map((o) => <option key={show(o)} value={show(o)}>{show(o)}</option>)}
      </select>
    );
  } else if (ty.includes("boolean")) {
    input = (
      <input id={id} type="checkbox" checked={Boolean(value ?? schema.default)} data-testid={id}
        onChange={(e) => commit(e.target.checked)} />
    );
  } else {
    input = (
      <input id={id} type="text" inputMode={ty.includes("string") ? "text" : "decimal"} value={draft}
        placeholder={schema.default === null || schema.default === undefined ? (nullable ? "none" : "")
          : `${show(schema.default)} (default)`}
        aria-invalid={error ? true : undefined} data-testid={id} spellCheck={false}
        onChange={(e) => setDraft(e.target.value)}
        onBlur={commitText}
        onKeyDown={(e) => {
          if (e.key === "Enter") (e.target as HTMLInputElement).blur();
          if (e.key === "Escape") { setDraft(show(value)); setError(null); }
        }} />
    );
  }
  return (
    <div className={`param${error ? " invalid" : ""}${set ? " set" : ""}`}>
      <label htmlFor={id} title={schema.description}>
        <span className="param-name">{name}</span>
        {unit && <span className="param-unit">[{unit}]</span>}
      </label>
      <div className="param-input">
        {input}
        {set && (
          <button className="reset" title={`reset ${name} to its default (${show(schema.default) || "none"})`}
            aria-label={`reset ${name}`} onClick={() => commit(undefined)} disabled={busy}>↺</button>
        )}
      </div>
      <div className="param-help">
        {schema.description}
        {bounds && <span className="param-bounds"> ({bounds})</span>}
      </div>
      {error && <div className="param-error" role="alert" data-testid={`param-error-${name}`}>{error}</div>}
    </div>
  );
}
