"""What a MODEL argument names: a `.spark` file or a bundled example (``spark run``, ``spark validate``)."""

from __future__ import annotations

from pathlib import Path

import click


def resolve_model(model: str) -> Path:
    """The `.spark` file ``model`` names: a path (one ending in ``.spark`` or one that exists), else the name of an
    example a pack bundles (``spark_examples`` hook, e.g. ``balanced``); ClickException listing the examples."""
    from ..registry import default_registry

    path = Path(model)
    if path.suffix == ".spark" or path.exists():
        if not path.exists():
            raise click.ClickException(f"{path}: file not found")
        return path
    reg = default_registry()
    if model in reg.examples:
        return Path(reg.examples[model])
    known = ", ".join(sorted(reg.examples)) or "none (install spark-components for the bundled examples)"
    raise click.ClickException(f"{model!r} is neither a .spark file nor a bundled example; examples: {known}")
