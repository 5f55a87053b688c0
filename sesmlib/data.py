"""Data for the course: MNIST from its IDX files, and patches of a natural photograph.

MNIST (LeCun, Cortes, Burges; CC BY-SA 3.0) is read from the four standard IDX files:

    train-images-idx3-ubyte   train-labels-idx1-ubyte     (60000 digits)
    t10k-images-idx3-ubyte    t10k-labels-idx1-ubyte      (10000 digits)

gzipped (``.gz``) or not. The folder is the first of: the ``root`` argument,
``$SESMLIB_DATA_DIR``, the user cache ``~/.cache/sesmlib/mnist`` (``$SESMLIB_CACHE_DIR/mnist``
when that variable is set). Every file is parsed strictly (magic number, dimensions, exact
byte length) and the sha256 of its decompressed payload must match the published value.
Missing files are downloaded (when allowed) from a list of mirrors, verified, and only
then moved into place with an atomic rename, so an interrupted or corrupt download never
leaves a file behind that a later call would trust. The mirrors are, first found: the
``--mirror URL`` flags of the command line, ``$SESMLIB_MNIST_MIRRORS`` (comma-separated base
URLs, for a classroom mirror), then the public mirrors in ``MIRRORS``. Every download is
bounded: a mirror is abandoned (and the next one tried) when it stalls for ``TIMEOUT``
seconds, averages less than ``MIN_RATE`` bytes/s over ``RATE_WINDOW`` seconds, takes longer
than ``DEADLINE`` seconds for one file, or sends more bytes than the file can hold
(``SIZES``). Downloaded files get the permissions the umask allows (0644 under umask 022),
so a shared folder filled by an instructor is readable by everyone.

The checksum is computed once per file per process (about 20 ms for the training images);
the parsed arrays are kept in a small in-process cache keyed by path, size and modification
time, so later calls only copy the rows they return. No "verified" stamp is written next
to the files: the shared data folders are read-only, and hashing is cheap next to
decompression.

Command line: ``python -m sesmlib data [--root DIR] [--no-download] [--mirror URL ...]``.
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import http.client
import operator
import os
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ._utils import cache_dir, check_nonnegative, check_positive_int, progress

__all__ = [
    "load_mnist",
    "load_patches",
    "read_idx",
    "mnist_dir",
    "MNISTNotFoundError",
    "MNISTFileError",
    "main",
]

# ----------------------------------------------------------------------------- constants

#: split -> (image file, label file), names without the ``.gz`` suffix.
SPLITS: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
FILENAMES: tuple[str, ...] = tuple(name for pair in SPLITS.values() for name in pair)

#: sha256 of each DECOMPRESSED payload (the original bytes; re-compressed .gz files differ).
#: Tests replace this dict to check the verification with small synthetic files.
SHA256: dict[str, str] = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

#: Byte length of each DECOMPRESSED payload. A download that would hold more is abandoned.
SIZES: dict[str, int] = {
    "train-images-idx3-ubyte": 47040016,
    "train-labels-idx1-ubyte": 60008,
    "t10k-images-idx3-ubyte": 7840016,
    "t10k-labels-idx1-ubyte": 10008,
}

#: Public mirrors tried in order; each serves ``<mirror><name>.gz``. Used when neither
#: ``--mirror`` nor ``$SESMLIB_MNIST_MIRRORS`` names others. Tests point it at a local server.
MIRRORS: list[str] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]
#: Environment variable with comma-separated mirror base URLs; wins over ``MIRRORS``.
MIRRORS_ENV = "SESMLIB_MNIST_MIRRORS"

#: Seconds a connection or a single read may stall before the mirror is given up.
TIMEOUT: float = 30.0
#: A mirror averaging fewer than MIN_RATE bytes/s over the last RATE_WINDOW seconds is
#: abandoned (10 kB/s: the largest file, 9.9 MB gzipped, then takes at most about 17 min).
MIN_RATE: float = 10_000.0
RATE_WINDOW: float = 30.0
#: Seconds one file may take from one mirror, all told. Checked between reads, so it can be
#: overrun by up to TIMEOUT; a backstop should a mirror keep just above MIN_RATE.
DEADLINE: float = 1800.0
#: Download chunk size in bytes.
CHUNK: int = 1 << 16
_USER_AGENT = "sesmlib (course-pack MNIST loader; python urllib)"

# IDX magic: two zero bytes, type code 0x08 (unsigned byte), number of dimensions.
_IDX_UBYTE = 0x08
_IMAGE_SHAPE = (28, 28)


class MNISTNotFoundError(FileNotFoundError):
    """The MNIST files are missing and could not be fetched (offline, or download=False)."""


class MNISTFileError(ValueError):
    """An MNIST file is truncated, corrupt, of the wrong kind, or fails its checksum."""


# ------------------------------------------------------------------------------ folders


def _default_dir() -> Path:
    """The cache folder ``cache_dir("mnist")`` gives, computed without creating it."""
    return cache_dir("mnist", create=False)


def _resolve_dir(root: Any = None) -> tuple[Path, str]:
    """Return ``(folder, where_from)``: ``root``, else $SESMLIB_DATA_DIR, else the cache.

    Nothing is created here: looking never makes folders.
    """
    if root is not None:
        if not isinstance(root, (str, os.PathLike)):
            raise TypeError(f"root must be a path (str or os.PathLike), got {type(root).__name__}")
        return Path(root).expanduser(), "root argument"
    env = os.environ.get("SESMLIB_DATA_DIR")
    if env:
        return Path(env).expanduser(), "$SESMLIB_DATA_DIR"
    return _default_dir(), "default cache folder"


def mnist_dir(root: str | os.PathLike | None = None) -> Path:
    """The folder where the MNIST files are looked for (and downloaded to).

    Parameters
    ----------
    root : str or os.PathLike, optional
        An explicit folder; wins over ``$SESMLIB_DATA_DIR`` and the cache folder.

    Returns
    -------
    pathlib.Path
        The folder (it may not exist yet; this function creates nothing).

    Examples
    --------
    >>> from sesmlib.data import mnist_dir
    >>> mnist_dir("/tmp/my-mnist").name
    'my-mnist'
    """
    return _resolve_dir(root)[0]


def _find(folder: Path, name: str) -> Path | None:
    """The file for ``name`` in ``folder``: the uncompressed one first, then ``name.gz``."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _missing_message(folder: Path, where: str, missing: list[str], reasons: list[str] | None = None) -> str:
    lines = [
        f"MNIST files missing in {folder} ({where}): {', '.join(missing)}.",
        "Put the four standard IDX files there (gzipped or not):",
        *(f"    {name}.gz" for name in FILENAMES),
        "or point root=... / $SESMLIB_DATA_DIR at a folder that holds them"
        + ("" if reasons is not None else ", or call with download=True to fetch them") + ".",
    ]
    if reasons:
        lines.append("Download failed:")
        lines += [f"    {r}" for r in reasons]
        lines.append(
            f"To download from a mirror that works, set ${MIRRORS_ENV} to its base URL(s), comma-separated "
            "(each serving <name>.gz), or pass --mirror URL to python -m sesmlib data."
        )
    return "\n".join(lines)


