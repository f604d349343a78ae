"""docs/plugins.md documents the whole extension contract: every hook, every check of spark.testing and every
option of `spark new-plugin` (in the manner of datasette's test_docs.py: an undocumented hook fails a test)."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from spark import hookspecs
from spark.cli.new_plugin import DEFAULT_COMPONENT, new_plugin
from spark.testing import CHECKS

DOC = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"
HOOKS = sorted(n for n in dir(hookspecs) if hasattr(getattr(hookspecs, n), hookspecs.PROJECT + "_spec"))


@pytest.fixture(scope="module")
def text() -> str:
    return DOC.read_text("utf-8")


def test_there_are_hooks():
    assert HOOKS == ["spark_cli_commands", "spark_components", "spark_composites", "spark_editor_assets",
                     "spark_examples", "spark_nir_converters", "spark_payload_types"]


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_docstring_and_a_section_with_an_example(text, hook):
    assert (getattr(hookspecs, hook).__doc__ or "").strip(), f"{hook} has no docstring in hookspecs.py"
    section = re.search(rf"^### `{hook}`\n(.*?)(?=^##)", text, re.S | re.M)
    assert section, f"docs/plugins.md has no section '### `{hook}`'"
    assert f"def {hook}():" in section.group(1), f"the {hook} section has no example implementation"


def test_links_to_files_of_the_repository_resolve(text):
    for target in re.findall(r"\]\((\.\./[^)#]+|[a-z-]+\.md)(?:#[^)]*)?\)", text):
        assert (DOC.parent / target).resolve().exists(), target


def test_every_check_and_every_sample_component_is_documented(text):
    for name in CHECKS:
        assert f"| `{name}` |" in text, name
    for kind, component in DEFAULT_COMPONENT.items():
        assert f"| {kind} | `{component}` |" in text, (kind, component)


def test_every_new_plugin_option_is_documented(text):
    options = [opt for p in new_plugin.params if isinstance(p, click.Option) for opt in p.opts if opt != "--help"]
    for opt in options:
        assert f"`{opt}`" in text, opt
