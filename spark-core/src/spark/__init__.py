"""Spark core: the spike-signal protocol, component base classes, params, the registry and plugin hooks."""

from ._version import __version__ as __version__
from .component import Component as Component
from .component import Decoder as Decoder
from .component import Encoder as Encoder
from .component import LearningRule as LearningRule
from .component import Soma as Soma
from .component import Synapse as Synapse
from .errors import (
    AmbiguousComponentError as AmbiguousComponentError,
    ComponentStepError as ComponentStepError,
    ComponentValueError as ComponentValueError,
    GraphError as GraphError,
    ModelWarning as ModelWarning,
    NIRError as NIRError,
    ParamError as ParamError,
    PluginError as PluginError,
    PortError as PortError,
    RegistryError as RegistryError,
    SparkError as SparkError,
    SparkFileError as SparkFileError,
    UnknownComponentError as UnknownComponentError,
    UnsupportedNIRError as UnsupportedNIRError,
)
from .hookspecs import hookimpl as hookimpl
from .parameters import param as param
from .parameters import params as params
from .parameters import params_schema as params_schema
from .payloads import Conductance as Conductance
from .payloads import Current as Current
from .payloads import PayloadType as PayloadType
from .payloads import Signal as Signal
from .payloads import Spikes as Spikes
from .payloads import Voltage as Voltage
from .ports import Port as Port
from .registry import Registry as Registry
from .registry import default_registry as default_registry
from .registry import example as example
from .variables import Const as Const
from .variables import Learned as Learned
from .variables import State as State
from .variables import Weight as Weight
from .variables import weights_fixed as weights_fixed
from .brain import Brain as Brain
from . import sparkfile as sparkfile
from .monitors import Monitor as Monitor
from .recording import Recording as Recording
from .recording import RecordingMemoryError as RecordingMemoryError
from .memory import Footprint as Footprint
from .memory import ModelMemoryError as ModelMemoryError
from .recording import load_recording as load_recording
from .stream import Presentation as Presentation
from .stream import StreamResult as StreamResult
from .stream import present_together as present_together
from .runfolder import save_run as save_run
from . import lanes as lanes
from . import loop as loop
from .loop import Episodes as Episodes
from .loop import JaxEnvironment as JaxEnvironment
from .loop import Loop as Loop


def __getattr__(name: str):
    # `spark.viz` (plots; needs matplotlib, the `plot` extra) is imported on first use, so `import spark` stays light
    # and `spark.viz.raster(rec)` works after a plain `import spark`.
    # `spark.nir` (NIR import/export; the `nir` package, the `nir` extra, only when it converts) likewise
    if name in ("viz", "nir"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'spark' has no attribute {name!r}")
