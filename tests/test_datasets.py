"""Tests for skl_sparse_ae.datasets; none of them touches the network."""

import gzip
import hashlib
import io
import json
import os
import re
import struct
import sys
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

import numpy as np
import pytest
import sklearn.datasets._openml
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.utils import Bunch

from skl_sparse_ae import datasets
from skl_sparse_ae.datasets import _read_idx, load_mnist, write_idx

MNIST_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

REAL_MNIST_DIR = Path(
    os.environ.get(
        "SKL_SPARSE_AE_MNIST_DIR",
        Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist",
    )
)


def idx_bytes(type_code, shape, payload):
    """Build an IDX file by hand, following the format specification."""
    header = bytes([0, 0, type_code, len(shape)])
    header += b"".join(struct.pack(">I", size) for size in shape)
    return header + payload


def write_tiny_mnist(folder, n_train=5, n_test=3, image_shape=(28, 28), suffix=""):
    """Write a tiny MNIST copy with random pixels; return its arrays."""
    rng = np.random.default_rng(0)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, *image_shape), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, *image_shape), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    # Make the extremes appear so that the scaling to [0, 1] is checked.
    arrays["train_images"][0, 0, :2] = [0, 255]
    for key, array in arrays.items():
        write_idx(Path(folder) / (MNIST_NAMES[key] + suffix), array)
    return arrays


# write_idx and _read_idx


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_write_idx_follows_the_format(tmp_path, suffix):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / f"array-idx3-ubyte{suffix}"
    write_idx(path, array)

    content = path.read_bytes()
    if suffix:
        content = gzip.decompress(content)
    assert content == idx_bytes(0x08, (2, 3, 4), bytes(range(24)))


def test_write_idx_is_big_endian(tmp_path):
    path = tmp_path / "values.idx"
    write_idx(path, np.array([[1, -2], [300, -32768]], dtype=np.int16))
    assert path.read_bytes() == idx_bytes(
        0x0B, (2, 2), struct.pack(">4h", 1, -2, 300, -32768)
    )


def test_write_idx_gzip_output_is_reproducible(tmp_path):
    array = np.arange(10, dtype=np.uint8)
    write_idx(tmp_path / "a.gz", array)
    write_idx(tmp_path / "b.gz", array)
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()


@pytest.mark.parametrize(
    "type_code, struct_format, dtype",
    [
        (0x08, "B", np.uint8),
        (0x09, "b", np.int8),
        (0x0B, "h", np.int16),
        (0x0C, "i", np.int32),
        (0x0D, "f", np.float32),
        (0x0E, "d", np.float64),
    ],
)
def test_read_idx_hand_built_file(tmp_path, type_code, struct_format, dtype):
    values = [0, 1, 2, 3, 4, 5] if struct_format == "B" else [0, -1, 2, -3, 4, 100]
    path = tmp_path / "values.idx"
    payload = struct.pack(f">6{struct_format}", *values)
    path.write_bytes(idx_bytes(type_code, (3, 2), payload))

    array = _read_idx(path)
    assert array.dtype == np.dtype(dtype)
    assert array.dtype.isnative
    assert_array_equal(array, np.array(values, dtype=dtype).reshape(3, 2))


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize(
    "dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]
)
def test_write_read_idx_round_trip(tmp_path, dtype, suffix):
    array = (np.arange(-30, 30) % 100).astype(dtype).reshape(3, 4, 5)
    path = tmp_path / f"array.idx{suffix}"
    write_idx(path, array)
    result = _read_idx(path)
    assert result.dtype == array.dtype
    assert_array_equal(result, array)


def test_write_read_idx_round_trip_non_contiguous_and_big_endian(tmp_path):
    array = np.arange(12, dtype=">i4").reshape(3, 4).T
    write_idx(tmp_path / "array.idx", array)
    assert_array_equal(_read_idx(tmp_path / "array.idx"), array)


@pytest.mark.parametrize(
    "array, match",
    [
        (np.arange(3, dtype=np.int64), "Cannot store dtype int64"),
        (np.array([True, False]), "Cannot store dtype bool"),
        (np.uint8(3), "1 to 255 dimensions, got 0"),
    ],
)
def test_write_idx_rejects_what_idx_cannot_store(tmp_path, array, match):
    with pytest.raises(ValueError, match=match):
        write_idx(tmp_path / "array.idx", array)
    assert not (tmp_path / "array.idx").exists()


