"""Files of the course tool: where things are, atomic writes that respect the umask, backups."""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: The students' folder, relative to the repository root (git-ignored; ``make lab`` opens it).
WORK_DIRNAME = "work"
#: Inside the working folder: old copies kept by ``update`` and ``build --force``.
BACKUPS_DIRNAME = "backups"


class CourseError(Exception):
    """A request the course tool cannot carry out (bad folder, file it must not touch);
    the message says what to do. The command line prints it and exits with status 2."""


class AuthoringError(ValueError):
    """A solution notebook breaks the authoring convention (the message names file and cell)."""


def umask_mode() -> int:
    """The permissions a new file gets from ``open()``: 0o666 less the process umask
    (0o644 under umask 022). Read by setting and restoring the umask."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename
    (a reader never sees half a notebook), with the permissions the umask allows (a plain
    ``mkstemp`` file would be private to its creator, 0600)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, umask_mode())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` (UTF-8) atomically unless the file already holds exactly it."""
    data = text.encode("utf-8")
    if path.exists() and path.read_bytes() == data:
        return False
    write_atomic(path, data)
    return True


def read_json(path: Path) -> dict:
    """A notebook file as a dict; AuthoringError naming the file when it is not JSON."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AuthoringError(f"{path}: not valid JSON ({exc})") from None


def backup_folder(work: Path) -> Path:
    """A new, empty ``work/backups/YYYYmmdd-HHMMSS[-n]/`` folder for this run's backups."""
    base = Path(work) / BACKUPS_DIRNAME
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder, n = base / stamp, 1
    while folder.exists():
        n += 1
        folder = base / f"{stamp}-{n}"
    folder.mkdir(parents=True)
    return folder


def move_to(path: Path, folder: Path) -> Path:
    """Move ``path`` into ``folder`` (same name) and return its new place. A rename where it
    can be; otherwise an atomic copy, then the original is removed."""
    target = Path(folder) / Path(path).name
    try:
        os.replace(path, target)
    except OSError:
        write_atomic(target, Path(path).read_bytes())
        Path(path).unlink()
    return target


def show(path: Path, root: Path | None = None) -> str:
    """``path`` relative to ``root`` (or the current folder) when it is inside, else absolute."""
    path = Path(path)
    for base in (root, Path.cwd()):
        if base is not None:
            try:
                return path.resolve().relative_to(Path(base).resolve()).as_posix()
            except ValueError:
                pass
    return str(path)
