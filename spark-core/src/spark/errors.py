"""One error hierarchy for Spark.

Every message says what is wrong, where (component, node, port, file, JSON path) and how to fix it.
"""

from __future__ import annotations


class SparkError(Exception):
    """Base class of every error Spark raises on purpose."""


class ParamError(SparkError, ValueError):
    """A parameter value is invalid (wrong type, out of bounds, not one of the choices)."""


class PortError(SparkError, ValueError):
    """Ports that cannot be connected, or a port that does not exist."""


class RegistryError(SparkError, LookupError):
    """A component id that cannot be resolved."""


class UnknownComponentError(RegistryError):
    """No installed pack provides the component id."""


class AmbiguousComponentError(RegistryError):
    """A short component name matches components of several packs."""


class DuplicateComponentError(RegistryError):
    """Two registrations claim the same canonical id."""


class PluginError(SparkError):
    """A pack failed to load or to register its components."""


class ComponentStepError(SparkError):
    """A component's step raised something that is not a SparkError: the message names the node, the component
    and its pack; the original exception is the ``__cause__``."""


class ComponentValueError(ComponentStepError, ValueError):
    """A component's step raised a ValueError (it refused its inputs): named like a ComponentStepError, and still a
    ValueError for code that catches one."""


class GraphError(SparkError, ValueError):
    """A Brain graph is malformed (missing node, zero-delay cycle, shape mismatch...)."""


class SparkFileError(SparkError, ValueError):
    """A `.spark` file is invalid. ``problems`` holds every problem found, each with its JSON path."""

    def __init__(self, source: str, problems: list):
        self.source = source
        self.problems = list(problems)
        lines = [f"{source}: {len(self.problems)} problem(s):"]
        lines += [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class ModelWarning(UserWarning):
    """A model that is valid but probably not what was meant (an encoder fed by nothing, no declared outputs).

    Brain build emits one per finding with :func:`warnings.warn`; ``spark validate`` and the editor list the same
    findings (``spark.sparkfile.check``). Silence them with ``warnings.simplefilter("ignore", spark.ModelWarning)``.
    """


class NIRError(SparkError, ValueError):
    """A NIR graph that cannot be imported or a Brain that cannot be exported as one (spark.nir; docs/nir.md), or
    the ``nir`` package is missing (install ``spark-core[nir]``)."""


class UnsupportedNIRError(NIRError):
    """A NIR primitive no installed pack imports, or a Spark component / structure NIR cannot express: the
    message names the node and the primitive or component."""
