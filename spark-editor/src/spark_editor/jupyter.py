"""Spark in Jupyter: the editor and the run viewer as notebook widgets, and a live raster fed by ``run_iter``.

Needs the ``jupyter`` extra (``pip install 'spark-editor[jupyter]'``: anywidget). In a notebook::

    import spark, spark_editor
    brain = spark.Brain.from_file(spark.example("balanced"))
    editor = spark_editor.show(brain)            # the graph editor, on a copy of the model in a folder of its own
    rec = brain.run(duration=500.0, record=["exc.spikes", "exc.v[0:5]"])
    spark_editor.view(brain, rec)                # the run viewer: graph with rates, raster, traces, ISI, weights
    live = spark_editor.live(brain, steps=20_000, record=["exc.spikes"], chunk=500)   # a raster drawn as it runs

The editor and the viewer are the pages ``spark editor`` / ``spark view`` serve, from a server this kernel starts on
127.0.0.1 (one per folder, in a background thread, stopped with the kernel), shown in an iframe. Such a server is
*embedded* (:func:`spark_editor.server.create_app`): every request needs its random session token, which only the
widget's URL holds, and no cookie is set, so another page can neither use it nor abuse it by framing it. The live
raster needs no server: each chunk's spikes go to the widget as a message (``anywidget`` traitlets) and are drawn on
a canvas.
"""

from __future__ import annotations

import atexit
import secrets
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

try:
    import anywidget
    import traitlets
except ImportError as exc:  # pragma: no cover - exercised by the message test with the extra missing
    raise ImportError("spark_editor's notebook widgets need anywidget: pip install 'spark-editor[jupyter]'") from exc

MAX_LIVE_NEURONS = 512  # rows of the live raster (the first neurons of the population)
MAX_LIVE_COLUMNS = 1000  # time columns kept on the live raster's canvas

_FRAME_ESM = """
function render({ model, el }) {
  const frame = document.createElement("iframe");
  frame.style.width = "100%";
  frame.style.border = "1px solid #ccc";
  frame.setAttribute("title", model.get("title"));
  const update = () => {
    frame.src = model.get("url");
    frame.style.height = `${model.get("height")}px`;
  };
  update();
  model.on("change:url", update);
  model.on("change:height", update);
  el.appendChild(frame);
  return () => frame.remove();
}
export default { render };
"""

_LIVE_ESM = """
function render({ model, el }) {
  const box = document.createElement("div");
  const label = document.createElement("div");
  label.style.font = "12px sans-serif";
  const canvas = document.createElement("canvas");
  canvas.width = model.get("columns");
  canvas.height = model.get("rows");
  canvas.style.width = "100%";
  canvas.style.height = `${Math.max(120, Math.min(400, model.get("rows")))}px`;
  canvas.style.imageRendering = "pixelated";
  canvas.style.background = "#fff";
  canvas.style.border = "1px solid #ccc";
  box.append(label, canvas);
  el.appendChild(box);
  const ctx = canvas.getContext("2d");
  const draw = () => {
    const rows = model.get("rows"), cols = model.get("columns");
    const image = ctx.createImageData(cols, rows);
    const raw = atob(model.get("image"));           // rows x cols bytes: 1 where a neuron spiked in that column
    for (let k = 0; k < raw.length && k < rows * cols; k++) {
      const on = raw.charCodeAt(k) > 0, p = 4 * k;
      image.data[p] = on ? 20 : 255; image.data[p + 1] = on ? 20 : 255; image.data[p + 2] = on ? 20 : 255;
      image.data[p + 3] = 255;
    }
    ctx.putImageData(image, 0, 0);
    label.textContent = model.get("label");
  };
  draw();
  model.on("change:image", draw);
  model.on("change:label", draw);
  return () => box.remove();
}
export default { render };
"""


class _Server:
    """An embedded editor app (or a viewer of ``runs``) served from a background thread on a free port."""

    def __init__(self, root: Path, runs: list[Path] | None = None, initial_file: str | None = None,
                 registry: Any = None):
        from .background import BackgroundServer
        from .server import create_app

        self.token = secrets.token_urlsafe(32)
        provider = (lambda refresh=False: registry) if registry is not None else None
        self.app = create_app(root, registry=provider, token=self.token, runs=runs, initial_file=initial_file,
                              embedded=True)
        self.server = BackgroundServer(self.app)

    def url(self, page: str = "/", **params: str) -> str:
        return self.server.url(page, token=self.token, embed="1", **params)

    def close(self) -> None:
        self.server.close(10)


_servers: dict[tuple, _Server] = {}


