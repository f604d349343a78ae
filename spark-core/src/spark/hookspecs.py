"""The whole extension contract of Spark: pluggy hook specifications.

A pack is an installed distribution with an entry point in group ``spark`` that names a module (the plugin)
implementing some of these hooks with ``@spark.hookimpl``::

    [project.entry-points.spark]
    my_pack = "my_pack.plugin"

Built-in packs (spark-components, spark-interfaces, spark-editor) use exactly these hooks.
"""

from __future__ import annotations

import pluggy

PROJECT = "spark"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def spark_components() -> list[type]:
    """Return the component classes this pack provides.

    Each item must be a subclass of :class:`spark.Component` with a ``name``, a ``kind`` and a ``Params`` class.
    Its canonical id is ``<distribution>:<name>``. Anything else is reported as an error of the pack.
    """


@hookspec
def spark_payload_types() -> list:
    """Return new :class:`spark.PayloadType` instances this pack's components use.

    Names must be unique across installed packs; the core types (Spikes, Current, Voltage, Conductance,
    Signal) cannot be redefined.
    """


@hookspec
def spark_cli_commands() -> list:
    """Return ``click.Command`` objects to add to the ``spark`` command line (e.g. ``spark editor``).

    A command whose name is already taken is reported and skipped.
    """


@hookspec
def spark_editor_assets() -> dict:
    """Return extra files for the graph editor: ``{"js": [paths], "css": [paths]}``, loaded after its own bundle.

    Paths are absolute paths inside the installed pack.
    """


@hookspec
def spark_examples() -> dict:
    """Return bundled example models: ``{name: absolute path of a .spark file}``.

    ``spark run NAME`` runs one; ``spark run`` with no argument runs the example named ``balanced``.
    """


@hookspec
def spark_composites() -> list:
    """Return the composite components this pack ships as data: paths of `.spark` files with a ``"component"``
    section, or of folders of them (every ``*.spark`` inside). No Python is needed beyond this hook.

    Each is registered as ``<distribution>:<name>`` once every pack is loaded, so it may use components of any pack
    (docs/composites.md). A file that is broken is reported on the pack, like a broken component; the pack's other
    components still work.
    """


@hookspec
def spark_nir_converters() -> list:
    """Return :class:`spark.nir.Converter` objects: how this pack's components and NIR primitives map onto each other.

    Each converter names one Spark component (class, short name or id) and, optionally, the NIR node types (class
    names such as ``"LIF"``) it imports. ``to_nir(spark.nir.ExportNode) -> spark.nir.NIRPart`` exports a node
    of the component; ``from_nir(spark.nir.ImportNode) -> spark.nir.SparkPart | None`` imports a NIR node (``None``:
    not this converter's, the next is asked). A converter without ``to_nir`` gives, in ``why``, the reason the
    component cannot be exported. Only called by NIR import/export (``spark-core[nir]``); the ``nir`` package
    must be imported inside the functions, never at the top of the plugin module. docs/nir.md.
    """
