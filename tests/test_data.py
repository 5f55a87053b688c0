"""Tests for sesmlib.data: strict IDX parsing, checksums, the folder search order, the
verified download path (against a local HTTP server), the CLI, the real MNIST files, and
the natural-image patches.

Synthetic MNIST-shaped files are written at test time (nothing binary is committed); the
expected checksums are injected by replacing ``sesmlib.data.SHA256``.
"""
from __future__ import annotations

import gzip
import hashlib
import http.server
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import sesmlib.data as data
from sesmlib.data import MNISTFileError, MNISTNotFoundError, load_mnist, load_patches, read_idx

FOUR = data.FILENAMES
N_SYNTH = {"train": 7, "test": 4}


# ------------------------------------------------------------------------ file helpers


def idx_bytes(arr: np.ndarray) -> bytes:
    """The IDX encoding of a uint8 array: 00 00 08 ndim, big-endian sizes, the bytes."""
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    header = bytes([0, 0, 8, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    return header + arr.tobytes()


def synthetic_payloads(seed: int = 0) -> dict[str, bytes]:
    """Small MNIST-shaped payloads for the four files, keyed by their standard names."""
    rng = np.random.default_rng(seed)
    out = {}
    for split, (img_name, lab_name) in data.SPLITS.items():
        n = N_SYNTH[split]
        out[img_name] = idx_bytes(rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8))
        out[lab_name] = idx_bytes(rng.integers(0, 10, size=n, dtype=np.uint8))
    return out


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def write_files(folder: Path, payloads: dict[str, bytes], *, gz: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, payload in payloads.items():
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(payload, mtime=0))
        else:
            (folder / name).write_bytes(payload)


def files_in(folder: Path) -> list[str]:
    """Every entry in ``folder`` (hidden temporary files included)."""
    return sorted(os.listdir(folder)) if folder.exists() else []


@pytest.fixture
def payloads(monkeypatch):
    """Synthetic payloads, with SHA256 patched to their checksums."""
    p = synthetic_payloads()
    monkeypatch.setattr(data, "SHA256", {name: sha(b) for name, b in p.items()})
    monkeypatch.setattr(data, "SIZES", {name: len(b) for name, b in p.items()}, raising=False)
    return p


@pytest.fixture
def synth_dir(tmp_path, payloads):
    folder = tmp_path / "mnist"
    write_files(folder, payloads)
    return folder


@pytest.fixture(autouse=True)
def _no_env_data_dir(monkeypatch, request):
    """Synthetic tests must not see the real folder through $SESMLIB_DATA_DIR, nor a
    classroom mirror set in the caller's $SESMLIB_MNIST_MIRRORS."""
    if "mnist_dir" not in request.fixturenames:
        monkeypatch.delenv("SESMLIB_DATA_DIR", raising=False)
    monkeypatch.delenv("SESMLIB_MNIST_MIRRORS", raising=False)


# ------------------------------------------------------------------------- IDX parsing


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("shape", [(5,), (3, 28, 28), (2, 3, 4, 5)])
def test_read_idx_roundtrip(tmp_path, gz, shape):
    arr = np.random.default_rng(1).integers(0, 256, size=shape, dtype=np.uint8)
    payload = idx_bytes(arr)
    path = tmp_path / ("f.gz" if gz else "f")
    path.write_bytes(gzip.compress(payload) if gz else payload)
    out = read_idx(path, sha256=sha(payload))
    assert out.shape == shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out, arr)
    assert not out.flags.writeable


def test_read_idx_empty_dataset(tmp_path):
    path = tmp_path / "empty"
    path.write_bytes(idx_bytes(np.zeros((0, 28, 28), np.uint8)))
    assert read_idx(path).shape == (0, 28, 28)


BAD_IDX = {
    "wrong magic (not zero)": (b"\x12\x34\x08\x01" + b"\x00\x00\x00\x01" + b"\x05", "magic"),
    "wrong magic (type int32)": (b"\x00\x00\x0c\x01" + b"\x00\x00\x00\x01" + b"\x05\x00\x00\x00", "magic"),
    "zero dimensions": (b"\x00\x00\x08\x00", "magic"),
    "too short": (b"\x00\x00", "too short"),
    "empty": (b"", "too short"),
    "truncated header": (b"\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00", "truncated IDX header"),
    "truncated data": (idx_bytes(np.arange(10, dtype=np.uint8))[:-3], "truncated"),
    "trailing bytes": (idx_bytes(np.arange(10, dtype=np.uint8)) + b"\x00", "trailing"),
    "text file": (b"<html>Not Found</html>", "magic"),
}