def _server(root: Path, runs: list[Path] | None = None, initial_file: str | None = None,
            registry: Any = None) -> _Server:
    """The server of this kernel for ``root`` (and ``runs`` / ``initial_file`` / ``registry``), started on first
    use."""
    key = (str(root), tuple(str(r) for r in runs) if runs is not None else None, initial_file, id(registry))
    if key not in _servers:
        _servers[key] = _Server(root, runs, initial_file, registry)
    return _servers[key]


@atexit.register
def _close_all() -> None:
    for s in list(_servers.values()):
        try:
            s.close()
        except Exception:  # noqa: BLE001 - the kernel is going away
            pass
    _servers.clear()


class Frame(anywidget.AnyWidget):
    """A page of the editor's server in an iframe: ``url`` (with the session token), ``height`` (px)."""

    _esm = _FRAME_ESM
    url = traitlets.Unicode("").tag(sync=True)
    height = traitlets.Int(640).tag(sync=True)
    title = traitlets.Unicode("Spark").tag(sync=True)


class EditorWidget(Frame):
    """The graph editor on :attr:`path`; :meth:`brain` builds what was last saved."""

    def __init__(self, path: Path, url: str, height: int):
        super().__init__(url=url, height=height, title=f"Spark editor: {path.name}")
        self.path = path

    def brain(self, registry: Any = None):
        """The model as last saved in the editor, built (``spark.Brain.from_file(self.path)``)."""
        import spark

        return spark.Brain.from_file(self.path, registry=registry)


def show(model: Any = None, *, folder: str | Path | None = None, name: str | None = None, height: int = 640,
         registry: Any = None) -> EditorWidget:
    """Open the graph editor in the notebook.

    Args:
        model: a :class:`spark.Brain`, a model document (dict), the path of a ``.spark`` file, or None (a new
            model). A Brain or a document is written to ``folder`` first; a file is edited where it is.
        folder: where the editor may open and save files (default: a new temporary folder; for a file: its folder).
        name: file name for a Brain or document (default: the model's name, else ``model``) + ``.spark``.
        height: of the widget, in px.
        registry: where the editor finds components (a :class:`spark.Registry`; default: the installed packs).

    Returns:
        An :class:`EditorWidget`; its ``path`` is the file being edited and ``brain()`` builds what was saved.

    Raises:
        FileNotFoundError: ``model`` names a file that does not exist.
        ValueError: ``model`` is none of the above.
    """
    from spark import sparkfile

    if isinstance(model, (str, Path)):
        path = Path(model).resolve()
        if not path.is_file():
            raise FileNotFoundError(f"{model}: no such .spark file; give a path to a model, a spark.Brain or None")
        root = Path(folder).resolve() if folder is not None else path.parent
    else:
        root = Path(folder).resolve() if folder is not None else Path(tempfile.mkdtemp(prefix="spark-editor-"))
        root.mkdir(parents=True, exist_ok=True)
        if model is None:
            doc = None
        elif hasattr(model, "to_dict") and hasattr(model, "nodes"):
            doc = model.to_dict()
        elif isinstance(model, dict):
            doc = model
        else:
            raise ValueError(f"show() takes a spark.Brain, a model document (dict), a .spark path or None, not "
                             f"{type(model).__name__}")
        stem = name or (doc or {}).get("name") or "model"
        path = root / (stem if stem.endswith(".spark") else f"{stem}.spark")
        if doc is not None:
            sparkfile.write(path, doc)
    from .security import confine, relative

    rel = relative(root, confine(root, str(path)))
    return EditorWidget(path, _server(root, initial_file=rel, registry=registry).url("/"), height)


def view(*runs: Any, height: int = 720, registry: Any = None) -> Frame:
    """Open the run viewer in the notebook on one run or two side by side.

    Args:
        runs: run folders (``spark run``'s output, or :func:`spark.save_run`'s), or pairs ``(brain, recording)``
            of a run made in this notebook (written to a temporary run folder with :func:`spark.save_run`); one
            or two.
        height: of the widget, in px.
        registry: where the viewer finds the components of the runs' models (default: the installed packs).

    Raises:
        ValueError: no run, more than two, or something that is not a run folder or a ``(brain, recording)``.
    """
    import spark

    if len(runs) == 2 and not isinstance(runs[0], (str, Path, tuple)) and isinstance(runs[1], spark.Recording):
        runs = ((runs[0], runs[1]),)  # view(brain, rec)
    if not 1 <= len(runs) <= 2:
        raise ValueError(f"view() shows one run or two side by side, got {len(runs)}")
    from .runs import ViewError, check_run_folder

    folders = []
    for r in runs:
        if isinstance(r, tuple) and len(r) == 2:
            folder = Path(tempfile.mkdtemp(prefix="spark-run-"))
            folders.append(spark.save_run(folder, r[0], r[1]))
        elif isinstance(r, (str, Path)):
            try:
                check_run_folder(Path(r))
            except ViewError as exc:
                raise ValueError(str(exc)) from None
            folders.append(Path(r).resolve())
        else:
            raise ValueError(f"view() takes run folders or (brain, recording) pairs, not {type(r).__name__}")
    server = _server(folders[0].parent, folders, registry=registry)
    return Frame(url=server.url("/view"), height=height, title="Spark run viewer")


