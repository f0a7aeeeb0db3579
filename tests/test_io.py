import pytest

from augprior import io


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(RuntimeError):
        with io.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_replaces_existing(tmp_path):
    target = tmp_path / "out.json"
    io.write_json(target, {"a": 1})
    io.write_json(target, {"a": 2})
    assert io.read_json(target) == {"a": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
