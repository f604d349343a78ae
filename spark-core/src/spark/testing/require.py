"""CI switches that turn a skipped test into a failure: where ``SPARK_REQUIRE_<WHAT>=1`` is set (``.ci/run`` sets
them), an optional dependency that cannot be imported stops the test session with a message, instead of letting the
tests that need it skip silently."""

from __future__ import annotations

import importlib
import os


def require_for_ci(env: str, modules: dict[str, str]) -> None:
    """Stop the pytest session when ``env`` is ``"1"`` and one of ``modules`` (import name -> what to install) cannot
    be imported. Call it from ``pytest_sessionstart`` in a ``conftest.py``.

    Raises:
        pytest.UsageError: naming the variable, the module, the import error and what to install.
    """
    if os.environ.get(env) != "1":
        return
    for module, install in modules.items():
        try:
            importlib.import_module(module)
        except ImportError as exc:
            import pytest

            raise pytest.UsageError(f"{env}=1 but {module} cannot be imported ({exc}), so the tests that need it "
                                    f"would be skipped; install {install} or unset {env}") from None
