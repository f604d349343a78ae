"""The component registry: discovery of packs through entry points and pluggy hooks.

Entry points in group ``spark`` are loaded one at a time. A pack that cannot be imported, whose hooks raise,
that returns something that is not a component, or that requires a different spark-core, is recorded in
:attr:`Registry.packs` with its distribution, version and error; every other pack keeps working.
"""

from __future__ import annotations

import difflib
import importlib.metadata as md
import json
import logging
import os
import time
import traceback
from pathlib import Path
from typing import Any, Iterable

import attrs
import pluggy
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from . import hookspecs
from ._version import __version__
from .component import Component
from .errors import AmbiguousComponentError, DuplicateComponentError, SparkFileError, UnknownComponentError
from .parameters import is_params_class
from .payloads import CORE_PAYLOADS, PayloadType

ENTRY_POINT_GROUP = "spark"
CORE_DISTRIBUTION = "spark-core"
SLOW_IMPORT_S = 2.0  # a pack whose import takes longer is named on stderr (override: SPARK_SLOW_IMPORT_S)

_log = logging.getLogger("spark")


def _slow_import_threshold() -> float:
    try:
        return float(os.environ.get("SPARK_SLOW_IMPORT_S", SLOW_IMPORT_S))
    except ValueError:
        return SLOW_IMPORT_S


def _describe_exit(exc: BaseException) -> str:
    """``exc`` as text; a ``SystemExit`` says that the pack tried to end the process."""
    if isinstance(exc, SystemExit):
        return f"SystemExit: it called sys.exit({exc.code!r}); a pack must raise an exception, not end the process"
    return f"{type(exc).__name__}: {exc}"


@attrs.define
class PackInfo:
    """One installed pack as discovered.

    status: ``"ok"``, ``"broken"`` (failed to import or register) or ``"incompatible"`` (wrong spark-core).
    """

    distribution: str
    version: str
    entry_point: str
    status: str = "ok"
    error: str | None = None
    requires_spark_core: str | None = None
    components: list[str] = attrs.field(factory=list)
    import_seconds: float = 0.0  # how long importing the pack's entry point took (not in the catalogue)

    def to_json(self) -> dict:
        return attrs.asdict(self, filter=lambda a, _v: a.name != "import_seconds")


@attrs.frozen
class Entry:
    """A registered component."""

    id: str
    cls: type
    distribution: str
    version: str

    @property
    def name(self) -> str:
        return self.cls.name

    @property
    def kind(self) -> str:
        return self.cls.kind

    def to_json(self) -> dict:
        return {"id": self.id, "distribution": self.distribution, "version": self.version, **self.cls.describe()}


def component_problem(obj: Any) -> str | None:
    """Why ``obj`` cannot be registered as a component, or None if it can."""
    if not (isinstance(obj, type) and issubclass(obj, Component)):
        return f"{obj!r} is not a subclass of spark.Component"
    if not obj.name or not isinstance(obj.name, str) or obj.name != obj.name.strip() or ":" in obj.name:
        return f"{obj.__qualname__} has no valid `name` (a non-empty string without ':')"
    if not obj.kind:
        return f"{obj.__qualname__} has no `kind`"
    if not is_params_class(getattr(obj, "Params", None)):
        return f"{obj.__qualname__}.Params is not a class decorated with @spark.params"
    return None


