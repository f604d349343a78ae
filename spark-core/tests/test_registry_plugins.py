"""Loading plugin modules: a pack that fails is recorded as broken, all or nothing, and the others still load."""

from __future__ import annotations

import click
import pytest

import spark


def _load(reg, module, dist):
    return reg.load_plugin(module, distribution=dist, version="1.0", entry_point=f"x = {module.__name__}")


def test_a_working_pack_registers_its_components(make_component, make_plugin):
    a, b = make_component("one"), make_component("two", kind="decoder")
    reg = spark.Registry()
    info = _load(reg, make_plugin("good", spark_components=lambda: [a, b]), "good-pack")
    assert (info.status, info.error, info.components) == ("ok", None, ["good-pack:one", "good-pack:two"])
    assert (info.distribution, info.version) == ("good-pack", "1.0")
    assert reg.resolve("good-pack:two").cls is b
    assert reg.packs == [info]


def _raise():
    raise RuntimeError("weights file missing")


@pytest.mark.parametrize(
    ("hook", "expected"),
    [
        (_raise, "RuntimeError: weights file missing"),
        (lambda: ["not a class"], "spark_components returned 'not a class' is not a subclass of spark.Component"),
        (lambda: [dict], "is not a subclass of spark.Component"),
        (lambda: "lif", "spark_components must return a list, got str"),
    ],
    ids=["raises", "returns-a-string-item", "returns-a-non-component-class", "returns-a-non-list"],
)
def test_a_failing_pack_is_broken_and_the_others_still_load(make_component, make_plugin, hook, expected):
    before, after = make_component("before"), make_component("after")
    reg = spark.Registry()
    _load(reg, make_plugin("p1", spark_components=lambda: [before]), "pack-before")
    bad = _load(reg, make_plugin("bad", spark_components=hook), "bad-pack")
    _load(reg, make_plugin("p2", spark_components=lambda: [after]), "pack-after")

    assert bad.status == "broken"
    assert expected in bad.error
    assert bad.components == []
    assert [p.status for p in reg.packs] == ["ok", "broken", "ok"]
    assert [e.id for e in reg] == ["pack-before:before", "pack-after:after"]


def test_all_or_nothing_a_bad_item_unregisters_the_good_ones(make_component, make_plugin):
    good = make_component("good")
    reg = spark.Registry()
    info = _load(reg, make_plugin("half", spark_components=lambda: [good, 42]), "half-pack")
    assert info.status == "broken" and "42 is not a subclass" in info.error
    assert len(reg) == 0
    with pytest.raises(spark.UnknownComponentError, match=r"its pack half-pack is installed but broken: TypeError"):
        reg.resolve("half-pack:good")


def test_a_pack_cannot_override_another_packs_component(make_component, make_plugin):
    first, impostor, extra = make_component("lif"), make_component("lif"), make_component("extra")
    reg = spark.Registry()
    _load(reg, make_plugin("a", spark_components=lambda: [first]), "pack")
    info = _load(reg, make_plugin("b", spark_components=lambda: [extra, impostor]), "pack")
    assert info.status == "broken" and "'pack:lif' is registered twice" in info.error
    assert reg.resolve("pack:lif").cls is first
    assert [e.id for e in reg] == ["pack:lif"]  # 'extra' came with the impostor and went with it


def test_invalid_hook_signature_is_broken(make_plugin):
    reg = spark.Registry()
    info = _load(reg, make_plugin("sig", spark_components=lambda unexpected_arg: []), "sig-pack")
    assert info.status == "broken" and info.error.startswith("invalid hook implementations")


def test_a_pack_adds_payload_types_and_cannot_redefine_core_ones(make_plugin):
    spikes_again = spark.PayloadType("Spikes", "float32")
    dopamine = spark.PayloadType("Dopamine", "float32", "", "reward signal")
    reg = spark.Registry()
    ok = _load(reg, make_plugin("da", spark_payload_types=lambda: [dopamine]), "da-pack")
    bad = _load(reg, make_plugin("sp", spark_payload_types=lambda: [spikes_again]), "sp-pack")
    assert ok.status == "ok" and reg.payload("Dopamine") is dopamine
    assert bad.status == "broken" and "'Spikes'" in bad.error
    assert reg.payload("Spikes") is spark.Spikes


def test_a_broken_pack_leaves_no_payload_types_commands_or_assets(make_plugin):
    """All or nothing covers every hook, not only components."""
    reg = spark.Registry()
    info = _load(reg, make_plugin(
        "half",
        spark_payload_types=lambda: [spark.PayloadType("Half", "float32")],
        spark_cli_commands=lambda: [click.Command("half-cmd")],
        spark_editor_assets=lambda: {"js": ["/x.js"]},
        spark_components=lambda: [object],
    ), "half-pack")
    assert info.status == "broken"
    assert "Half" not in reg.payloads
    assert reg.cli_commands == [] and reg.editor_assets == []


def test_editor_assets_that_are_not_a_mapping_make_the_pack_broken(make_plugin):
    reg = spark.Registry()
    info = _load(reg, make_plugin("assets", spark_editor_assets=lambda: ["/x.js"]), "assets-pack")
    assert info.status == "broken"
    assert reg.editor_assets == []


def test_commands_and_assets_of_a_working_pack_are_kept_with_their_distribution(make_plugin):
    cmd = click.Command("hello")
    reg = spark.Registry()
    _load(reg, make_plugin("cli", spark_cli_commands=lambda: [cmd],
                           spark_editor_assets=lambda: {"js": ["/a.js"]}), "cli-pack")
    assert reg.cli_commands == [("cli-pack", cmd)]
    assert reg.editor_assets == [{"distribution": "cli-pack", "js": ["/a.js"]}]


def test_a_misspelled_hook_is_broken_with_a_suggestion(make_component, make_plugin):
    """A hook name pluggy does not know would otherwise be ignored: the pack would load with nothing in it."""
    reg = spark.Registry()
    info = _load(reg, make_plugin("typo", spark_component=lambda: [make_component("x")]), "typo-pack")
    assert info.status == "broken"
    assert "unknown hook 'spark_component'; did you mean 'spark_components'?" in info.error
