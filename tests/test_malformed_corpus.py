"""A generated corpus of 1,200 malformed `.spark` files (tests/malformed_corpus.py: mutations of the bundled example
models) goes through reading, validation, build and a 5-step run: every failure must be a ``spark.SparkError``
(``SparkFileError`` with the JSON path, mostly), never a traceback of another type (issue 15).

Every file is read and validated; every valid one that is small enough (``malformed_corpus.affordable``) is built;
``SPARK_CORPUS_RUNS`` of the built ones (default 12, spread over the corpus; ``all`` for every one) run 5 steps,
since each run compiles a program (seconds) while reading, validating and building take milliseconds.
"""

from __future__ import annotations

import os
import traceback
import warnings

import malformed_corpus

import spark
from spark import graph, sparkfile

N_FILES = 1200
SEED = 15


def _uncaught(case, stage: str, exc: BaseException) -> str:
    where = traceback.extract_tb(exc.__traceback__)[-1]
    return f"{case.name}\n    {stage}: {type(exc).__name__}: {str(exc)[:300]} ({where.filename}:{where.lineno})"


def test_malformed_files_raise_only_spark_errors():
    cases = malformed_corpus.generate(N_FILES, SEED)
    assert len(cases) >= 1000 and len({c.text for c in cases}) >= 1000
    uncaught: list[str] = []
    valid, built = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ModelWarning of valid but silent models, overflow in NaN dynamics
        for case in cases:
            stage = "read"
            try:
                doc = sparkfile.loads(case.text, case.name)
                stage = "validate"
                errors, _ = sparkfile.check(doc)
                if not errors:
                    valid.append((case, doc))
            except spark.SparkError:
                pass
            except Exception as exc:
                uncaught.append(_uncaught(case, stage, exc))
        for case, doc in valid:
            if not malformed_corpus.affordable(graph.plan(doc)[0]):
                continue
            try:
                built.append((case, spark.Brain.from_dict(doc, source=case.name)))
            except spark.SparkError:
                pass
            except Exception as exc:
                uncaught.append(_uncaught(case, "build", exc))
        runs = os.environ.get("SPARK_CORPUS_RUNS", "12")
        sample = built if runs == "all" else built[:: max(1, len(built) // max(1, int(runs)))][: int(runs)]
        for case, brain in sample:
            try:
                brain.run(steps=5)
            except spark.SparkError:
                pass
            except Exception as exc:
                uncaught.append(_uncaught(case, "run", exc))
    assert not uncaught, f"{len(uncaught)} of {len(cases)} files raised what is not a SparkError:\n" + "\n".join(
        uncaught[:20])
    # the corpus exercises every stage: some files are valid, most of those build, and some run
    assert len(valid) >= 30 and len(built) >= 20 and len(sample) >= min(10, len(built)), (
        len(valid), len(built), len(sample))
