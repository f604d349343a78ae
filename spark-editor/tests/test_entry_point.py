"""spark-editor is a pack like any other: found through its entry point, it adds `spark editor` and `spark view` by
a hook."""

from __future__ import annotations

import importlib.metadata as md

import click

from spark.testing import isolated_registry

DIST = "spark-editor"


def test_the_entry_point_is_declared_in_group_spark():
    eps = [ep for ep in md.entry_points(group="spark") if ep.dist is not None and ep.dist.name == DIST]
    assert [(ep.name, ep.value) for ep in eps] == [("editor", "spark_editor.plugin")]


def test_discovery_loads_the_plugin_and_its_command():
    reg = isolated_registry(installed=[DIST])
    (pack,) = reg.packs
    assert pack.status == "ok", pack.error
    assert pack.version == md.version(DIST)
    assert len(reg) == 0  # the editor provides no component
    commands = [(dist, cmd.name) for dist, cmd in reg.cli_commands if isinstance(cmd, click.Command)]
    assert commands == [(DIST, "editor"), (DIST, "view")]
