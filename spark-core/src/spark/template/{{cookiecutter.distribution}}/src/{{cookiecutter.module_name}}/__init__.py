"""{{ cookiecutter.description }}."""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

from .{{ cookiecutter.component_name }} import {{ cookiecutter.class_name }} as {{ cookiecutter.class_name }}

try:
    __version__ = _version("{{ cookiecutter.distribution }}")
except PackageNotFoundError:  # imported from a source folder that is not installed
    __version__ = "0+unknown"
