// One time plot: a data canvas (redrawn when its data or the window change) under an overlay canvas that draws
// the shared cursor and a zoom selection (redrawn on every mouse move, so moving the cursor never redraws data).
// Drag to zoom into a window; double-click to see the whole run; the cursor follows the mouse.

import { useEffect, useRef, useState } from "react";
import { drawOverlay, geom, PAD } from "./draw";

export interface TimePlotProps {
  testid: string;
  height: number;
  t0: number;
  t1: number;
  cursor: number | null;
  onCursor: (t: number | null) => void;
  onZoom: (w: { t0: number; t1: number } | null) => void;
  draw: (canvas: HTMLCanvasElement) => void;
  version: unknown; // redraw the data when this changes
  data?: Record<string, string | number>;
}

export function TimePlot({ testid, height, t0, t1, cursor, onCursor, onZoom, draw, version, data }: TimePlotProps) {
  const base = useRef<HTMLCanvasElement>(null);
  const over = useRef<HTMLCanvasElement>(null);
  const [width, setWidth] = useState(0);
  const [drag, setDrag] = useState<[number, number] | null>(null);
  const drawRef = useRef(draw);
  drawRef.current = draw;

  useEffect(() => {
    const el = base.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setWidth(el.clientWidth));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  useEffect(() => {
    if (base.current && width > 0) drawRef.current(base.current);
  }, [version, width, t0, t1, height]);
  useEffect(() => {
    if (over.current && width > 0) drawOverlay(over.current, t0, t1, cursor, drag);
  }, [cursor, drag, width, t0, t1, height]);

  const timeAt = (e: React.MouseEvent) => {
    const c = over.current!;
    const box = c.getBoundingClientRect();
    const x = e.clientX - box.left;
    if (x < PAD.l || x > box.width - PAD.r) return null;
    return geom(c, t0, t1).time(x);
  };

  return (
    <div className="time-plot" style={{ height }}>
      <canvas ref={base} className="plot-base" data-testid={testid}
        {...Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [`data-${k}`, String(v)]))} />
      <canvas ref={over} className="plot-overlay" data-testid={`${testid}-overlay`}
        onMouseMove={(e) => {
          const t = timeAt(e);
          if (t !== null) {
            onCursor(t);
            if (drag) setDrag([drag[0], t]);
          }
        }}
        onMouseDown={(e) => {
          const t = timeAt(e);
          if (t !== null && e.button === 0) setDrag([t, t]);
        }}
        onMouseUp={() => {
          if (drag) {
            const [a, b] = [Math.min(...drag), Math.max(...drag)];
            const c = over.current!;
            const g = geom(c, t0, t1);
            if (g.x(b) - g.x(a) > 4) onZoom({ t0: a, t1: b });
          }
          setDrag(null);
        }}
        onMouseLeave={() => setDrag(null)}
        onDoubleClick={() => onZoom(null)} />
    </div>
  );
}
