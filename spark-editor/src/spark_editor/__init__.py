"""Spark's web graph editor."""

from ._version import __version__ as __version__


def __getattr__(name: str):
    # the notebook widgets (spark_editor.show / view / live) need the `jupyter` extra; imported on first use
    if name in ("show", "view", "live"):
        from . import jupyter

        return getattr(jupyter, name)
    raise AttributeError(f"module 'spark_editor' has no attribute {name!r}")