class Registry:
    """Components and payload types by id. Create an empty one for tests, or :meth:`discover` installed packs."""

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}
        self.packs: list[PackInfo] = []
        self.payloads: dict[str, PayloadType] = {p.name: p for p in CORE_PAYLOADS}
        self.cli_commands: list = []
        self.editor_assets: list[dict] = []
        self.examples: dict[str, str] = {}  # name -> path of a bundled .spark file
        self.problems: list[str] = []  # registration problems not tied to a whole pack
        self.slow_imports: list[str] = []  # a note for each pack whose import took longer than SLOW_IMPORT_S
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self._composite_origin: dict[str, PackInfo] = {}  # composite id -> where it came from (docs/composites.md)
        self._defer_binding = False  # while discovering: composites are bound once every pack is loaded

    # ----- registration -------------------------------------------------------------------------------------------

    def register(self, cls: type, *, distribution: str = "local", version: str = "0") -> Entry:
        """Register one component class under ``<distribution>:<cls.name>``. Never overrides."""
        problem = component_problem(cls)
        if problem:
            raise TypeError(problem)
        dist = canonicalize_name(distribution)
        cid = f"{dist}:{cls.name}"
        if cid in self._entries:
            raise DuplicateComponentError(
                f"component id {cid!r} is registered twice (by {self._entries[cid].cls.__qualname__} and "
                f"{cls.__qualname__}); give one of them another `name`"
            )
        entry = Entry(cid, cls, dist, version)
        self._entries[cid] = entry
        return entry

    def register_composite(self, composite: Any, *, distribution: str = "local", version: str = "0",
                           bind: bool = True) -> Entry:
        """Register a composite component (a `.spark` file with a ``"component"`` section, its path, its document or a
        :class:`spark.composite.Composite`) under ``<distribution>:<name>``. Never overrides.

        With ``bind`` (default) its inner components are resolved now, so they must be registered first.

        Raises:
            spark.SparkFileError: the composite is broken (every problem, with its JSON path inside the file).
            spark.DuplicateComponentError: the id is taken.
        """
        from . import composite as _composite

        comp = _composite.as_composite(composite)
        dist = canonicalize_name(distribution)
        cid = f"{dist}:{comp.name}"
        if cid in self._entries:
            raise DuplicateComponentError(
                f"component id {cid!r} is registered twice (by {self._entries[cid].cls.__qualname__} and "
                f"{comp.__qualname__}); give one of them another name")
        entry = Entry(cid, comp, dist, version)
        self._entries[cid] = entry
        if bind:
            problems = comp.bind(self, (cid,))
            if problems:
                del self._entries[cid]
                raise SparkFileError(comp.source, problems)
        return entry

    def load_library(self, folders: Iterable[Any]) -> None:
        """Register the composites of a user library: every ``*.spark`` file with a ``"component"`` section in
        ``folders`` as ``library:<name>``. A file that fails is recorded as a broken pack (distribution ``library``,
        its path as the entry point) and never hides the others (docs/composites.md)."""
        from . import composite as _composite

        _composite.load_library(self, folders)
        if not self._defer_binding:
            self.bind_composites()

    def bind_composites(self) -> None:
        """Resolve the inner components of every composite registered unbound (packs and the library are loaded
        first, so composites may use components of any pack); a composite that fails is unregistered and reported
        on the pack (or library file) it came from."""
        from . import composite as _composite

        _composite.bind_all(self)

    def register_payload(self, payload: PayloadType, *, distribution: str = "local") -> None:
        if not isinstance(payload, PayloadType):
            raise TypeError(f"{payload!r} is not a spark.PayloadType")
        old = self.payloads.get(payload.name)
        if old is not None and old != payload:
            raise DuplicateComponentError(f"payload type {payload.name!r} from {distribution} is already defined")
        self.payloads[payload.name] = payload

    def load_plugin(self, module: Any, *, distribution: str, version: str, entry_point: str = "") -> PackInfo:
        """Register everything one plugin module provides. Failures are recorded on the returned PackInfo."""
        info = PackInfo(canonicalize_name(distribution), version, entry_point)
        unknown = _unknown_hooks(module)
        if unknown:  # pluggy would accept them and never call them: the pack would load empty
            return self._fail(info, "; ".join(unknown))
        try:
            self._pm.register(module, name=f"{info.distribution}:{entry_point}")
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # pluggy validates hook signatures
            return self._fail(info, f"invalid hook implementations: {exc}")
        added: list[str] = []
        payloads_before = dict(self.payloads)
        try:
            payloads = self._call(module, "spark_payload_types")
            components = self._call(module, "spark_components")
            commands = self._call(module, "spark_cli_commands")
            examples = self._call(module, "spark_examples", many=False) or {}
            assets = self._call(module, "spark_editor_assets", many=False)
            composites = self._call(module, "spark_composites")
            if not isinstance(examples, dict):
                raise TypeError(f"spark_examples must return a dict of name -> path, got {type(examples).__name__}")
            if assets is not None and not isinstance(assets, dict):
                raise TypeError(f"spark_editor_assets must return a dict like {{'js': [paths]}}, "
                                f"got {type(assets).__name__}")
            taken = sorted(set(examples) & set(self.examples))
            if taken:
                raise DuplicateComponentError(f"example name(s) {taken} are already provided by another pack")
            for payload in payloads:
                self.register_payload(payload, distribution=info.distribution)
            skipped: list[str] = []
            for obj in components:
                problem = component_problem(obj)
                if problem:
                    raise TypeError(f"spark_components returned {problem}")
                unlisted = _catalogue_problem(obj)
                if unlisted:  # this component only: the pack's others still work
                    skipped.append(f"component {obj.name!r} ({obj.__module__}.{obj.__qualname__}) is broken and "
                                   f"was not registered: {unlisted}")
                    continue
                added.append(self.register(obj, distribution=info.distribution, version=version).id)
            from . import composite as _composite

            added += _composite.register_pack_files(self, composites, info, skipped)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # a hook that calls sys.exit must not end every spark command
            for cid in added:  # all or nothing per pack
                self._entries.pop(cid, None)
            self.payloads = payloads_before
            self._pm.unregister(module)
            return self._fail(info, _describe_exit(exc))
        if skipped:
            info.error = "; ".join(skipped)
            self.problems += [f"pack {info.distribution} {version}: {s}" for s in skipped]
        self.cli_commands += [(info.distribution, c) for c in commands]
        if assets:
            self.editor_assets.append({"distribution": info.distribution, **assets})
        self.examples.update({name: str(path) for name, path in examples.items()})
        info.components = added
        self.packs.append(info)
        if not self._defer_binding:
            self.bind_composites()
        return info

    def _call(self, module: Any, hook: str, many: bool = True) -> list:
        fn = getattr(module, hook, None)
        if fn is None or not hasattr(fn, hookspecs.PROJECT + "_impl"):
            return [] if many else None
        result = fn()
        if many:
            if result is None:
                return []
            if not isinstance(result, (list, tuple)):
                raise TypeError(f"{hook} must return a list, got {type(result).__name__}")
            return list(result)
        return result

    def _fail(self, info: PackInfo, error: str, status: str = "broken") -> PackInfo:
        info.status, info.error = status, error
        self.packs.append(info)
        return info

    # ----- discovery ----------------------------------------------------------------------------------------------

    @classmethod
    def discover(cls, only: Iterable[str] | None = None) -> "Registry":
        """A registry of every installed pack (or only the named distributions)."""
        reg = cls()
        wanted = {canonicalize_name(d) for d in only} if only is not None else None
        reg._defer_binding = True
        for ep in sorted(md.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (_dist_name(e), e.name)):
            dist = _dist_name(ep)
            if wanted is not None and dist not in wanted:
                continue
            reg.load_entry_point(ep)
        if only is None:  # the user library (SPARK_COMPONENT_PATH): never seen by a registry of chosen packs
            from .composite import library_paths

            reg.load_library(library_paths())
        reg._defer_binding = False
        reg.bind_composites()
        return reg

    def load_entry_point(self, ep: md.EntryPoint) -> PackInfo:
        dist = _dist_name(ep)
        version = ep.dist.version if ep.dist is not None else "unknown"
        info = PackInfo(dist, version, f"{ep.name} = {ep.value}")
        required = _spark_core_requirement(ep.dist)
        info.requires_spark_core = str(required.specifier) if required is not None else None
        if required is not None and not required.specifier.contains(__version__, prereleases=True):
            return self._fail(
                info,
                f"requires spark-core{required.specifier} but spark-core {__version__} is installed; "
                f"install a version of {dist} built for spark-core {__version__} or a matching spark-core",
                status="incompatible",
            )
        start = time.perf_counter()
        try:
            module = ep.load()
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # SystemExit too: a pack that exits at import must not end the command
            last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
            where = f" ({last[0].filename}:{last[0].lineno})" if last else ""
            info.import_seconds = time.perf_counter() - start
            self._note_if_slow(info)
            return self._fail(info, f"cannot import {ep.value!r}: {_describe_exit(exc)}{where}")
        info.import_seconds = time.perf_counter() - start
        self._note_if_slow(info)
        loaded = self.load_plugin(module, distribution=dist, version=version, entry_point=info.entry_point)
        loaded.requires_spark_core = info.requires_spark_core
        loaded.import_seconds = info.import_seconds
        return loaded

    def _note_if_slow(self, info: PackInfo) -> None:
        """Name a pack whose import is slow, on stderr (logger ``spark``): it delays every ``spark`` command."""
        if info.import_seconds > _slow_import_threshold():
            note = (f"pack {info.distribution} {info.version} took {info.import_seconds:.1f} s to import; it "
                    f"delays every spark command (uninstall it, or ask its authors to import lazily)")
            self.slow_imports.append(note)
            _log.warning("spark: note: %s", note)

    # ----- lookup -------------------------------------------------------------------------------------------------

    def __iter__(self):
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, cid: str) -> bool:
        try:
            self.resolve(cid)
        except Exception:
            return False
        return True

    def entries(self, kind: str | None = None) -> list[Entry]:
        return sorted((e for e in self._entries.values() if kind is None or e.kind == kind), key=lambda e: e.id)

    def resolve(self, cid: str) -> Entry:
        """Find a component by canonical id (``dist:name``) or by short name where it is unique."""
        if not isinstance(cid, str) or not cid:
            raise UnknownComponentError(f"component id must be a non-empty string, got {cid!r}")
        if ":" in cid:
            dist, _, name = cid.partition(":")
            key = f"{canonicalize_name(dist)}:{name}"
            if key in self._entries:
                return self._entries[key]
            raise UnknownComponentError(self._unknown_message(cid, name))
        matches = [e for e in self._entries.values() if e.name == cid]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            ids = ", ".join(sorted(e.id for e in matches))
            raise AmbiguousComponentError(
                f"component name {cid!r} is ambiguous: it is provided by several packs ({ids}); "
                f"use the full id, e.g. {sorted(e.id for e in matches)[0]!r}"
            )
        raise UnknownComponentError(self._unknown_message(cid, cid))

    def _unknown_message(self, cid: str, name: str) -> str:
        same_name = sorted(e.id for e in self._entries.values() if e.name == name)
        msg = f"unknown component {cid!r}"
        if same_name:
            return msg + f"; a component named {name!r} is provided as {', '.join(same_name)}"
        dist = cid.partition(":")[0] if ":" in cid else None
        broken = [p for p in self.packs if dist and p.distribution == canonicalize_name(dist) and p.status != "ok"]
        if broken:
            return msg + f"; its pack {broken[0].distribution} is installed but {broken[0].status}: {broken[0].error}"
        close = self._close_names(name)
        if close:
            msg += f" (did you mean {' or '.join(repr(c) for c in close)}?)"
        if dist:
            return msg + f"; install the pack that provides it (pip install {dist}) or run `spark list-components`"
        return msg + "; run `spark list-components` to see what is installed"

    def _close_names(self, name: str) -> list[str]:
        """Short names like ``name``: the same but for case first (``'LIF'`` -> ``'lif'``), else difflib's."""
        names = sorted({e.name for e in self._entries.values()})
        same_case = [n for n in names if n.lower() == name.lower()]
        if same_case:
            return same_case
        lower = {n.lower(): n for n in names}
        return [lower[n] for n in difflib.get_close_matches(name.lower(), list(lower), n=3, cutoff=0.6)]

    def example(self, name: str) -> Path:
        """The path of the `.spark` example a pack bundles under ``name`` (``spark_examples`` hook), e.g.
        ``"balanced"`` (spark-components) or ``"digits"`` (spark-interfaces).

        Raises:
            KeyError: no installed pack bundles ``name``; the message lists the examples there are.
        """
        if name not in self.examples:
            known = ", ".join(sorted(self.examples)) or "none (install spark-components for the bundled examples)"
            raise KeyError(f"no installed pack bundles an example called {name!r}; examples: {known}")
        return Path(self.examples[name])

    def payload(self, name: str) -> PayloadType:
        return self.payloads[name]

    def to_json(self, kind: str | None = None) -> dict:
        """The catalogue: the JSON that ``spark list-components --format json`` prints and the editor serves."""
        return {
            "format": "spark-component-list",
            "format_version": 1,
            "spark_core": __version__,
            "packs": [p.to_json() for p in self.packs],
            "payload_types": [p.to_json() for p in self.payloads.values()],
            "components": [e.to_json() for e in self.entries(kind)],
        }