# load_mnist from a folder of IDX files


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_load_mnist_from_idx_files(tmp_path, suffix):
    arrays = write_tiny_mnist(tmp_path, n_train=5, n_test=3, suffix=suffix)
    mnist = load_mnist(tmp_path)

    assert mnist.data.shape == (8, 784)
    assert mnist.data.dtype == np.float32
    assert mnist.data.min() == 0 and mnist.data.max() == 1
    expected = np.concatenate([arrays["train_images"], arrays["test_images"]])
    assert_allclose(mnist.data, expected.reshape(8, 784) / 255, rtol=1e-6)
    assert mnist.target.dtype == np.int64
    assert_array_equal(
        mnist.target, np.concatenate([arrays["train_labels"], arrays["test_labels"]])
    )

    assert mnist.X_train.shape == (5, 784) and mnist.X_test.shape == (3, 784)
    assert_array_equal(mnist.y_train, arrays["train_labels"])
    assert_array_equal(mnist.y_test, arrays["test_labels"])
    assert_allclose(mnist.X_test, arrays["test_images"].reshape(3, 784) / 255)
    for view in (mnist.X_train, mnist.X_test, mnist.images):
        assert np.shares_memory(view, mnist.data)
    for view in (mnist.y_train, mnist.y_test):
        assert np.shares_memory(view, mnist.target)
    assert mnist.images.shape == (8, 28, 28)
    assert_allclose(mnist.images[6], arrays["test_images"][1] / 255)

    assert mnist.feature_names[0] == "pixel1" and len(mnist.feature_names) == 784
    assert "5 training images" in mnist.DESCR
    assert str(tmp_path.resolve()) in mnist.DESCR


def test_load_mnist_mixed_compression_other_image_size_and_str_path(tmp_path):
    arrays = write_tiny_mnist(tmp_path, n_train=4, n_test=2, image_shape=(3, 5))
    (tmp_path / MNIST_NAMES["train_images"]).unlink()
    write_idx(tmp_path / (MNIST_NAMES["train_images"] + ".gz"), arrays["train_images"])

    mnist = load_mnist(str(tmp_path), dtype=np.float64)
    assert mnist.data.dtype == np.float64
    assert mnist.data.shape == (6, 15)
    assert mnist.images.shape == (6, 3, 5)
    assert_array_equal(mnist.X_train * 255, arrays["train_images"].reshape(4, 15))


def test_load_mnist_prefers_the_raw_file_when_both_exist(tmp_path):
    write_tiny_mnist(tmp_path, n_train=4, suffix=".gz")
    raw_labels = np.array([1, 2, 3, 4], dtype=np.uint8)
    write_idx(tmp_path / MNIST_NAMES["train_labels"], raw_labels)
    assert_array_equal(load_mnist(tmp_path).y_train, raw_labels)


@pytest.mark.parametrize("dtype", [np.int64, np.uint8, "bool"])
def test_load_mnist_rejects_non_floating_dtype(tmp_path, dtype):
    write_tiny_mnist(tmp_path)
    with pytest.raises(ValueError, match="dtype must be a floating dtype"):
        load_mnist(tmp_path, dtype=dtype)


def _tiny_images_payload(n_images=5):
    return bytes(n_images * 28 * 28)


def _good_images_gz():
    return gzip.compress(idx_bytes(0x08, (5, 28, 28), _tiny_images_payload()))


