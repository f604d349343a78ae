// Modal dialogs as promises: confirm, ask for a path, pick a file to open.

import { useCallback, useEffect, useRef, useState, type ReactNode } from "react";
import { api } from "../api";

type Dialog =
  | { kind: "confirm"; title: string; message: string; ok: string; resolve: (v: boolean) => void }
  | { kind: "path"; title: string; message: string; initial: string; ok: string; resolve: (v: string | null) => void }
  | { kind: "open"; resolve: (v: string | null) => void };

function Modal({ title, children, onClose }: { title: string; children: ReactNode; onClose: () => void }) {
  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className="modal" role="dialog" aria-modal="true" aria-label={title}
        onKeyDown={(e) => e.key === "Escape" && onClose()}>
        <h2>{title}</h2>
        {children}
      </div>
    </div>
  );
}

function PathDialog({ d }: { d: Extract<Dialog, { kind: "path" }> }) {
  const [value, setValue] = useState(d.initial);
  const ref = useRef<HTMLInputElement>(null);
  useEffect(() => { ref.current?.focus(); ref.current?.select(); }, []);
  const ok = () => d.resolve(value.trim() || null);
  return (
    <Modal title={d.title} onClose={() => d.resolve(null)}>
      <p>{d.message}</p>
      <input ref={ref} type="text" value={value} data-testid="path-input" spellCheck={false}
        onChange={(e) => setValue(e.target.value)} onKeyDown={(e) => e.key === "Enter" && ok()} />
      <div className="modal-buttons">
        <button onClick={() => d.resolve(null)}>Cancel</button>
        <button className="primary" onClick={ok} data-testid="dialog-ok">{d.ok}</button>
      </div>
    </Modal>
  );
}

function OpenDialog({ d }: { d: Extract<Dialog, { kind: "open" }> }) {
  const [files, setFiles] = useState<string[] | null>(null);
  const [root, setRoot] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [value, setValue] = useState("");
  useEffect(() => {
    api.files().then((r) => { setFiles(r.files); setRoot(r.root); }).catch((e) => setError(String(e.message)));
  }, []);
  return (
    <Modal title="Open model" onClose={() => d.resolve(null)}>
      <p className="muted small">Models in {root || "the editor's folder"}:</p>
      {error && <p className="error">{error}</p>}
      <ul className="file-list" data-testid="file-list">
        {files === null && !error && <li className="muted">loading…</li>}
        {files?.length === 0 && <li className="muted">no .spark files here</li>}
        {files?.map((f) => (
          <li key={f}><button className="file" onClick={() => d.resolve(f)} data-testid={`file-${f}`}>{f}</button></li>
        ))}
      </ul>
      <input type="text" placeholder="or type a path, e.g. models/net.spark" value={value} data-testid="path-input"
        onChange={(e) => setValue(e.target.value)} onKeyDown={(e) => e.key === "Enter" && value && d.resolve(value)} />
      <div className="modal-buttons">
        <button onClick={() => d.resolve(null)}>Cancel</button>
        <button className="primary" disabled={!value.trim()} onClick={() => d.resolve(value.trim())}>Open</button>
      </div>
    </Modal>
  );
}

export function useDialogs() {
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const confirm = useCallback((title: string, message: string, ok = "OK") =>
    new Promise<boolean>((resolve) => setDialog({ kind: "confirm", title, message, ok,
      resolve: (v) => { setDialog(null); resolve(v); } })), []);
  const askPath = useCallback((title: string, message: string, initial: string, ok = "Save") =>
    new Promise<string | null>((resolve) => setDialog({ kind: "path", title, message, initial, ok,
      resolve: (v) => { setDialog(null); resolve(v); } })), []);
  const pickFile = useCallback(() =>
    new Promise<string | null>((resolve) => setDialog({ kind: "open",
      resolve: (v) => { setDialog(null); resolve(v); } })), []);
  let element: ReactNode = null;
  if (dialog?.kind === "confirm") {
    const d = dialog;
    element = (
      <Modal title={d.title} onClose={() => d.resolve(false)}>
        <p>{d.message}</p>
        <div className="modal-buttons">
          <button onClick={() => d.resolve(false)} data-testid="dialog-cancel">Cancel</button>
          <button className="primary" autoFocus onClick={() => d.resolve(true)} data-testid="dialog-ok">{d.ok}</button>
        </div>
      </Modal>
    );
  } else if (dialog?.kind === "path") {
    element = <PathDialog d={dialog} />;
  } else if (dialog?.kind === "open") {
    element = <OpenDialog d={dialog} />;
  }
  return { confirm, askPath, pickFile, element };
}
