"""Component ids: canonical ``<distribution>:<name>``, unique short names, and nothing silently overridden."""

from __future__ import annotations

import pytest

import spark
from spark.errors import DuplicateComponentError
from spark.testing import isolated_registry


def test_isolated_registry_sees_nothing_installed(make_component):
    reg = isolated_registry()
    assert len(reg) == 0 and reg.packs == []
    reg = isolated_registry(make_component("tiny"))
    assert [e.id for e in reg] == ["test:tiny"]


def test_spark_registry_fixture_is_empty_and_fresh_per_test(spark_registry, make_component):
    assert len(spark_registry) == 0
    spark_registry.register(make_component("only_here"))
    assert [e.id for e in spark_registry] == ["local:only_here"]


def test_canonical_id_uses_the_normalised_distribution_name(make_component):
    reg = spark.Registry()
    entry = reg.register(make_component("tiny"), distribution="My_Pack.Extra", version="1.2")
    assert entry.id == "my-pack-extra:tiny"
    assert (entry.distribution, entry.version, entry.name, entry.kind) == ("my-pack-extra", "1.2", "tiny", "soma")
    # any spelling of the distribution that normalises the same way resolves
    assert reg.resolve("My_Pack.Extra:tiny") is entry
    assert reg.resolve("my-pack-extra:tiny") is entry


def test_short_name_resolves_where_unique(make_component):
    cls = make_component("tiny")
    reg = isolated_registry(cls, make_component("other", kind="decoder"))
    assert reg.resolve("tiny").cls is cls
    assert "tiny" in reg and "test:tiny" in reg and "nope" not in reg


def test_ambiguous_short_name_lists_every_candidate(make_component):
    reg = spark.Registry()
    reg.register(make_component("lif"), distribution="pack-a")
    reg.register(make_component("lif"), distribution="pack-b")
    with pytest.raises(spark.AmbiguousComponentError) as info:
        reg.resolve("lif")
    msg = str(info.value)
    assert "'lif' is ambiguous" in msg
    assert "pack-a:lif" in msg and "pack-b:lif" in msg
    assert "use the full id" in msg
    assert isinstance(info.value, spark.RegistryError)
    # the canonical ids still work
    assert reg.resolve("pack-b:lif").distribution == "pack-b"


def test_unknown_short_name_points_to_list_components(make_component):
    reg = isolated_registry(make_component("tiny"))
    with pytest.raises(spark.UnknownComponentError, match=r"unknown component 'tinny'.*spark list-components"):
        reg.resolve("tinny")


def test_unknown_canonical_id_with_known_name_names_the_providers(make_component):
    reg = isolated_registry(make_component("lif"))
    with pytest.raises(spark.UnknownComponentError, match=r"'other:lif'.*named 'lif' is provided as test:lif"):
        reg.resolve("other:lif")


def test_unknown_canonical_id_suggests_installing_the_pack():
    with pytest.raises(spark.UnknownComponentError, match=r"pip install some-pack"):
        spark.Registry().resolve("some-pack:thing")


@pytest.mark.parametrize("bad", ["", None, 3])
def test_non_string_or_empty_id_is_refused(bad):
    with pytest.raises(spark.UnknownComponentError, match="non-empty string"):
        spark.Registry().resolve(bad)


def test_duplicate_canonical_id_is_refused_and_the_first_is_kept(make_component):
    first, second = make_component("tiny"), make_component("tiny")
    reg = spark.Registry()
    reg.register(first, distribution="pack")
    with pytest.raises(DuplicateComponentError, match=r"'pack:tiny' is registered twice.*another `name`"):
        reg.register(second, distribution="pack")
    assert reg.resolve("pack:tiny").cls is first
    assert len(reg) == 1


def test_entries_filter_by_kind_and_sort_by_id(make_component):
    reg = isolated_registry(make_component("zeta"), make_component("alpha"), make_component("count", kind="decoder"))
    assert [e.id for e in reg.entries()] == ["test:alpha", "test:count", "test:zeta"]
    assert [e.id for e in reg.entries("decoder")] == ["test:count"]
    assert reg.entries("synapse") == []


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        ({"name": ""}, "has no valid `name`"),
        ({"name": "a:b"}, "has no valid `name`"),
        ({"name": " padded "}, "has no valid `name`"),
        ({"kind": ""}, "has no `kind`"),
        ({"Params": dict}, r"Params is not a class decorated with @spark\.params"),
    ],
)
def test_invalid_component_classes_are_refused(make_component, attrs, expected):
    cls = make_component("tiny")
    for key, value in attrs.items():
        setattr(cls, key, value)
    with pytest.raises(TypeError, match=expected):
        spark.Registry().register(cls)


def test_a_non_component_is_refused():
    with pytest.raises(TypeError, match=r"is not a subclass of spark\.Component"):
        spark.Registry().register(object)
