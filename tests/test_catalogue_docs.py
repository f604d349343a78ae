"""docs/catalogue.md documents every key of the catalogue schema, and its example is a valid catalogue."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

DOC = (Path(__file__).resolve().parents[1] / "docs" / "catalogue.md").read_text("utf-8")


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads(resources.files("spark").joinpath("schemas", "component-list.schema.json").read_text())


def documented_keys(section: str) -> set[str]:
    """Keys named in the first column of the table under the heading ``section``."""
    body = DOC.split(f"# {section}\n", 1)[1].split("\n#", 1)[0]
    keys = set()
    for row in re.findall(r"^\| (.+?) \|", body, re.M):
        keys.update(re.findall(r"`([a-z_]+)`", row))
    return keys


@pytest.mark.parametrize(
    ("section", "where"),
    [("Top level", ()), ("Pack", ("$defs", "pack")), ("Payload type", ("$defs", "payload_type")),
     ("Component", ("$defs", "component")), ("Port", ("$defs", "port"))],
)
def test_every_key_is_documented(schema, section, where):
    node = schema
    for key in where:
        node = node[key]
    keys = set(node["properties"])
    assert keys - documented_keys(section) == set(), f"undocumented in docs/catalogue.md, section {section!r}"


def test_the_example_is_a_valid_catalogue(schema):
    (example,) = re.findall(r"```json\n(.*?)```", DOC, re.S)
    jsonschema.Draft202012Validator(schema).validate(json.loads(example))
