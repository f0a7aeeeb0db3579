import hashlib

import pytest

from augprior import manifest


def _entry(tmp_path, payload=b"hello mirror", url=None):
    md5 = hashlib.md5(payload).hexdigest()
    return manifest.FileEntry(name="f.bin", md5=md5, mirror="data/f.bin", url=url), md5


def test_mirror_is_used_and_verified(tmp_path, monkeypatch):
    monkeypatch.setenv("AUGPRIOR_CACHE", str(tmp_path / "cache"))
    entry, _ = _entry(tmp_path)
    (tmp_path / "m/data").mkdir(parents=True)
    (tmp_path / "m/data/f.bin").write_bytes(b"hello mirror")
    assert manifest.resolve_file(entry, tmp_path / "m") == tmp_path / "m/data/f.bin"


def test_corrupt_mirror_file_names_file_and_checksum(tmp_path, monkeypatch):
    monkeypatch.setenv("AUGPRIOR_CACHE", str(tmp_path / "cache"))
    entry, md5 = _entry(tmp_path)
    (tmp_path / "m/data").mkdir(parents=True)
    (tmp_path / "m/data/f.bin").write_bytes(b"tampered")
    with pytest.raises(manifest.DataError, match=f"f.bin.*{md5}"):
        manifest.resolve_file(entry, tmp_path / "m")


def test_missing_everywhere_says_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv("AUGPRIOR_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("AUGPRIOR_MIRROR", raising=False)
    entry, md5 = _entry(tmp_path)
    with pytest.raises(manifest.DataError) as err:
        manifest.resolve_file(entry)
    msg = str(err.value)
    assert "f.bin" in msg and md5 in msg and "$AUGPRIOR_MIRROR/data/f.bin" in msg


def test_download_verifies_md5_and_caches(tmp_path, monkeypatch):
    monkeypatch.setenv("AUGPRIOR_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("AUGPRIOR_MIRROR", raising=False)
    src = tmp_path / "remote.bin"
    src.write_bytes(b"hello mirror")
    entry, _ = _entry(tmp_path, url=src.as_uri())
    got = manifest.resolve_file(entry)
    assert got == tmp_path / "cache/downloads/f.bin" and got.read_bytes() == b"hello mirror"
    src.unlink()  # second call is served from the cache
    assert manifest.resolve_file(entry) == got


def test_download_with_wrong_md5_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("AUGPRIOR_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("AUGPRIOR_MIRROR", raising=False)
    src = tmp_path / "remote.bin"
    src.write_bytes(b"something else")
    entry, _ = _entry(tmp_path, url=src.as_uri())
    with pytest.raises(manifest.DataError, match="md5"):
        manifest.resolve_file(entry)
    assert not list((tmp_path / "cache/downloads").glob("*"))


def test_unknown_names_are_clear():
    with pytest.raises(manifest.DataError, match="unknown dataset 'imagenet42'"):
        manifest.dataset_files("imagenet42")
    with pytest.raises(manifest.DataError, match="unknown source image 'moon'"):
        manifest.image_entry("moon")


def test_real_mirror_checksums(mirror, tmp_path, monkeypatch):
    monkeypatch.setenv("AUGPRIOR_CACHE", str(tmp_path))
    for name in ("city", "animals", "animals_large", "bridge"):
        assert manifest.resolve_image_file(name, mirror).exists()
    assert set(manifest.resolve_dataset("fashion_mnist", mirror)) == {
        "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}
