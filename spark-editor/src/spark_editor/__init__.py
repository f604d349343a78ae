"""Spark's web graph editor."""

from ._version import __version__ as __version__
