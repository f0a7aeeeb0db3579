import errno
import os
import stat

import pytest

from augprior import fileio


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(RuntimeError):
        with fileio.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_replaces_existing(tmp_path):
    target = tmp_path / "out.json"
    fileio.write_json(target, {"a": 1})
    fileio.write_json(target, {"a": 2})
    assert fileio.read_json(target) == {"a": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_outputs_honour_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        fileio.write_json(tmp_path / "m.json", {"a": 1})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "m.json").stat().st_mode) == mode


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO])
def test_a_full_disk_or_io_error_is_one_line_naming_the_file(tmp_path, monkeypatch, code):
    target = tmp_path / "student.json"
    fileio.write_json(target, {"old": True})

    def fail(fd):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(fileio.os, "fsync", fail)
    with pytest.raises(fileio.StorageError) as info:
        fileio.write_json(target, {"new": True})
    assert str(target) in str(info.value) and os.strerror(code) in str(info.value)
    assert "\n" not in str(info.value)
    assert [p.name for p in tmp_path.iterdir()] == ["student.json"]  # no temp file left behind
    assert fileio.read_json(target) == {"old": True}  # the finished file is untouched


def test_an_unwritable_folder_is_reported_with_the_file(tmp_path):
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("")
    with pytest.raises(fileio.StorageError) as info:
        fileio.write_text(blocker / "out" / "m.json", "x")
    assert str(blocker / "out" / "m.json") in str(info.value)
