"""JAX's persistent compilation cache, so a second process skips compiling the same model."""

from __future__ import annotations

import os
from pathlib import Path


def enable_compilation_cache(path: str | os.PathLike | None = None) -> Path:
    """Cache compiled programs in ``path`` (default ``$SPARK_CACHE_DIR`` or ``~/.cache/spark/jax``)."""
    import jax

    path = Path(path or os.environ.get("SPARK_CACHE_DIR") or Path.home() / ".cache" / "spark" / "jax")
    path.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return path
