"""``spark list-components`` and ``spark --version``, run in-process on a registry the test builds."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

import spark
import spark.registry
from spark.cli import main


def _raise():
    raise ImportError("needs libfoo")


@pytest.fixture
def registry(monkeypatch, make_component, make_plugin):
    """Make the CLI see a registry of two working packs; the test may add a broken one."""
    reg = spark.Registry()
    reg.load_plugin(make_plugin("a", spark_components=lambda: [make_component("lif"), make_component(
        "count", kind="decoder", doc="Counts spikes.\n\nLong text.")]), distribution="pack-a", version="1.5")
    reg.load_plugin(make_plugin("b", spark_components=lambda: [make_component("poisson", kind="encoder")]),
                    distribution="pack-b", version="0.3")
    monkeypatch.setattr(spark.registry, "_default", reg)
    monkeypatch.setattr(main, "_plugins_loaded", False)
    monkeypatch.setattr(main, "commands", dict(main.commands))
    return reg


@pytest.fixture
def broken(registry, make_plugin):
    return registry.load_plugin(make_plugin("c", spark_components=_raise), distribution="pack-c", version="2.0",
                                entry_point="c = pack_c.plugin")


def run(*args):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_json_lists_every_component_with_its_pack_and_version(registry):
    code, out, err = run("list-components", "--format", "json")
    assert code == 0 and err == ""
    doc = json.loads(out)
    assert doc["format"] == "spark-component-list" and doc["format_version"] == 1
    assert doc["spark_core"] == spark.__version__
    got = [(c["id"], c["kind"], c["distribution"], c["version"]) for c in doc["components"]]
    assert got == [("pack-a:count", "decoder", "pack-a", "1.5"), ("pack-a:lif", "soma", "pack-a", "1.5"),
                   ("pack-b:poisson", "encoder", "pack-b", "0.3")]
    assert [(p["distribution"], p["status"]) for p in doc["packs"]] == [("pack-a", "ok"), ("pack-b", "ok")]
    assert [p["name"] for p in doc["payload_types"]] == ["Spikes", "Current", "Voltage", "Conductance", "Signal"]


def test_json_entry_describes_params_and_ports(registry):
    _, out, _ = run("list-components", "--format", "json", "--kind", "soma")
    (lif,) = json.loads(out)["components"]
    assert lif["params_schema"]["properties"]["tau"]["x-unit"] == "ms"
    assert lif["inputs"] == [{"name": "i_in", "direction": "in", "payload": "Current", "unit": "pA",
                              "doc": "input current (pA)", "optional": True}]
    assert [p["payload"] for p in lif["outputs"]] == ["Spikes"]


def test_kind_filters_both_formats(registry):
    _, out, _ = run("list-components", "--format", "json", "--kind", "encoder")
    assert [c["id"] for c in json.loads(out)["components"]] == ["pack-b:poisson"]
    _, out, _ = run("list-components", "--kind", "decoder")
    assert "pack-a:count" in out and "pack-a:lif" not in out and "pack-b:poisson" not in out


def test_table_has_a_header_and_one_row_per_component_with_the_first_doc_line(registry):
    code, out, _ = run("list-components")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["id", "kind", "version", "description"]
    assert [line.split()[:3] for line in lines[1:]] == [
        ["pack-a:count", "decoder", "1.5"], ["pack-a:lif", "soma", "1.5"], ["pack-b:poisson", "encoder", "0.3"]]
    assert lines[1].endswith("Counts spikes.")


def test_table_says_when_a_kind_has_no_component(registry):
    """A core kind that no installed pack provides lists nothing, and says so; a kind nothing has is an error that
    lists the kinds (a typo must not look like an empty catalogue)."""
    code, out, _ = run("list-components", "--kind", "learning_rule")
    assert code == 0 and "(no components of kind 'learning_rule' installed)" in out
    code, out, err = run("list-components", "--kind", "delay")
    assert code == 2 and "no installed component is of kind 'delay'" in out + err
    assert "kinds: decoder, encoder, learning_rule, soma, synapse" in out + err


def test_broken_pack_goes_to_stderr_and_json_and_exit_stays_zero(broken):
    code, out, err = run("list-components", "--format", "json")
    assert code == 0
    assert err.strip() == "spark: pack pack-c 2.0 is broken: ImportError: needs libfoo"
    (pack,) = [p for p in json.loads(out)["packs"] if p["distribution"] == "pack-c"]
    assert (pack["status"], pack["version"], pack["error"]) == ("broken", "2.0", "ImportError: needs libfoo")
    assert pack["entry_point"] == "c = pack_c.plugin"
    code, out, err = run("list-components")
    assert code == 0 and "pack-c" in err and "pack-a:lif" in out


@pytest.mark.parametrize("fmt", ["json", "table"])
def test_strict_fails_only_when_a_pack_is_broken(registry, make_plugin, fmt):
    assert run("list-components", "--strict", "--format", fmt)[0] == 0
    registry.load_plugin(make_plugin("c", spark_components=_raise), distribution="pack-c", version="2.0")
    code, out, err = run("list-components", "--strict", "--format", fmt)
    assert code == 1
    assert "pack-c 2.0 is broken" in err
    assert "pack-a:lif" in out  # the catalogue is still printed


def test_unknown_format_is_a_usage_error(registry):
    result = CliRunner().invoke(main, ["list-components", "--format", "xml"])
    assert result.exit_code == 2
    assert "'xml' is not one of 'table', 'json'" in result.stderr


def test_version_lists_core_and_every_pack_with_problems(broken):
    code, out, _ = run("--version")
    assert code == 0
    assert out.splitlines() == [f"spark-core {spark.__version__}", "pack-a 1.5", "pack-b 0.3",
                                "pack-c 2.0 (broken: ImportError: needs libfoo)"]


def test_pack_commands_are_added_and_a_taken_name_is_skipped(registry, make_plugin):
    hello = click.Command("hello", callback=lambda: click.echo("hi from a pack"))
    clash = click.Command("list-components", callback=lambda: click.echo("hijacked"))
    registry.load_plugin(make_plugin("d", spark_cli_commands=lambda: [hello, clash]),
                         distribution="pack-d", version="1")
    code, out, err = run("hello")
    assert (code, out.strip()) == (0, "hi from a pack")
    assert "pack pack-d adds a command 'list-components' that already exists; skipped" in err
    assert "hijacked" not in run("list-components")[1]