class LiveRaster(anywidget.AnyWidget):
    """A spike raster drawn while a run goes on: :meth:`push` each chunk of ``run_iter``.

    The canvas shows the last :data:`MAX_LIVE_COLUMNS` time columns (a column pools ``pool`` steps: a pixel is
    dark when the neuron spiked in them) of the first :data:`MAX_LIVE_NEURONS` neurons; ``label`` shows the time
    (ms, the stamp of the last step pushed: docs/time.md) and the population rate of the last chunk.
    """

    _esm = _LIVE_ESM
    image = traitlets.Unicode("").tag(sync=True)  # base64 of rows x columns uint8
    rows = traitlets.Int(1).tag(sync=True)
    columns = traitlets.Int(MAX_LIVE_COLUMNS).tag(sync=True)
    label = traitlets.Unicode("").tag(sync=True)

    def __init__(self, n_neurons: int, dt: float, *, pool: int = 1, key: str = "spikes"):
        rows = max(1, min(int(n_neurons), MAX_LIVE_NEURONS))
        super().__init__(rows=rows, columns=MAX_LIVE_COLUMNS)
        self.dt, self.pool, self.key, self.n = float(dt), max(1, int(pool)), key, int(n_neurons)
        self._grid = np.zeros((rows, MAX_LIVE_COLUMNS), np.uint8)
        self._pending = np.zeros((0, rows), bool)
        self.steps = 0
        self._sync("waiting for the first chunk")

    def push(self, spikes: Any, start: int | None = None) -> None:
        """Add a chunk of spikes ``(steps, *shape)`` (bool) that starts at step ``start`` of the brain (counted from
        its first step; default: right after the last one pushed)."""
        import base64

        from spark.timing import step_time

        s = np.asarray(spikes).reshape(len(spikes), -1)
        if s.shape[1] != self.n:
            raise ValueError(f"{self.key}: a chunk of {s.shape[1]} neurons, but this raster shows {self.n}")
        self.steps = (start if start is not None else self.steps) + len(s)
        block = np.concatenate([self._pending, s[:, :self._grid.shape[0]]])
        full = len(block) // self.pool * self.pool
        cols = block[:full].reshape(-1, self.pool, block.shape[1]).any(axis=1).T.astype(np.uint8)
        self._pending = block[full:]
        if cols.shape[1]:
            self._grid = np.concatenate([self._grid, cols], axis=1)[:, -MAX_LIVE_COLUMNS:]
        rate = s.sum() / max(s.shape[1], 1) / (len(s) * self.dt / 1000.0) if len(s) else 0.0
        t = float(step_time(self.steps - 1, self.dt)) if self.steps else 0.0
        self.image = base64.b64encode(self._grid.tobytes()).decode()
        self.label = f"{self.key}: t = {t:g} ms, {rate:.1f} Hz over the last {len(s)} steps"

    def _sync(self, label: str) -> None:
        import base64

        self.image = base64.b64encode(self._grid.tobytes()).decode()
        self.label = label


def live(brain: Any, inputs: Any = None, steps: int | None = None, *, record: Any = None, chunk: int = 500,
         pool: int = 1, display: bool = True) -> LiveRaster:
    """Run ``brain`` with :meth:`spark.Brain.run_iter` and draw the spikes of its first recorded spike port as they
    come (``record`` default: every spike output port of the brain's declared outputs). The brain advances as in
    ``run_iter``; returns the widget (already displayed when ``display``)."""
    import spark

    if record is None:
        record = [ref for _, ref in brain._built().outputs]
    record = list(record)
    spike_refs = [r for r in record if isinstance(r, str) and r in spark.runfolder.spike_ports(brain)]
    if not spike_refs:
        raise ValueError(f"live() draws spikes: record a spike port (e.g. one of "
                         f"{spark.runfolder.spike_ports(brain)[:3]}), got {record}")
    key = spike_refs[0]
    node = brain.nodes[key.rsplit(".", 1)[0]]
    widget = LiveRaster(int(np.prod(node.shape)), brain.dt, pool=pool, key=key)
    if display:
        from IPython.display import display as show_widget

        show_widget(widget)
    for part in brain.run_iter(inputs, steps, record=record, chunk=chunk):
        widget.push(part[key], part.t0 + part.start)  # steps counted from the brain's first step
    return widget