MALFORMED_TRAIN_IMAGES = {
    "bad magic": (
        b"\x01" + idx_bytes(0x08, (5, 28, 28), _tiny_images_payload())[1:],
        "not an IDX file: the first two bytes must be zero, found 0x0100",
    ),
    "unknown type code": (
        idx_bytes(0x0A, (5, 28, 28), _tiny_images_payload()),
        "unknown IDX type code 0x0A",
    ),
    "no dimension": (idx_bytes(0x08, (), b""), "declares 0 dimensions"),
    "file too short": (b"\x00\x00", "too short for an IDX header"),
    "truncated header": (
        idx_bytes(0x08, (5, 28, 28), b"")[:10],
        "truncated IDX header: 3 dimensions need a 16-byte header, found 10",
    ),
    "truncated data": (
        idx_bytes(0x08, (5, 28, 28), bytes(1000)),
        "expected 3920 bytes of data after the 16-byte header .* found 1000",
    ),
    "extra data": (
        idx_bytes(0x08, (5, 28, 28), _tiny_images_payload() + b"\x00"),
        "expected 3920 bytes of data .* found 3921",
    ),
    "images not 3-D": (
        idx_bytes(0x08, (5, 784), _tiny_images_payload()),
        r"expected a 3-D array of images .* found shape \(5, 784\)",
    ),
    "images not unsigned bytes": (
        idx_bytes(0x0B, (5, 28, 28), 2 * _tiny_images_payload()),
        "expected unsigned byte pixels",
    ),
    "count mismatch": (
        idx_bytes(0x08, (4, 28, 28), _tiny_images_payload(4)),
        r"holds 4 images but .*train-labels-idx1-ubyte(\.gz)? holds 5 labels",
    ),
    "image size mismatch": (
        idx_bytes(0x08, (5, 28, 27), bytes(5 * 28 * 27)),
        r"are \(28, 27\) pixels but those of .*t10k-images-idx3-ubyte",
    ),
}


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize(
    "content, match", MALFORMED_TRAIN_IMAGES.values(), ids=MALFORMED_TRAIN_IMAGES
)
def test_load_mnist_malformed_images_file(tmp_path, suffix, content, match):
    write_tiny_mnist(tmp_path, n_train=5, suffix=suffix)
    path = tmp_path / (MNIST_NAMES["train_images"] + suffix)
    path.write_bytes(gzip.compress(content) if suffix else content)

    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*" + match):
        load_mnist(tmp_path)


@pytest.mark.parametrize(
    "content, match",
    [
        (b"not gzip data at all", "not a valid gzip file"),
        (_good_images_gz()[:-12], "not a valid gzip file"),
        # Flip a byte of the stored CRC-32 of the uncompressed data.
        (_good_images_gz()[:-8] + b"\x00\x00\x00\x00" + _good_images_gz()[-4:], "CRC"),
    ],
    ids=["not gzip", "truncated gzip", "bad CRC"],
)
def test_load_mnist_corrupt_gzip(tmp_path, content, match):
    write_tiny_mnist(tmp_path, n_train=5, suffix=".gz")
    path = tmp_path / (MNIST_NAMES["train_images"] + ".gz")
    path.write_bytes(content)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*" + match):
        load_mnist(tmp_path)


@pytest.mark.parametrize(
    "key, array, match",
    [
        (
            "test_labels",
            np.zeros(2, dtype=np.uint8),
            "t10k-images-idx3-ubyte holds 3 images but .*t10k-labels-idx1-ubyte "
            "holds 2 labels",
        ),
        (
            "train_labels",
            np.zeros((5, 1), dtype=np.uint8),
            r"train-labels-idx1-ubyte: expected a 1-D array of labels, found shape",
        ),
        (
            "train_labels",
            np.zeros(5, dtype=np.float32),
            "train-labels-idx1-ubyte: expected integer labels, found float32",
        ),
    ],
)
def test_load_mnist_inconsistent_labels(tmp_path, key, array, match):
    write_tiny_mnist(tmp_path, n_train=5, n_test=3)
    write_idx(tmp_path / MNIST_NAMES[key], array)
    with pytest.raises(ValueError, match=match):
        load_mnist(tmp_path)


def test_load_mnist_missing_folder(tmp_path):
    folder = tmp_path / "no-such-folder"
    with pytest.raises(FileNotFoundError, match="MNIST folder not found.*no-such"):
        load_mnist(folder)


def test_load_mnist_folder_is_a_file(tmp_path):
    path = tmp_path / "a-file"
    path.write_bytes(b"")
    with pytest.raises(NotADirectoryError, match="a-file"):
        load_mnist(path)


