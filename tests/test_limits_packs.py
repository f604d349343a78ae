"""The limits of spark.limits hold for the real packs' components (issue 15): each value here validated before and
then crashed the build or the run (OverflowError, int32 overflow into negative shapes) or turned into inf."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from spark import sparkfile

REPO = Path(__file__).resolve().parents[1]
BALANCED = json.loads((REPO / "spark-components/src/spark_components/examples/balanced.spark").read_text())


@pytest.mark.parametrize(("node", "param", "value", "path", "says"), [
    (1, "t_ref", 2 ** 63, "$.nodes[1].params.t_ref", "step counters are int32"),
    (5, "delay", 2.15e8, "$.nodes[5].params.delay", "more than 2,147,483,647"),
    (5, "weight", 1e39, "$.nodes[5].params.weight", "overflows float32"),
    (5, "pre", [2 ** 70], "$.nodes[5].params.pre", "does not fit int32"),
])
def test_pack_parameters_beyond_their_storage_are_refused(node, param, value, path, says):
    doc = copy.deepcopy(BALANCED)
    doc["nodes"][node]["params"][param] = value
    problems = sparkfile.validate(doc)
    assert [p.path for p in problems] == [path], [str(p) for p in problems]
    assert says in problems[0].message
    assert problems[0].node == doc["nodes"][node]["id"]


@pytest.mark.parametrize(("literal", "says"), [
    ("1e308", "more than 10,000,000"), ("Infinity", "not finite"), ("NaN", "is NaN")])
def test_spark_validate_reports_a_delay_it_cannot_convert(tmp_path, spark_cli, literal, says):
    text = json.dumps(BALANCED, indent=1).replace('"delay": 1.0', f'"delay": {literal}', 1)
    (tmp_path / "m.spark").write_text(text)
    result = spark_cli("validate", str(tmp_path / "m.spark"))
    assert result.code != 0
    assert "Traceback" not in result.err + result.out
    assert "$.edges[4].delay" in result.err + result.out and says in result.err + result.out
