"""Atomic file writes: a killed job never leaves a file that looks complete.

Files get the mode the user's umask allows (mkstemp alone would make them 0600, unreadable for
colleagues on a shared cluster), and a full disk or an I/O error surfaces as one `StorageError`
line naming the file, with the temporary file removed.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator


class StorageError(OSError):
    """Writing an output failed (full disk, read-only or missing folder, I/O error); names the file."""

    def __str__(self) -> str:  # the message alone, without OSError's "[Errno 28] " prefix
        return self.strerror or super().__str__()


STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EACCES, errno.EPERM}


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def storage_error(path: str | os.PathLike, err: OSError) -> StorageError:
    reason = err.strerror or str(err)
    hint = " (free some space, or point the output elsewhere)" if err.errno in (errno.ENOSPC, errno.EDQUOT) else ""
    return StorageError(err.errno, f"cannot write {path}: {reason}{hint}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it onto `path` on success.

    On any exception the temporary file is removed and `path` is left untouched.
    `suffix` lets writers that insist on an extension (numpy's .npy) keep it.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent)
        os.close(fd)
    except OSError as err:
        raise storage_error(path, err) from None
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except StorageError:
        raise
    except OSError as err:
        if err.errno in STORAGE_ERRNOS:
            raise storage_error(path, err) from None
        raise
    finally:
        if tmp.exists():
            tmp.unlink()


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def write_text(path: str | os.PathLike, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist"):  # numpy / torch scalars and arrays
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