# ------------------------------------------------------------------------- IDX parsing


def _decompress(raw: bytes, path: Path | str, limit: int | None = None) -> bytes:
    """gunzip ``raw`` when it is gzip data (by its magic bytes); errors name ``path``.

    Every gzip member is decompressed in turn (as ``gzip.decompress`` does). With ``limit``,
    data that would exceed ``limit`` bytes are refused as soon as they do, so a small file
    that inflates to gigabytes costs no memory.
    """
    if raw[:2] != b"\x1f\x8b":
        if limit is not None and len(raw) > limit:
            raise MNISTFileError(f"{path}: holds {len(raw)} bytes, more than the {limit} bytes expected")
        return raw
    parts: list[bytes] = []
    size = 0
    rest = raw
    try:
        while rest:
            unpacker = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # one gzip member
            part = unpacker.decompress(rest, 0 if limit is None else limit - size + 1)
            parts.append(part)
            size += len(part)
            if limit is not None and size > limit:
                raise MNISTFileError(f"{path}: decompresses to more than the {limit} bytes expected")
            if not unpacker.eof:
                raise EOFError("the data end before the end-of-stream marker")
            rest = unpacker.unused_data
    except (EOFError, zlib.error) as exc:
        raise MNISTFileError(f"{path}: corrupt or truncated gzip data ({exc}); delete it and fetch it again") from None
    return b"".join(parts)


