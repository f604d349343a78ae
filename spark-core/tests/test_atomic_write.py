"""Atomic writes leave no hidden temporary file behind for long, and their errors name the target (issue 15)."""

from __future__ import annotations

import errno
import os
import time

import pytest

from spark import sparkfile


def leftover(folder, name, age_s, tail="abcd1234"):
    p = folder / f".{name}{sparkfile.TEMP_MARK}{tail}"
    p.write_bytes(b"half a file")
    os.utime(p, (time.time() - age_s, time.time() - age_s))
    return p


def test_the_temporary_file_is_named_after_its_target(tmp_path, monkeypatch):
    seen = []
    real = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (seen.append(os.path.basename(a)), real(a, b)))
    sparkfile.atomic_write_bytes(tmp_path / "state.npz", b"data")
    assert seen[0].startswith(".state.npz.spark-tmp-")
    assert (tmp_path / "state.npz").read_bytes() == b"data"
    assert os.listdir(tmp_path) == ["state.npz"]


def test_stale_temporary_files_of_the_same_target_are_removed_on_the_next_write(tmp_path):
    stale = leftover(tmp_path, "model.spark", 3600)
    old_style = tmp_path / ".model.spark.k2j4h5g6.tmp"  # the earlier naming
    old_style.write_bytes(b"x")
    os.utime(old_style, (time.time() - 3600,) * 2)
    fresh = leftover(tmp_path, "model.spark", 1, tail="efgh5678")  # another process may be writing it right now
    other = leftover(tmp_path, "other.spark", 3600)  # another target's: not ours to judge now
    mine = tmp_path / ".model.spark.notes"  # a user's file that only looks similar
    mine.write_bytes(b"keep")
    os.utime(mine, (time.time() - 3600,) * 2)
    sparkfile.atomic_write_text(tmp_path / "model.spark", "{}")
    assert not stale.exists() and not old_style.exists()
    assert fresh.exists() and other.exists() and mine.exists()


def test_a_failed_write_names_the_target_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    (tmp_path / "state.npz").write_bytes(b"old")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError) as info:
        sparkfile.atomic_write_bytes(tmp_path / "state.npz", b"new")
    assert info.value.errno == errno.ENOSPC
    assert info.value.filename == str(tmp_path / "state.npz")
    assert "spark-tmp" not in str(info.value)
    assert os.listdir(tmp_path) == ["state.npz"] and (tmp_path / "state.npz").read_bytes() == b"old"


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        sparkfile.atomic_write_text(tmp_path / "nowhere" / "model.spark", "{}")
    assert info.value.filename == str(tmp_path / "nowhere" / "model.spark")


def test_a_save_killed_between_write_and_rename_leaves_a_recognisable_temp_that_the_next_save_removes(tmp_path):
    import subprocess
    import sys
    import textwrap

    target = tmp_path / "state.npz"
    target.write_bytes(b"the previous state")
    code = textwrap.dedent(f"""
        import os, signal
        from spark import sparkfile
        os.replace = lambda a, b: os.kill(os.getpid(), signal.SIGKILL)  # killed at the worst moment
        sparkfile.atomic_write_bytes({str(target)!r}, b"x" * 100_000)
        """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert proc.returncode == -9
    left = [p for p in tmp_path.iterdir() if p.name != "state.npz"]
    assert len(left) == 1 and left[0].name.startswith(".state.npz.spark-tmp-"), left
    assert target.read_bytes() == b"the previous state"
    sparkfile.atomic_write_bytes(target, b"new")  # too fresh to be judged stale: kept
    assert left[0].exists()
    os.utime(left[0], (time.time() - 2 * sparkfile.STALE_TEMP_S,) * 2)
    sparkfile.atomic_write_bytes(target, b"newer")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.npz"] and target.read_bytes() == b"newer"