@pytest.mark.parametrize("case", sorted(BAD_IDX))
def test_read_idx_rejects_bad_payload(tmp_path, case):
    payload, fragment = BAD_IDX[case]
    path = tmp_path / "bad-labels-idx1-ubyte"
    path.write_bytes(payload)
    with pytest.raises(MNISTFileError, match=fragment) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_read_idx_checks_sha(tmp_path):
    payload = idx_bytes(np.arange(10, dtype=np.uint8))
    path = tmp_path / "x"
    path.write_bytes(payload)
    with pytest.raises(MNISTFileError, match="sha256"):
        read_idx(path, sha256="0" * 64)
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nothing-here")


@pytest.mark.parametrize("damage", ["truncated", "bit flip"])
def test_read_idx_corrupt_gzip(tmp_path, damage):
    blob = bytearray(gzip.compress(idx_bytes(np.arange(5000, dtype=np.uint8) % 251)))
    if damage == "truncated":
        blob = blob[: len(blob) // 2]
    else:
        blob[len(blob) // 2] ^= 0xFF
    path = tmp_path / "c.gz"
    path.write_bytes(bytes(blob))
    with pytest.raises(MNISTFileError, match="gzip") as info:
        read_idx(path)
    assert str(path) in str(info.value)


# ------------------------------------------------------------------ load_mnist, synthetic


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("split", ["train", "test"])
def test_load_synthetic(tmp_path, payloads, gz, split):
    folder = tmp_path / "m"
    write_files(folder, payloads, gz=gz)
    X, y = load_mnist(split, root=folder, download=False)
    img_name, lab_name = data.SPLITS[split]
    images = np.frombuffer(payloads[img_name], np.uint8, offset=16).reshape(-1, 784)
    labels = np.frombuffer(payloads[lab_name], np.uint8, offset=8)
    assert X.shape == (N_SYNTH[split], 784) and X.dtype == torch.float32
    assert y.shape == (N_SYNTH[split],) and y.dtype == torch.int64
    torch.testing.assert_close(X, torch.from_numpy(images.astype(np.float32) / 255), rtol=0, atol=0)
    assert y.tolist() == labels.tolist()
    assert float(X.min()) >= 0 and float(X.max()) <= 1


def test_load_n_keeps_first_n(synth_dir):
    X, y = load_mnist("train", root=synth_dir)
    X3, y3 = load_mnist("train", 3, root=synth_dir)
    assert X3.shape == (3, 784)
    torch.testing.assert_close(X3, X[:3], rtol=0, atol=0)
    assert y3.tolist() == y[:3].tolist()
    Xall, _ = load_mnist("train", N_SYNTH["train"], root=synth_dir)
    assert Xall.shape[0] == N_SYNTH["train"]


def test_returned_tensors_are_private_copies(synth_dir):
    X1, y1 = load_mnist("train", root=synth_dir)
    expected_X, expected_y = X1.clone(), y1.clone()
    X1.fill_(7.0)
    y1.fill_(-1)
    X2, y2 = load_mnist("train", root=synth_dir)
    torch.testing.assert_close(X2, expected_X, rtol=0, atol=0)
    assert torch.equal(y2, expected_y)


def test_prefers_uncompressed_and_accepts_mixed(tmp_path, payloads):
    folder = tmp_path / "mixed"
    write_files(folder, {k: v for k, v in payloads.items() if "images" in k}, gz=False)
    write_files(folder, {k: v for k, v in payloads.items() if "labels" in k}, gz=True)
    X, y = load_mnist("test", root=folder, download=False)
    assert X.shape == (N_SYNTH["test"], 784) and y.shape == (N_SYNTH["test"],)


def test_replaced_file_is_verified_again(synth_dir, payloads):
    """The in-process cache is keyed by size and mtime: a file damaged after a good load
    is caught on the next load, never served from memory."""
    load_mnist("test", root=synth_dir)
    path = synth_dir / "t10k-labels-idx1-ubyte.gz"
    bad = bytearray(payloads["t10k-labels-idx1-ubyte"])
    bad[-1] = (bad[-1] + 1) % 10
    path.write_bytes(gzip.compress(bytes(bad), mtime=0))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    with pytest.raises(MNISTFileError, match="sha256") as info:
        load_mnist("test", root=synth_dir)
    assert "t10k-labels-idx1-ubyte.gz" in str(info.value)


def _damage(payload: bytes, how: str) -> bytes:
    if how == "wrong magic":
        return b"\x00\x00\x08\x07" + payload[4:]
    if how == "truncated":
        return payload[:-5]
    if how == "trailing bytes":
        return payload + b"\x00"
    if how == "image shape 27x28":
        n = (len(payload) - 16) // 784
        return idx_bytes(np.frombuffer(payload, np.uint8, offset=16)[: n * 27 * 28].reshape(n, 27, 28))
    raise AssertionError(how)


@pytest.mark.parametrize("how,fragment", [
    ("wrong magic", "magic"),
    ("truncated", "truncated"),
    ("trailing bytes", "trailing"),
    ("image shape 27x28", r"shape \(N, 28, 28\)"),
])
@pytest.mark.parametrize("gz", [True, False])
def test_bad_structure_names_the_file(tmp_path, payloads, monkeypatch, how, fragment, gz):
    """Structural checks fire even when the checksum matches the damaged payload."""
    name = "train-images-idx3-ubyte"
    bad = _damage(payloads[name], how)
    folder = tmp_path / "m"
    write_files(folder, {**payloads, name: bad}, gz=gz)
    monkeypatch.setitem(data.SHA256, name, sha(bad))
    with pytest.raises(MNISTFileError, match=fragment) as info:
        load_mnist("train", root=folder, download=False)
    assert name in str(info.value)


def test_bad_checksum_names_the_file(tmp_path, payloads):
    name = "train-labels-idx1-ubyte"
    bad = bytearray(payloads[name])
    bad[10] = (bad[10] + 1) % 10
    folder = tmp_path / "m"
    write_files(folder, {**payloads, name: bytes(bad)})
    with pytest.raises(MNISTFileError, match="sha256") as info:
        load_mnist("train", root=folder, download=True)  # a bad file is reported, never silently replaced
    assert f"{name}.gz" in str(info.value)


def test_label_out_of_range(tmp_path, payloads, monkeypatch):
    name = "t10k-labels-idx1-ubyte"
    bad = idx_bytes(np.array([1, 2, 10, 3], dtype=np.uint8))
    folder = tmp_path / "m"
    write_files(folder, {**payloads, name: bad})
    monkeypatch.setitem(data.SHA256, name, sha(bad))
    with pytest.raises(MNISTFileError, match="outside 0..9"):
        load_mnist("test", root=folder)


def test_image_label_count_mismatch(tmp_path, payloads, monkeypatch):
    name = "t10k-labels-idx1-ubyte"
    bad = idx_bytes(np.array([1, 2, 3], dtype=np.uint8))  # 3 labels for 4 images
    folder = tmp_path / "m"
    write_files(folder, {**payloads, name: bad})
    monkeypatch.setitem(data.SHA256, name, sha(bad))
    with pytest.raises(MNISTFileError, match="4 images but .* 3 labels"):
        load_mnist("test", root=folder)


@pytest.mark.parametrize("kwargs,exc,fragment", [
    ({"split": "validation"}, ValueError, "split"),
    ({"split": "TRAIN"}, ValueError, "split"),
    ({"split": 1}, TypeError, "split"),
    ({"n": 0}, ValueError, "n must"),
    ({"n": -3}, ValueError, "n must"),
    ({"n": 2.5}, TypeError, "n must"),
    ({"n": "5"}, TypeError, "n must"),
    ({"n": True}, TypeError, "n must"),
    ({"n": 10_000}, ValueError, "n=10000"),
    ({"root": 123}, TypeError, "root"),
    ({"download": "yes"}, TypeError, "download"),
])
def test_bad_arguments(synth_dir, kwargs, exc, fragment):
    kwargs = {"split": "train", "root": synth_dir, **kwargs}
    split = kwargs.pop("split")
    with pytest.raises(exc, match=fragment):
        load_mnist(split, **kwargs)


# ---------------------------------------------------------------- folders, missing files


def test_search_order(tmp_path, payloads, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    write_files(a, payloads)
    pa = synthetic_payloads(seed=5)  # different contents in b
    write_files(b, pa)
    monkeypatch.setenv("SESMLIB_DATA_DIR", str(b))
    Xa, _ = load_mnist("test", root=a)  # root wins over the env var
    assert torch.equal(Xa[0], torch.from_numpy(np.frombuffer(payloads["t10k-images-idx3-ubyte"], np.uint8, offset=16)[:784].astype(np.float32) / 255))
    monkeypatch.setattr(data, "SHA256", {k: sha(v) for k, v in pa.items()})
    Xb, _ = load_mnist("test")  # then $SESMLIB_DATA_DIR
    assert not torch.equal(Xa, Xb)
    assert data.mnist_dir() == b and data.mnist_dir(a) == a
    monkeypatch.delenv("SESMLIB_DATA_DIR")
    assert data.mnist_dir() == Path(os.environ["SESMLIB_CACHE_DIR"]) / "mnist"  # then the cache


def test_default_cache_folder(monkeypatch, payloads):
    cache = Path(os.environ["SESMLIB_CACHE_DIR"])
    write_files(cache / "mnist", payloads)
    X, _ = load_mnist("train")
    assert X.shape == (N_SYNTH["train"], 784)


def test_missing_offline_one_clear_error_creates_nothing(tmp_path):
    cache = Path(os.environ["SESMLIB_CACHE_DIR"])
    before = files_in(cache)
    with pytest.raises(MNISTNotFoundError) as info:
        load_mnist("train", download=False)
    msg = str(info.value)
    assert str(cache / "mnist") in msg
    assert all(name in msg for name in FOUR)
    assert files_in(cache) == before, "looking for the files must not create folders"
    assert isinstance(info.value, FileNotFoundError)


def test_one_file_missing_names_it(synth_dir):
    (synth_dir / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(MNISTNotFoundError) as info:
        load_mnist("train", root=synth_dir, download=False)
    msg = str(info.value)
    assert str(synth_dir) in msg and "train-labels-idx1-ubyte" in msg and all(n in msg for n in FOUR)
    load_mnist("test", root=synth_dir, download=False)  # the other split is still fine


# ------------------------------------------------------------------ local HTTP mirrors


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.routes[path] = (mode, body, arg)``; anything else is a 404.

    Modes: "ok"; "slow" (sleep ``arg`` s before the headers); "no-length"; "truncated"
    (half the body, then close); "trickle" (one byte every ``arg[0]`` s, closing after
    ``arg[1]`` s); "endless" (zeros without Content-Length, up to ``arg`` bytes);
    "big-length" (announces ``arg`` bytes, sends the body, closes).
    """

    def do_GET(self):  # noqa: N802 (http.server naming)
        self.server.log.append(self.path)
        mode, body, arg = self.server.routes.get(self.path, ("404", b"", None))
        try:
            if mode == "404":
                self.send_error(404)
                return
            if mode == "slow":
                time.sleep(arg)
            self.send_response(200)
            self.send_header("Content-Type", "application/gzip")
            if mode == "big-length":
                self.send_header("Content-Length", str(arg))
            elif mode not in ("no-length", "endless"):
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if mode == "trickle":
                interval, give_up = arg
                start = time.monotonic()
                for i in range(len(body)):
                    if time.monotonic() - start > give_up:
                        break
                    self.wfile.write(body[i : i + 1])
                    self.wfile.flush()
                    time.sleep(interval)
                self.close_connection = True
                return
            if mode == "endless":
                block, sent = bytes(1 << 16), 0
                while sent < arg:
                    self.wfile.write(block)
                    sent += len(block)
                self.close_connection = True
                return
            if mode == "truncated":
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):  # keep test output quiet
        pass


@pytest.fixture
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    srv.block_on_close = False
    srv.routes, srv.log = {}, []
    srv.base = f"http://127.0.0.1:{srv.server_address[1]}"
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def _serve(srv, mirror: str, payloads: dict[str, bytes], mode: str = "ok", arg=None, names=None):
    for name in names or payloads:
        srv.routes[f"/{mirror}/{name}.gz"] = (mode, gzip.compress(payloads[name], mtime=0), arg)
    return f"{srv.base}/{mirror}/"


@pytest.fixture
def quiet_fast(monkeypatch):
    monkeypatch.setattr(data, "TIMEOUT", 0.5)


def _assert_nothing_trusted(folder: Path):
    assert files_in(folder) == [], f"left behind: {files_in(folder)}"


def test_download_good(tmp_path, server, payloads, monkeypatch, quiet_fast):
    monkeypatch.setattr(data, "MIRRORS", [_serve(server, "good", payloads)])
    folder = tmp_path / "dl"
    X, y = load_mnist("test", root=folder)
    assert X.shape == (N_SYNTH["test"], 784)
    assert files_in(folder) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert gzip.decompress((folder / "t10k-labels-idx1-ubyte.gz").read_bytes()) == payloads["t10k-labels-idx1-ubyte"]
    n_requests = len(server.log)
    load_mnist("test", root=folder)  # present and verified: nothing fetched again
    assert len(server.log) == n_requests == 2


def test_download_into_default_cache(server, payloads, monkeypatch, quiet_fast):
    monkeypatch.setattr(data, "MIRRORS", [_serve(server, "good", payloads)])
    X, _ = load_mnist("train")
    cache = Path(os.environ["SESMLIB_CACHE_DIR"]) / "mnist"
    assert files_in(cache) == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    assert X.shape == (N_SYNTH["train"], 784)


def test_download_bad_checksum(tmp_path, server, payloads, monkeypatch, quiet_fast):
    wrong = dict(payloads)
    lab = bytearray(wrong["t10k-labels-idx1-ubyte"])
    lab[-1] = (lab[-1] + 1) % 10
    wrong["t10k-labels-idx1-ubyte"] = bytes(lab)
    monkeypatch.setattr(data, "MIRRORS", [_serve(server, "evil", wrong)])
    folder = tmp_path / "dl"
    with pytest.raises(MNISTNotFoundError, match="sha256") as info:
        load_mnist("test", root=folder)
    assert str(folder) in str(info.value)
    # the image file was good and may stay; the bad label file must not exist in any form
    assert files_in(folder) == ["t10k-images-idx3-ubyte.gz"]


def test_download_404_then_second_mirror(tmp_path, server, payloads, monkeypatch, quiet_fast):
    good = _serve(server, "second", payloads)
    monkeypatch.setattr(data, "MIRRORS", [f"{server.base}/first/", good])
    folder = tmp_path / "dl"
    X, y = load_mnist("train", root=folder)
    assert y.shape == (N_SYNTH["train"],)
    assert server.log == [
        "/first/train-images-idx3-ubyte.gz", "/second/train-images-idx3-ubyte.gz",
        "/first/train-labels-idx1-ubyte.gz", "/second/train-labels-idx1-ubyte.gz",
    ]
    assert files_in(folder) == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]


@pytest.mark.parametrize("mode", ["truncated", "no-length-truncated"])
def test_download_truncated_body(tmp_path, server, payloads, monkeypatch, quiet_fast, mode):
    if mode == "truncated":
        base = _serve(server, "cut", payloads, mode="truncated")
    else:  # no Content-Length: the gzip stream itself must reveal the cut
        cut = {k: v for k, v in payloads.items()}
        base = f"{server.base}/cut/"
        for name, payload in cut.items():
            blob = gzip.compress(payload, mtime=0)
            server.routes[f"/cut/{name}.gz"] = ("no-length", blob[: len(blob) // 2], None)
    monkeypatch.setattr(data, "MIRRORS", [base])
    folder = tmp_path / "dl"
    with pytest.raises(MNISTNotFoundError) as info:
        load_mnist("train", root=folder)
    assert "truncated" in str(info.value)
    _assert_nothing_trusted(folder)


def test_download_slower_than_timeout(tmp_path, server, payloads, monkeypatch):
    monkeypatch.setattr(data, "TIMEOUT", 0.3)
    monkeypatch.setattr(data, "MIRRORS", [_serve(server, "slow", payloads, mode="slow", arg=1.5)])
    folder = tmp_path / "dl"
    start = time.perf_counter()
    with pytest.raises(MNISTNotFoundError, match="timed out|[Tt]imeout") as info:
        load_mnist("test", root=folder)
    assert time.perf_counter() - start < 5  # two files, each given up after ~0.3 s
    assert all(n in str(info.value) for n in FOUR)
    _assert_nothing_trusted(folder)


def test_download_all_mirrors_fail_then_recover(tmp_path, server, payloads, monkeypatch, quiet_fast):
    monkeypatch.setattr(data, "MIRRORS", [f"{server.base}/a/", f"{server.base}/b/"])
    folder = tmp_path / "dl"
    with pytest.raises(MNISTNotFoundError) as info:
        load_mnist("test", root=folder)
    msg = str(info.value)
    assert msg.count("HTTP 404") == 4 and all(n in msg for n in FOUR)
    _assert_nothing_trusted(folder)
    monkeypatch.setattr(data, "MIRRORS", [_serve(server, "good", payloads)])
    X, _ = load_mnist("test", root=folder)  # a later call with a working mirror succeeds
    assert X.shape == (N_SYNTH["test"], 784)


def test_interrupted_download_leaves_nothing(tmp_path, server, payloads, monkeypatch, quiet_fast):
    class Boom:
        def update(self, n):
            raise KeyboardInterrupt

        def close(self):
            pass

    monkeypatch.setattr(data, "progress", lambda *a, **k: Boom())
    monkeypatch.setattr(data, "MIRRORS", [_serve(server, "good", payloads)])
    folder = tmp_path / "dl"
    with pytest.raises(KeyboardInterrupt):
        load_mnist("test", root=folder)
    _assert_nothing_trusted(folder)


@pytest.fixture
def small_window(monkeypatch, quiet_fast):
    """A 1000 B/s floor over a 0.2 s window, so a trickle is caught in a fraction of a second."""
    monkeypatch.setattr(data, "MIN_RATE", 1000.0, raising=False)
    monkeypatch.setattr(data, "RATE_WINDOW", 0.2, raising=False)


def _serve_trickle(srv, mirror, payloads, interval=0.02, give_up=3.0):
    """About 50 B/s; the server itself gives up after ``give_up`` s so a loader without a
    rate floor fails (truncated) instead of hanging."""
    return _serve(srv, mirror, payloads, mode="trickle", arg=(interval, give_up))


def test_download_trickle_abandoned(tmp_path, server, payloads, monkeypatch, small_window):
    monkeypatch.setattr(data, "MIRRORS", [_serve_trickle(server, "drip", payloads)])
    folder = tmp_path / "dl"
    with pytest.raises(MNISTNotFoundError) as info:
        load_mnist("test", root=folder)
    msg = str(info.value)
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        assert f"{server.base}/drip/{name}.gz: abandoned: too slow" in msg
    assert "1000 B/s" in msg and "SESMLIB_MNIST_MIRRORS" in msg and str(folder) in msg
    _assert_nothing_trusted(folder)


def test_download_trickle_then_next_mirror(tmp_path, server, payloads, monkeypatch, small_window):
    monkeypatch.setattr(data, "MIRRORS", [_serve_trickle(server, "drip", payloads), _serve(server, "good", payloads)])
    folder = tmp_path / "dl"
    X, _ = load_mnist("test", root=folder)
    assert X.shape == (N_SYNTH["test"], 784)
    assert server.log == [
        "/drip/t10k-images-idx3-ubyte.gz", "/good/t10k-images-idx3-ubyte.gz",
        "/drip/t10k-labels-idx1-ubyte.gz", "/good/t10k-labels-idx1-ubyte.gz",
    ]
    assert files_in(folder) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


def test_download_deadline(tmp_path, server, payloads, monkeypatch, quiet_fast):
    """Fast enough for the rate floor, but the whole file takes longer than DEADLINE."""
    monkeypatch.setattr(data, "MIN_RATE", 1.0, raising=False)
    monkeypatch.setattr(data, "RATE_WINDOW", 0.1, raising=False)
    monkeypatch.setattr(data, "DEADLINE", 0.3, raising=False)
    monkeypatch.setattr(data, "MIRRORS", [_serve_trickle(server, "drip", payloads)])
    folder = tmp_path / "dl"
    with pytest.raises(MNISTNotFoundError) as info:
        load_mnist("test", root=folder)
    assert "abandoned: still downloading after 0.3 s" in str(info.value)
    _assert_nothing_trusted(folder)


def test_download_endless_body(tmp_path, server, payloads, monkeypatch, quiet_fast):
    """No Content-Length and a body that never ends: stopped at the most a .gz of the known
    size can hold (the server stops at 16 MB, so a loader without a cap fails, not hangs)."""
    base = f"{server.base}/endless/"
    for name in payloads:
        server.routes[f"/endless/{name}.gz"] = ("endless", b"", 16 << 20)
    monkeypatch.setattr(data, "MIRRORS", [base])
    folder = tmp_path / "dl"
    with pytest.raises(MNISTNotFoundError) as info:
        load_mnist("test", root=folder)
    msg = str(info.value)
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        assert f"{base}{name}.gz: abandoned: sent more than" in msg
        assert f"sent more than {data._max_body(len(payloads[name]))} bytes" in msg
    _assert_nothing_trusted(folder)


@pytest.mark.parametrize("how,fragment", [
    ("payload too long", "decompresses to more than"),
    ("announced too long", "abandoned: announces"),
])
def test_download_wrong_size(tmp_path, server, payloads, monkeypatch, quiet_fast, how, fragment):
    name = "t10k-labels-idx1-ubyte"
    base = f"{server.base}/wrong/"
    _serve(server, "wrong", payloads, names=["t10k-images-idx3-ubyte"])
    if how == "payload too long":  # a valid gzip of the right file plus 100 kB
        server.routes[f"/wrong/{name}.gz"] = ("ok", gzip.compress(payloads[name] + bytes(100_000)), None)
    else:
        server.routes[f"/wrong/{name}.gz"] = ("big-length", gzip.compress(payloads[name]), 10**9)
    monkeypatch.setattr(data, "MIRRORS", [base])
    folder = tmp_path / "dl"
    with pytest.raises(MNISTNotFoundError) as info:
        load_mnist("test", root=folder)
    msg = str(info.value)
    assert f"{base}{name}.gz: {fragment}" in msg and f"{len(payloads[name])} bytes" in msg
    assert files_in(folder) == ["t10k-images-idx3-ubyte.gz"]


def test_empty_mirror_list(tmp_path, server, monkeypatch, payloads):
    folder = tmp_path / "dl"
    monkeypatch.setattr(data, "MIRRORS", [])
    with pytest.raises(MNISTNotFoundError) as info:
        load_mnist("test", root=folder)
    msg = str(info.value)
    assert "sesmlib.data.MIRRORS is empty" in msg and "SESMLIB_MNIST_MIRRORS" in msg and str(folder) in msg
    assert not folder.exists()
    # the variable set but empty (or only commas) wins over a non-empty MIRRORS
    monkeypatch.setattr(data, "MIRRORS", [f"{server.base}/never/"])
    for value in ("", " , ,"):
        monkeypatch.setenv("SESMLIB_MNIST_MIRRORS", value)
        with pytest.raises(MNISTNotFoundError, match=r"\$SESMLIB_MNIST_MIRRORS is set but holds no URL"):
            load_mnist("test", root=folder)
    assert server.log == [] and not folder.exists()


@pytest.mark.parametrize("value", ["ftp://example.org/mnist/", "example.org/mnist", "http://"])
def test_env_mirror_bad_url(tmp_path, server, monkeypatch, payloads, value):
    monkeypatch.setattr(data, "MIRRORS", [f"{server.base}/never/"])
    monkeypatch.setenv("SESMLIB_MNIST_MIRRORS", value)
    with pytest.raises(ValueError, match=r"\$SESMLIB_MNIST_MIRRORS") as info:
        load_mnist("test", root=tmp_path / "dl")
    assert repr(value) in str(info.value)
    assert server.log == []


def test_env_mirrors(tmp_path, server, payloads, monkeypatch, quiet_fast):
    monkeypatch.setattr(data, "MIRRORS", [f"{server.base}/never/"])
    good = _serve(server, "class", payloads).rstrip("/")  # no trailing slash: added
    monkeypatch.setenv("SESMLIB_MNIST_MIRRORS", f" {server.base}/gone/ ,{good}")
    folder = tmp_path / "dl"
    X, _ = load_mnist("test", root=folder)
    assert X.shape == (N_SYNTH["test"], 784)
    assert server.log == [
        "/gone/t10k-images-idx3-ubyte.gz", "/class/t10k-images-idx3-ubyte.gz",
        "/gone/t10k-labels-idx1-ubyte.gz", "/class/t10k-labels-idx1-ubyte.gz",
    ]


def test_downloaded_files_readable_as_umask_allows(tmp_path, server, payloads, monkeypatch, quiet_fast):
    """0644 under umask 022 (a shared folder filled by an instructor is readable by the
    students), 0664 under 002, 0600 under 077."""
    monkeypatch.setattr(data, "MIRRORS", [_serve(server, "good", payloads)])
    old = os.umask(0o022)
    try:
        for umask, mode in [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)]:
            os.umask(umask)
            folder = tmp_path / f"dl{umask:03o}"
            load_mnist("test", root=folder)
            for entry in files_in(folder):
                got = (folder / entry).stat().st_mode & 0o777
                assert got == mode, f"umask {umask:03o}: {entry} has mode {got:03o}, expected {mode:03o}"
    finally:
        os.umask(old)


# ---------------------------------------------------------------------------------- CLI


def test_cli_ok(synth_dir, capsys):
    assert data.main(["--root", str(synth_dir), "--no-download"]) == 0
    out = capsys.readouterr().out
    assert str(synth_dir) in out and out.count(" ok ") == 4


def test_cli_missing_and_bad(synth_dir, capsys):
    (synth_dir / "t10k-images-idx3-ubyte.gz").unlink()
    assert data.main(["--root", str(synth_dir), "--no-download"]) == 1
    captured = capsys.readouterr()
    assert "MISSING  t10k-images-idx3-ubyte" in captured.out and str(synth_dir) in captured.err
    (synth_dir / "train-labels-idx1-ubyte.gz").write_bytes(b"garbage")
    assert data.main(["--root", str(synth_dir), "--no-download"]) == 1
    assert "BAD      train-labels-idx1-ubyte.gz" in capsys.readouterr().out


def test_cli_fetches(tmp_path, server, payloads, monkeypatch, capsys, quiet_fast):
    monkeypatch.setattr(data, "MIRRORS", [_serve(server, "good", payloads)])
    folder = tmp_path / "fresh"
    assert data.main(["--root", str(folder)]) == 0
    assert files_in(folder) == sorted(f"{n}.gz" for n in FOUR)
    assert "verified" in capsys.readouterr().out


def test_cli_mirror_flag(tmp_path, server, payloads, monkeypatch, capsys, quiet_fast):
    """--mirror (repeatable) wins over $SESMLIB_MNIST_MIRRORS and sesmlib.data.MIRRORS."""
    monkeypatch.setattr(data, "MIRRORS", [f"{server.base}/never/"])
    monkeypatch.setenv("SESMLIB_MNIST_MIRRORS", f"{server.base}/nor-this/")
    folder = tmp_path / "fresh"
    good = _serve(server, "class", payloads)
    assert data.main(["--root", str(folder), "--mirror", f"{server.base}/gone/", "--mirror", good]) == 0
    assert files_in(folder) == sorted(f"{n}.gz" for n in FOUR)
    assert sorted({p.split("/")[1] for p in server.log}) == ["class", "gone"]
    assert "2 mirror(s) (--mirror)" in capsys.readouterr().out


def test_cli_mirror_errors(tmp_path, server, monkeypatch, capsys):
    monkeypatch.setattr(data, "MIRRORS", [f"{server.base}/never/"])
    folder = tmp_path / "fresh"
    with pytest.raises(SystemExit) as info:
        data.main(["--root", str(folder), "--mirror", "not-a-url"])
    assert info.value.code == 2 and "--mirror" in capsys.readouterr().err
    monkeypatch.setenv("SESMLIB_MNIST_MIRRORS", "")
    assert data.main(["--root", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "$SESMLIB_MNIST_MIRRORS is set but holds no URL" in err and "Traceback" not in err
    monkeypatch.setenv("SESMLIB_MNIST_MIRRORS", "ftp://x/")
    assert data.main(["--root", str(folder)]) == 1
    assert "$SESMLIB_MNIST_MIRRORS" in capsys.readouterr().err
    assert server.log == []


def test_cli_via_module_dispatch(synth_dir):
    from sesmlib.__main__ import main as cli

    assert cli(["data", "--root", str(synth_dir), "--no-download"]) == 0
    assert cli(["data", "--root", str(synth_dir / "nope"), "--no-download"]) == 1


# --------------------------------------------------------------------- real MNIST files

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.mnist
def test_real_train(mnist_dir):
    X, y = load_mnist("train", root=mnist_dir, download=False)
    assert X.shape == (60000, 784) and X.dtype == torch.float32
    assert y.shape == (60000,) and y.dtype == torch.int64
    assert y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert np.bincount(y.numpy(), minlength=10).tolist() == TRAIN_COUNTS
    assert float(X.min()) == 0.0 and float(X.max()) == 1.0
    assert abs(float(X.double().mean()) - 0.1307) <= 0.0005
    assert abs(float(X.double().std()) - 0.3081) <= 0.0005


@pytest.mark.mnist
def test_real_test(mnist_dir):
    X, y = load_mnist("test", download=False)  # found through $SESMLIB_DATA_DIR
    assert X.shape == (10000, 784) and y.shape == (10000,)
    assert y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(y.numpy(), minlength=10).tolist() == TEST_COUNTS
    assert 0.0 <= float(X.min()) and float(X.max()) <= 1.0


@pytest.mark.mnist
def test_real_first_n(mnist_dir):
    X, y = load_mnist("train", 20000, root=mnist_dir)
    Xall, yall = load_mnist("train", root=mnist_dir)
    assert X.shape == (20000, 784) and y.shape == (20000,)
    assert torch.equal(X, Xall[:20000]) and torch.equal(y, yall[:20000])


@pytest.mark.mnist
def test_real_cli(mnist_dir, capsys):
    assert data.main(["--root", str(mnist_dir), "--no-download"]) == 0
    assert capsys.readouterr().out.count(" ok ") == 4


# ----------------------------------------------------------------------------- patches


def test_patches_shape_range_determinism():
    P = load_patches(2000, 8, seed=3)
    assert P.shape == (2000, 64) and P.dtype == torch.float32
    assert float(P.min()) >= 0.0 and float(P.max()) <= 1.7 + 1e-6
    assert float(P.max()) > 1.5 and float(P.min()) < 0.2  # the photo spans the range
    assert float(P.mean()) > 0.2  # no mean removal (the paper keeps the mean)
    assert torch.equal(P, load_patches(2000, 8, seed=3))
    assert not torch.equal(P, load_patches(2000, 8, seed=4))


def test_patches_scale_and_size():
    P1 = load_patches(500, 5, scale=1.0, seed=0)
    P2 = load_patches(500, 5, scale=2.0, seed=0)
    assert P1.shape == (500, 25)
    torch.testing.assert_close(P2, 2 * P1)


def test_patches_look_like_a_photograph():
    """Neighbouring pixels of natural-image patches are strongly correlated; shuffled
    pixels are not."""
    P = load_patches(5000, 8, seed=0).view(-1, 8, 8)
    left, right = P[:, :, :-1].reshape(-1), P[:, :, 1:].reshape(-1)
    corr = torch.corrcoef(torch.stack([left, right]))[0, 1]
    assert corr > 0.8
    shuffled = right[torch.randperm(right.numel(), generator=torch.Generator().manual_seed(0))]
    assert abs(torch.corrcoef(torch.stack([left, shuffled]))[0, 1]) < 0.1


@pytest.mark.parametrize("kwargs,exc", [
    ({"n": 0}, ValueError),
    ({"n": 1.5}, TypeError),
    ({"size": 0}, ValueError),
    ({"size": 10_000}, ValueError),
    ({"scale": -1.0}, ValueError),
    ({"scale": 0}, ValueError),
    ({"scale": float("nan")}, ValueError),
    ({"seed": "a"}, TypeError),
    ({"seed": -1}, ValueError),
])
def test_patches_bad_arguments(kwargs, exc):
    with pytest.raises(exc, match=rf"^{next(iter(kwargs))}\b"):
        load_patches(**{"n": 10, **kwargs})