def test_load_mnist_missing_files(tmp_path):
    write_tiny_mnist(tmp_path, suffix=".gz")
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    (tmp_path / "train-images-idx3-ubyte.gz").unlink()
    (tmp_path / "train-images-idx3-ubyte.bin").write_bytes(b"")

    with pytest.raises(FileNotFoundError) as excinfo:
        load_mnist(tmp_path)
    message = str(excinfo.value)
    assert str(tmp_path) in message
    for name in ["train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]:
        assert f"'{name}' (or '{name}.gz')" in message
    assert "train-labels" not in message


# load_mnist from OpenML, with fetch_openml replaced by a fake


class FakeFetchOpenml:
    """Stand-in for fetch_openml returning tiny MNIST-like data as OpenML does."""

    def __init__(self, n_samples=5, n_features=784, error=None):
        rng = np.random.default_rng(0)
        self.pixels = rng.integers(0, 256, (n_samples, n_features)).astype(np.float64)
        self.pixels[0, :2] = [0, 255]
        self.labels = np.array([str(i % 10) for i in range(n_samples)], dtype=object)
        self.error = error
        self.calls = []

    def __call__(self, name=None, **kwargs):
        self.calls.append((name, kwargs))
        if self.error is not None:
            raise self.error
        return Bunch(data=self.pixels.copy(), target=self.labels.copy())


def test_load_mnist_openml(tmp_path, monkeypatch):
    fake = FakeFetchOpenml(n_samples=5)
    monkeypatch.setattr(datasets, "fetch_openml", fake)
    monkeypatch.setattr(datasets, "_OPENML_N_TRAIN", 3)

    mnist = load_mnist(data_home=tmp_path)

    assert len(fake.calls) == 1
    name, kwargs = fake.calls[0]
    assert name == "mnist_784"
    assert kwargs["version"] == 1
    assert kwargs["as_frame"] is False
    assert kwargs["parser"] == "liac-arff"
    assert kwargs["data_home"] == tmp_path

    assert mnist.data.shape == (5, 784) and mnist.data.dtype == np.float32
    assert mnist.data.min() == 0 and mnist.data.max() == 1
    assert_allclose(mnist.data, fake.pixels / 255, rtol=1e-6)
    assert mnist.target.dtype == np.int64
    assert_array_equal(mnist.target, [0, 1, 2, 3, 4])
    assert_array_equal(mnist.y_train, [0, 1, 2])
    assert_array_equal(mnist.y_test, [3, 4])
    assert mnist.X_train.shape == (3, 784) and mnist.X_test.shape == (2, 784)
    assert np.shares_memory(mnist.X_test, mnist.data)
    assert mnist.images.shape == (5, 28, 28)
    assert "OpenML dataset mnist_784 version 1" in mnist.DESCR


def test_load_mnist_openml_default_split_and_dtype(monkeypatch):
    monkeypatch.setattr(datasets, "fetch_openml", FakeFetchOpenml(n_samples=4))
    mnist = load_mnist(dtype=np.float64)
    # Fewer rows than the 60000 training images of MNIST: all are training rows.
    assert mnist.X_train.shape == (4, 784) and mnist.X_test.shape == (0, 784)
    assert mnist.data.dtype == np.float64


def test_load_mnist_openml_unexpected_shape(monkeypatch):
    monkeypatch.setattr(datasets, "fetch_openml", FakeFetchOpenml(n_features=10))
    with pytest.raises(ValueError, match="784 features, got data of shape"):
        load_mnist()


@pytest.mark.parametrize(
    "error",
    [
        URLError("[Errno -3] Temporary failure in name resolution"),
        HTTPError("https://www.openml.org", 503, "Service Unavailable", {}, None),
        TimeoutError("timed out"),
        ConnectionResetError("Connection reset by peer"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_load_mnist_openml_network_error(tmp_path, monkeypatch, error):
    monkeypatch.setattr(datasets, "fetch_openml", FakeFetchOpenml(error=error))
    with pytest.raises(ConnectionError) as excinfo:
        load_mnist(data_home=tmp_path)
    message = str(excinfo.value)
    assert "MNIST could not be downloaded" in message
    assert 'load_mnist(idx_dir="path/to/folder")' in message
    for name in MNIST_NAMES.values():
        assert name in message
    assert excinfo.value.__cause__ is error


def test_load_mnist_openml_not_cached_and_no_download(tmp_path, monkeypatch):
    fake = FakeFetchOpenml()
    monkeypatch.setattr(datasets, "fetch_openml", fake)
    with pytest.raises(OSError, match="download_if_missing=False.*idx_dir"):
        load_mnist(data_home=tmp_path, download_if_missing=False)
    assert fake.calls == []


class FakeOpenmlServer:
    """Serve a tiny mnist_784 the way the OpenML API does, to sklearn's urlopen."""

    def __init__(self, n_samples=4):
        rng = np.random.default_rng(0)
        self.pixels = rng.integers(0, 256, (n_samples, 784))
        self.labels = np.arange(n_samples) % 10
        arff = self._arff().encode()
        arff_url = "https://api.openml.org/data/v1/download/52667/mnist_784.arff"
        # by path: scikit-learn 1.6 asks api.openml.org, later ones www.openml.org
        api = "/api/v1/json/data/"
        self.responses = {
            api + "list/data_name/mnist_784/limit/2/data_version/1": {
                "data": {"dataset": [{"did": 554, "name": "mnist_784", "version": 1}]}
            },
            api + "554": {
                "data_set_description": {
                    "id": "554",
                    "name": "mnist_784",
                    "version": "1",
                    "description": "Tiny fake MNIST",
                    "format": "ARFF",
                    "url": arff_url,
                    "file_id": "52667",  # what scikit-learn 1.6 downloads by
                    "status": "active",
                    "md5_checksum": hashlib.md5(arff).hexdigest(),
                }
            },
            api + "features/554": {"data_features": {"feature": self._features()}},
            api + "qualities/554": {
                "data_qualities": {
                    "quality": [{"name": "NumberOfInstances", "value": str(n_samples)}]
                }
            },
            urlsplit(arff_url).path: arff,
            "/data/v1/download/52667": arff,  # scikit-learn 1.6's URL of the file
        }
        self.requested = []

    def _features(self):
        names = [f"pixel{i}" for i in range(1, 785)] + ["class"]
        return [
            {
                "index": str(index),
                "name": name,
                "data_type": "nominal" if name == "class" else "numeric",
                "is_target": "true" if name == "class" else "false",
                "is_ignore": "false",
                "is_row_identifier": "false",
                "number_of_missing_values": "0",
            }
            for index, name in enumerate(names)
        ]

    def _arff(self):
        lines = ["@RELATION mnist_784"]
        lines += [f"@ATTRIBUTE pixel{i} NUMERIC" for i in range(1, 785)]
        lines += ["@ATTRIBUTE class {0,1,2,3,4,5,6,7,8,9}", "@DATA"]
        for pixels, label in zip(self.pixels, self.labels, strict=True):
            lines.append(",".join(map(str, pixels)) + f",{label}")
        return "\n".join(lines) + "\n"

    def urlopen(self, request, *args, **kwargs):
        url = request.get_full_url()
        self.requested.append(url)
        content = self.responses[urlsplit(url).path]
        if not isinstance(content, bytes):
            content = json.dumps(content).encode()
        response = io.BytesIO(content)
        response.info = dict
        return response


@pytest.mark.skipif(
    not hasattr(sklearn.datasets._openml, "urlopen"),
    reason="this scikit-learn version does not download through urlopen",
)
def test_load_mnist_through_real_fetch_openml(tmp_path, monkeypatch):
    # fetch_openml itself runs, on a fake OpenML server: this checks that the
    # arguments work without pandas and that the check of the cache behind
    # download_if_missing=False follows scikit-learn's cache layout.
    monkeypatch.setitem(sys.modules, "pandas", None)
    server = FakeOpenmlServer(n_samples=4)
    monkeypatch.setattr(sklearn.datasets._openml, "urlopen", server.urlopen)

    with pytest.raises(OSError, match="not in the scikit-learn data cache"):
        load_mnist(data_home=tmp_path, download_if_missing=False)
    assert server.requested == []

    mnist = load_mnist(data_home=tmp_path)
    assert len(server.requested) == 5
    assert mnist.data.shape == (4, 784) and mnist.data.dtype == np.float32
    assert_allclose(mnist.data, server.pixels / 255, rtol=1e-6)
    assert_array_equal(mnist.target, server.labels)
    assert mnist.target.dtype == np.int64

    server.requested.clear()
    cached = load_mnist(data_home=tmp_path, download_if_missing=False)
    assert server.requested == []
    assert_array_equal(cached.data, mnist.data)


# The real MNIST, when a local copy is available


@pytest.mark.skipif(
    not REAL_MNIST_DIR.is_dir(), reason=f"no local copy of MNIST in {REAL_MNIST_DIR}"
)
def test_load_mnist_real_files():
    mnist = load_mnist(REAL_MNIST_DIR)
    assert mnist.data.shape == (70000, 784)
    assert mnist.X_train.shape == (60000, 784)
    assert mnist.X_test.shape == (10000, 784)
    assert mnist.images.shape == (70000, 28, 28)
    assert mnist.data.dtype == np.float32
    assert mnist.data.min() == 0 and mnist.data.max() == 1
    assert_array_equal(mnist.y_train[:3], [5, 0, 4])
    assert mnist.y_test[0] == 7
    assert_array_equal(
        np.bincount(mnist.y_train),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
    )
    assert_array_equal(
        np.bincount(mnist.y_test),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
    )