def _parse_idx(payload: bytes, path: Path | str) -> np.ndarray:
    """Decode one IDX payload of unsigned bytes into a read-only uint8 array.

    Layout: ``00 00 08 D`` then D big-endian uint32 sizes, then prod(sizes) bytes.
    The byte length must match the header exactly (no truncation, no trailing bytes).
    """
    if len(payload) < 4:
        raise MNISTFileError(f"{path}: too short to be an IDX file ({len(payload)} bytes)")
    zero0, zero1, dtype, ndim = payload[:4]
    if zero0 != 0 or zero1 != 0 or dtype != _IDX_UBYTE or not 1 <= ndim <= 4:
        raise MNISTFileError(
            f"{path}: wrong magic number 0x{payload[:4].hex()} (an MNIST IDX file starts with "
            "0x00000801 for labels or 0x00000803 for images)"
        )
    header = 4 + 4 * ndim
    if len(payload) < header:
        raise MNISTFileError(f"{path}: truncated IDX header ({len(payload)} bytes)")
    dims = tuple(int(d) for d in np.frombuffer(payload, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(dims, dtype=np.int64))
    if len(payload) != expected:
        kind = "truncated" if len(payload) < expected else "has trailing bytes"
        raise MNISTFileError(
            f"{path}: {kind}: header says {dims} ({expected} bytes) but the data are {len(payload)} bytes"
        )
    return np.frombuffer(payload, dtype=np.uint8, offset=header).reshape(dims)


def read_idx(path: str | os.PathLike, *, sha256: str | None = None) -> np.ndarray:
    """Read one IDX file of unsigned bytes (gzipped or not) strictly.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    sha256 : str, optional
        Expected sha256 (hex) of the decompressed payload; checked when given.

    Returns
    -------
    numpy.ndarray
        A read-only uint8 array with the shape written in the file's header.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    MNISTFileError (a ValueError)
        Wrong magic number, truncated or over-long data, corrupt gzip, checksum mismatch;
        the message names the file.

    Examples
    --------
    >>> import os, tempfile
    >>> from sesmlib.data import read_idx
    >>> p = os.path.join(tempfile.mkdtemp(), "tiny-labels-idx1-ubyte")
    >>> _ = open(p, "wb").write(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]))
    >>> read_idx(p).tolist()
    [7, 2, 1]
    """
    path = Path(path)
    payload = _decompress(path.read_bytes(), path)
    if sha256 is not None:
        _check_sha(payload, sha256, path)
    return _parse_idx(payload, path)


def _check_sha(payload: bytes, expected: str, path: Path | str) -> None:
    digest = hashlib.sha256(payload).hexdigest()
    if digest != expected:
        raise MNISTFileError(
            f"{path}: sha256 of the decompressed data is {digest}, expected {expected}; "
            "the file is corrupt or not the original MNIST file: delete it and fetch it again"
        )


def _check_mnist_array(arr: np.ndarray, name: str, path: Path | str) -> np.ndarray:
    """Shape checks for an MNIST images (N, 28, 28) or labels (N,) file; returns (N, 784) for images."""
    if "images" in name:
        if arr.ndim != 3 or arr.shape[1:] != _IMAGE_SHAPE:
            raise MNISTFileError(f"{path}: expected images of shape (N, 28, 28), got {arr.shape}")
        return arr.reshape(arr.shape[0], -1)  # (N, 784)
    if arr.ndim != 1:
        raise MNISTFileError(f"{path}: expected labels of shape (N,), got {arr.shape}")
    if arr.size and int(arr.max()) > 9:
        raise MNISTFileError(f"{path}: label {int(arr.max())} outside 0..9")
    return arr


# In-process cache: (resolved path, size, mtime_ns, expected sha) -> verified read-only array.
_ARRAYS: dict[tuple, np.ndarray] = {}
_ARRAYS_MAX = 8


def _load_verified(path: Path, name: str, *, use_cache: bool = True) -> np.ndarray:
    """Read, verify (sha256) and parse one MNIST file; remembered per (file, size, mtime)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, SHA256.get(name))
    if use_cache and key in _ARRAYS:
        return _ARRAYS[key]
    payload = _decompress(path.read_bytes(), path)
    if name in SHA256:
        _check_sha(payload, SHA256[name], path)
    arr = _check_mnist_array(_parse_idx(payload, path), name, path)
    if len(_ARRAYS) >= _ARRAYS_MAX:
        _ARRAYS.pop(next(iter(_ARRAYS)))
    _ARRAYS[key] = arr
    return arr


# ---------------------------------------------------------------------------- download


class _Abandoned(MNISTFileError):
    """A mirror was given up mid-download (too slow, too long, too many bytes)."""


def _max_body(size: int) -> int:
    """The most bytes a ``.gz`` of a ``size``-byte payload can take: deflate never grows
    data by more than about 1/3000 (stored blocks), plus the gzip header and trailer."""
    return size + size // 1000 + 4096


def _umask() -> int:
    """The process umask, read without changing it where Linux reports it."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: read it by setting it, and put it straight back
    os.umask(mask)
    return mask


def _mirror_list(given: list[str] | None = None) -> tuple[list[str], str]:
    """``(base URLs, the setting they come from)``: ``given`` (the --mirror flags), else
    ``$SESMLIB_MNIST_MIRRORS`` when set, else ``MIRRORS``. Each URL ends with ``/``.

    The list may be empty (the caller reports it, naming the setting); an entry that is
    not an http(s) URL raises ``ValueError`` naming the setting and the entry.
    """
    if given is not None:
        entries, setting = list(given), "--mirror"
    elif os.environ.get(MIRRORS_ENV) is not None:
        entries, setting = os.environ[MIRRORS_ENV].split(","), f"${MIRRORS_ENV}"
        entries = [e.strip() for e in entries if e.strip()]
    else:
        entries, setting = list(MIRRORS), "sesmlib.data.MIRRORS"
    urls = []
    for entry in entries:
        parts = urllib.parse.urlsplit(entry) if isinstance(entry, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                f"{setting}: {entry!r} is not a mirror base URL; give http:// or https:// URLs of "
                "folders that serve the four <name>.gz files, e.g. http://server.lan/mnist/"
            )
        urls.append(entry if entry.endswith("/") else entry + "/")
    return urls, setting


def _no_mirror_reason(setting: str) -> str:
    if setting == f"${MIRRORS_ENV}":
        return (f"no mirror to download from: ${MIRRORS_ENV} is set but holds no URL; unset it to use "
                "the public mirrors, or set it to comma-separated base URLs")
    return (f"no mirror to download from: {setting} is empty; set ${MIRRORS_ENV} to comma-separated "
            "base URLs (or give sesmlib.data.MIRRORS some)")


def _fetch_one(
    url: str,
    dest: Path,
    name: str,
    *,
    show_progress: bool = True,
    timeout: float | None = None,
    min_rate: float | None = None,
    window: float | None = None,
    deadline: float | None = None,
) -> None:
    """Download ``url`` to a temporary file beside ``dest``, verify it, then rename.

    Bounds (None: the module constants ``TIMEOUT``, ``MIN_RATE``, ``RATE_WINDOW``,
    ``DEADLINE``): a stall of ``timeout`` s, an average below ``min_rate`` bytes/s over the
    last ``window`` s, more than ``deadline`` s in all, or more bytes than a ``.gz`` of the
    known size (``SIZES[name]``) can take, announced or sent, abandon the mirror.
    Verification: the body length matches Content-Length, the gzip stream is complete and
    decompresses to no more than the known size, the sha256 of the payload matches
    ``SHA256[name]``, and the IDX header parses. Any failure removes the temporary file
    and raises; a good file gets the permissions the umask allows, then is renamed.
    """
    timeout = TIMEOUT if timeout is None else timeout
    min_rate = MIN_RATE if min_rate is None else min_rate
    window = RATE_WINDOW if window is None else window
    deadline = DEADLINE if deadline is None else deadline
    size = SIZES.get(name)
    max_body = None if size is None else _max_body(size)
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        start = time.monotonic()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as resp:
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            if total is not None and max_body is not None and total > max_body:
                raise _Abandoned(
                    f"{url}: abandoned: announces {total} bytes, more than the {max_body} a .gz of "
                    f"{name} can take (its data are {size} bytes)"
                )
            received = 0
            samples = collections.deque([(start, 0)])  # (time, bytes received): the rate window
            bar = progress(None, enable=show_progress, total=total, unit="B", unit_scale=True,
                           desc=f"{name}.gz")
            try:
                while True:
                    chunk = resp.read1(CHUNK)  # returns what has arrived: a trickle is seen
                    if not chunk:
                        break
                    received += len(chunk)
                    if max_body is not None and received > max_body:
                        raise _Abandoned(
                            f"{url}: abandoned: sent more than {max_body} bytes, the most a .gz of "
                            f"{name} can take (its data are {size} bytes)"
                        )
                    out.write(chunk)
                    bar.update(len(chunk))
                    now = time.monotonic()
                    if now - start > deadline:
                        raise _Abandoned(
                            f"{url}: abandoned: still downloading after {deadline:g} s "
                            f"(sesmlib.data.DEADLINE), {received} bytes so far"
                        )
                    samples.append((now, received))
                    while len(samples) > 1 and samples[1][0] <= now - window:
                        samples.popleft()  # samples[0]: the last one at least `window` s ago
                    then, before = samples[0]
                    if now - then >= window and (received - before) < min_rate * (now - then):
                        rate = (received - before) / (now - then)
                        raise _Abandoned(
                            f"{url}: abandoned: too slow, {rate:.0f} B/s over the last {now - then:.3g} s "
                            f"(the floor is {min_rate:g} B/s over {window:g} s, sesmlib.data.MIN_RATE "
                            "and RATE_WINDOW)"
                        )
            finally:
                bar.close()
            if total is not None and received != total:
                raise MNISTFileError(f"{url}: truncated download ({received} of {total} bytes)")
            out.flush()
            os.fsync(out.fileno())
        payload = _decompress(tmp.read_bytes(), url, limit=size)
        if name in SHA256:
            _check_sha(payload, SHA256[name], url)
        _check_mnist_array(_parse_idx(payload, url), name, url)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp made it 0600: readable as the umask allows
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _download(
    names: list[str],
    folder: Path,
    where: str,
    *,
    mirrors: list[str] | None = None,
    show_progress: bool = True,
    **limits: float,
) -> list[str]:
    """Fetch each of ``names`` into ``folder`` from the first mirror that gives a good file.

    ``mirrors``: the --mirror flags (None: ``$SESMLIB_MNIST_MIRRORS``, else ``MIRRORS``);
    ``limits``: ``timeout``, ``min_rate``, ``window``, ``deadline`` for :func:`_fetch_one`.
    Returns the list of failure reasons (empty when every file arrived). Raises
    ``ValueError`` for a mirror setting that is not a list of http(s) URLs.
    """
    urls, setting = _mirror_list(mirrors)
    if not urls:
        return [_no_mirror_reason(setting)]
    if where == "default cache folder":
        folder = cache_dir("mnist")  # created only now that something will be written
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return [f"cannot create {folder}: {exc}"]
    failures: list[str] = []
    for name in names:
        errors = []
        for mirror in urls:
            url = f"{mirror}{name}.gz"
            try:
                _fetch_one(url, folder / f"{name}.gz", name, show_progress=show_progress, **limits)
                break
            except (urllib.error.URLError, http.client.HTTPException, socket.timeout, OSError, ValueError) as exc:
                if isinstance(exc, urllib.error.HTTPError):
                    reason = f"HTTP {exc.code} {exc.reason}"
                elif isinstance(exc, urllib.error.URLError):
                    reason = f"{type(exc.reason).__name__}: {exc.reason}"
                elif isinstance(exc, MNISTFileError):
                    reason = str(exc).removeprefix(f"{url}: ")
                else:
                    reason = f"{type(exc).__name__}: {exc}"
                errors.append(f"{url}: {reason}")
        else:
            failures.extend(errors)
    return failures


# ---------------------------------------------------------------------------- load_mnist


def _check_split(split: Any) -> str:
    if not isinstance(split, str):
        raise TypeError(f"split must be 'train' or 'test', got {type(split).__name__}")
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    return split


def load_mnist(
    split: str = "train",
    n: int | None = None,
    *,
    root: str | os.PathLike | None = None,
    download: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load MNIST digits as flat float pixels in [0, 1] and integer labels.

    The paper (Section 4.1) trains on the first 20000 training digits with pixels scaled
    to [0, 1]: ``load_mnist("train", 20000)``.

    Parameters
    ----------
    split : {"train", "test"}
        The 60000 training digits or the 10000 test digits.
    n : int, optional
        Keep only the first ``n`` digits (file order); all of them when None.
    root : str or os.PathLike, optional
        Folder with the IDX files. Default: ``$SESMLIB_DATA_DIR``, else
        ``~/.cache/sesmlib/mnist`` (under ``$SESMLIB_CACHE_DIR`` when set).
    download : bool
        Fetch missing files from the mirrors: ``$SESMLIB_MNIST_MIRRORS`` (comma-separated
        base URLs) when set, else the public ones in ``sesmlib.data.MIRRORS``.

    Returns
    -------
    X : torch.Tensor, float32, shape (n, 784)
        Pixels ``x / 255``, row-major 28 x 28 images.
    y : torch.Tensor, int64, shape (n,)
        Labels 0..9.

    Raises
    ------
    MNISTNotFoundError (a FileNotFoundError)
        Files missing and not fetched; the message names the folder and the four files,
        and for each mirror tried the reason it failed (or that the mirror list is empty).
    MNISTFileError (a ValueError)
        A truncated, corrupt, wrong-magic or wrong-checksum file; the message names it.
    TypeError, ValueError
        Bad ``split``, ``n``, ``root`` or ``download``; a ``$SESMLIB_MNIST_MIRRORS``
        entry that is not an http(s) URL (ValueError).

    Notes
    -----
    A file that is present but bad is reported, never silently replaced: delete it and
    call again (or run ``python -m sesmlib data``) to fetch a good copy. Each file is
    checksummed once per process; the tensors are fresh CPU copies (move them with
    ``.to(sesmlib.device())``). The example is skipped by doctest because it needs the
    real files.

    Examples
    --------
    >>> from sesmlib.data import load_mnist
    >>> X, y = load_mnist("train", 20000)            # doctest: +SKIP
    >>> X.shape, X.dtype, y[:5].tolist()              # doctest: +SKIP
    (torch.Size([20000, 784]), torch.float32, [5, 0, 4, 1, 9])
    """
    split = _check_split(split)
    if n is not None:
        n = check_positive_int("n", n)
    if not isinstance(download, bool):
        raise TypeError(f"download must be True or False, got {download!r}")
    folder, where = _resolve_dir(root)
    names = list(SPLITS[split])

    missing = [name for name in names if _find(folder, name) is None]
    if missing:
        if not download:
            raise MNISTNotFoundError(_missing_message(folder, where, missing))
        failures = _download(missing, folder, where)
        if failures:
            raise MNISTNotFoundError(_missing_message(folder, where, missing, failures))

    images = _load_verified(_find(folder, names[0]), names[0])  # (N, 784) uint8, read-only
    labels = _load_verified(_find(folder, names[1]), names[1])  # (N,) uint8, read-only
    if images.shape[0] != labels.shape[0]:
        raise MNISTFileError(
            f"{folder}: {names[0]} holds {images.shape[0]} images but {names[1]} holds {labels.shape[0]} labels"
        )
    if n is not None and n > images.shape[0]:
        raise ValueError(f"n={n} is more than the {images.shape[0]} digits of the {split} split")
    stop = images.shape[0] if n is None else n
    # Fresh tensors (copies): callers can modify them without touching the cache.
    X = torch.from_numpy(images[:stop].astype(np.float32)).div_(255.0)  # (n, 784)
    y = torch.from_numpy(labels[:stop].astype(np.int64))  # (n,)
    return X, y


# ------------------------------------------------------------------------ image patches

_PHOTO = "grace_hopper.jpg"
_GRAY: np.ndarray | None = None


def _photo_gray() -> np.ndarray:
    """The sample photograph that ships with matplotlib, as grayscale in [0, 1], (H, W)."""
    global _GRAY
    if _GRAY is None:
        import matplotlib.cbook
        import matplotlib.image

        path = matplotlib.cbook.get_sample_data(_PHOTO, asfileobj=False)
        rgb = np.asarray(matplotlib.image.imread(path), dtype=np.float64)  # (H, W, 3)
        if rgb.max() > 1.0:  # JPEG comes back as uint8 0..255
            rgb = rgb / 255.0
        gray = rgb[..., :3] @ np.array([0.299, 0.587, 0.114])  # ITU-R BT.601 luma, (H, W)
        gray = (gray - gray.min()) / (gray.max() - gray.min())
        gray.setflags(write=False)
        _GRAY = gray
    return _GRAY


def load_patches(n: int = 30000, size: int = 8, *, scale: float = 1.7, seed: int = 0) -> torch.Tensor:
    """Random square patches of a natural photograph, for the paper's Section 5.2.

    The paper trains SESM on 30000 8x8 patches of natural images "scaled to [0, 1.7]"
    with no mean removal, but does not name its images. Departure (stated): we use the
    one photograph that ships inside an installed dependency, matplotlib's
    ``grace_hopper.jpg`` (600 x 512 pixels, a portrait with fabric, medals and face edges), so
    nothing is downloaded. It is converted to grayscale (BT.601 luma
    0.299 R + 0.587 G + 0.114 B), stretched so its darkest pixel is 0 and its brightest is
    ``scale``, and patches are cut at uniformly random positions (with replacement).
    No mean removal and no whitening, as in the paper.

    Parameters
    ----------
    n : int
        Number of patches.
    size : int
        Patch side in pixels (the paper: 8).
    scale : float
        Pixel values lie in [0, scale] (the paper: 1.7).
    seed : int
        Seed of the positions; the same seed gives the same patches.

    Returns
    -------
    torch.Tensor, float32, shape (n, size * size)
        Row-major flattened patches.

    Examples
    --------
    >>> from sesmlib.data import load_patches
    >>> P = load_patches(1000, 8, seed=0)
    >>> tuple(P.shape), bool(P.min() >= 0), bool(P.max() <= 1.7)
    ((1000, 64), True, True)
    """
    n = check_positive_int("n", n)
    size = check_positive_int("size", size)
    scale = check_nonnegative("scale", scale, positive=True)
    if isinstance(seed, bool):
        raise TypeError(f"seed must be an integer, got {seed!r}")
    try:
        seed = operator.index(seed)
    except TypeError:
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}") from None
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    gray = _photo_gray()  # (H, W)
    height, width = gray.shape
    if size > min(height, width):
        raise ValueError(f"size={size} is larger than the photograph ({height} x {width})")
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, height - size + 1, size=n)
    cols = rng.integers(0, width - size + 1, size=n)
    windows = np.lib.stride_tricks.sliding_window_view(gray, (size, size))  # (H-s+1, W-s+1, s, s)
    patches = windows[rows, cols].reshape(n, size * size) * scale  # (n, s*s)
    return torch.from_numpy(patches.astype(np.float32))


# ---------------------------------------------------------------------------------- CLI


def _mirror_arg(value: str) -> str:
    """argparse type for --mirror: one http(s) base URL (argparse turns the error into exit 2)."""
    try:
        return _mirror_list([value])[0][0]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--mirror: ")) from None


def main(argv: list[str] | None = None) -> int:
    """``python -m sesmlib data``: where the MNIST files are, verify them, fetch missing ones.

    Exit status 0 when all four files are present and verified, 1 otherwise.
    """
    parser = argparse.ArgumentParser(
        prog="python -m sesmlib data",
        description="Show where the MNIST files are, verify their checksums, and fetch missing ones.",
    )
    parser.add_argument("--root", help="folder with the IDX files (default: $SESMLIB_DATA_DIR, else the cache)")
    parser.add_argument("--no-download", action="store_true", help="never fetch missing files")
    parser.add_argument(
        "--mirror", action="append", metavar="URL", type=_mirror_arg,
        help=f"base URL of a mirror serving <name>.gz; repeat for several, tried in order "
             f"(default: ${MIRRORS_ENV}, comma-separated, else the public mirrors)",
    )
    args = parser.parse_args(argv)

    folder, where = _resolve_dir(args.root)
    print(f"MNIST folder: {folder} ({where})")
    missing = [name for name in FILENAMES if _find(folder, name) is None]
    if missing and not args.no_download:
        try:
            urls, setting = _mirror_list(args.mirror)
        except ValueError as exc:
            print(f"python -m sesmlib data: {exc}", file=sys.stderr)
            return 1
        print(f"fetching {len(missing)} missing file(s) from {len(urls)} mirror(s) ({setting}) ...")
        failures = _download(missing, folder, where, mirrors=args.mirror)
    else:
        failures = None  # not tried
    ok = True
    for name in FILENAMES:
        path = _find(folder, name)
        if path is None:
            print(f"  MISSING  {name}[.gz]")
            ok = False
            continue
        try:
            arr = _load_verified(path, name, use_cache=False)
        except (OSError, ValueError) as exc:
            print(f"  BAD      {path.name}: {exc}")
            ok = False
            continue
        print(f"  ok       {path.name}: {arr.shape[0]} {'images' if 'images' in name else 'labels'}, "
              f"sha256 {SHA256.get(name, '?')[:12]}...")
    if not ok:
        still_missing = [name for name in FILENAMES if _find(folder, name) is None]
        if still_missing:
            print(_missing_message(folder, where, still_missing, failures), file=sys.stderr)
        else:
            print("Delete the BAD file(s) above and run this command again to fetch good copies.", file=sys.stderr)
        return 1
    print("all four MNIST files present and verified")
    return 0