def _catalogue_problem(cls: type) -> str | None:
    """Why ``cls``'s catalogue entry cannot be written as JSON (e.g. a parameter default that is not JSON), or None."""
    try:
        json.dumps(cls.describe())
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        return (f"its catalogue entry is not JSON ({type(exc).__name__}: {exc}); every parameter default must be a "
                "JSON value (number, string, bool, list or null)")
    return None


def _unknown_hooks(module: Any) -> list[str]:
    """A problem for each hook implementation in ``module`` whose name is not a spark hook."""
    marker = hookspecs.PROJECT + "_impl"
    known = sorted(n for n in dir(hookspecs) if hasattr(getattr(hookspecs, n), hookspecs.PROJECT + "_spec"))
    problems = []
    for name in dir(module):
        if hasattr(getattr(module, name, None), marker) and name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"spark hooks are {', '.join(known)}"
            problems.append(f"unknown hook {name!r}; {hint}")
    return problems


def _dist_name(ep: md.EntryPoint) -> str:
    return canonicalize_name(ep.dist.name) if ep.dist is not None else "unknown"


def _spark_core_requirement(dist: md.Distribution | None) -> Requirement | None:
    if dist is None:
        return None
    for raw in dist.requires or []:
        try:
            req = Requirement(raw)
        except InvalidRequirement:
            continue
        if canonicalize_name(req.name) == CORE_DISTRIBUTION and (req.marker is None or req.marker.evaluate({"extra": ""})):
            return req
    return None


_default: Registry | None = None


def example(name: str) -> Path:
    """The path of a bundled example model by name, from the installed packs (:meth:`Registry.example`):
    ``spark.Brain.from_file(spark.example("balanced"))``. Raises KeyError listing the examples there are."""
    return default_registry().example(name)


def default_registry(refresh: bool = False) -> Registry:
    """The registry of installed packs, discovered once per process (``refresh=True`` rediscovers)."""
    global _default
    if _default is None or refresh:
        _default = Registry.discover()
    return _default
