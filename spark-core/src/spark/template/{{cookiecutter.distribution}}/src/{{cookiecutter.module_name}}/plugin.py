"""The entry point of {{ cookiecutter.distribution }}: Spark imports this module and calls its hooks.

Every hook is specified, with its arguments and return value, in spark/hookspecs.py (Spark's docs/plugins.md).
"""

from pathlib import Path

import spark

from .{{ cookiecutter.component_name }} import {{ cookiecutter.class_name }}

EXAMPLES = Path(__file__).parent / "examples"


@spark.hookimpl
def spark_components():
    """The component classes of this pack; each is registered as "{{ cookiecutter.__dist_id }}:<name>"."""
    return [{{ cookiecutter.class_name }}]


@spark.hookimpl
def spark_examples():
    """Bundled example models: `spark run {{ cookiecutter.__dist_id }}:{{ cookiecutter.component_name }}` runs this one."""
    return {"{{ cookiecutter.__dist_id }}:{{ cookiecutter.component_name }}": str(EXAMPLES / "{{ cookiecutter.component_name }}.spark")}
