"""Loaders for the datasets used in the examples and benchmarks.

:func:`load_mnist` returns the MNIST handwritten digits, either through
:func:`sklearn.datasets.fetch_openml` (downloaded once and cached like every
scikit-learn dataset) or from a local folder holding the four original IDX
files. :func:`write_idx` writes arrays in the IDX format, e.g. to make small
copies of MNIST for tests.
"""

import gzip
import json
import math
import zlib
from http.client import HTTPException
from pathlib import Path
from urllib.error import URLError
from urllib.parse import urlparse

import numpy as np
from sklearn.datasets import fetch_openml, get_data_home
from sklearn.utils import Bunch

__all__ = ["load_mnist", "write_idx"]

# IDX type code -> big-endian dtype of the data.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_TYPE_CODES = {dtype.newbyteorder("="): code for code, dtype in _IDX_DTYPES.items()}

_MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_OPENML_NAME = "mnist_784"
_OPENML_VERSION = 1
# OpenML's mnist_784 holds the 60000 training images first, then the 10000
# test images.
_OPENML_N_TRAIN = 60000
_MNIST_IMAGE_SHAPE = (28, 28)

_DESCR_TEMPLATE = """\
MNIST handwritten digits
------------------------

Grayscale images of the handwritten digits 0 to 9 (LeCun, Cortes and Burges),
{n_rows} x {n_cols} pixels, scaled from 0..255 to [0, 1].

- samples: {n_total} ({n_train} training images, then {n_test} test images)
- features: {n_features} pixel intensities per image, row-major
- classes: 10 (integer labels 0 to 9)

``X_train``/``y_train`` are the first {n_train} rows of ``data``/``target``,
``X_test``/``y_test`` the remaining {n_test}; the original MNIST split is
60000 training and 10000 test images.

Source: {source}
"""


def write_idx(path, array):
    """Write an array to a file in the IDX format.

    The IDX format is the one of the original MNIST files: a 4-byte header
    (two zero bytes, a type code and the number of dimensions), one big-endian
    unsigned 32-bit integer per dimension, then the data in row-major order,
    big-endian.

    Parameters
    ----------
    path : str or path-like
        Destination file. It is gzip-compressed when its name ends with
        ``".gz"``.

    array : array-like
        The data. Its dtype must be one of ``uint8``, ``int8``, ``int16``,
        ``int32``, ``float32`` or ``float64`` (the types IDX can store), and
        it must have at least one dimension.

    Raises
    ------
    ValueError
        If the dtype cannot be stored in IDX, or if the array has no
        dimension, more than 255 dimensions or a dimension of ``2**32`` or
        more.

    See Also
    --------
    load_mnist : Load MNIST, e.g. from a folder of IDX files.

    Examples
    --------
    >>> import gzip
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from skl_sparse_ae.datasets import write_idx
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "labels-idx1-ubyte.gz"
    ...     write_idx(path, np.array([5, 0, 4], dtype=np.uint8))
    ...     gzip.decompress(path.read_bytes())
    b'\\x00\\x00\\x08\\x01\\x00\\x00\\x00\\x03\\x05\\x00\\x04'
    """
    array = np.asarray(array)
    type_code = _IDX_TYPE_CODES.get(array.dtype.newbyteorder("="))
    if type_code is None:
        raise ValueError(
            f"Cannot store dtype {array.dtype} in an IDX file; the IDX types are "
            "uint8, int8, int16, int32, float32 and float64. Convert the array "
            "with astype first."
        )
    if not 1 <= array.ndim <= 255:
        raise ValueError(
            f"An IDX file stores arrays with 1 to 255 dimensions, got {array.ndim}."
        )
    if max(array.shape) >= 2**32:
        raise ValueError(
            f"An IDX file stores dimensions below 2**32, got shape {array.shape}."
        )
    header = bytes([0, 0, type_code, array.ndim])
    header += np.asarray(array.shape, dtype=">u4").tobytes()
    payload = np.ascontiguousarray(array, dtype=_IDX_DTYPES[type_code]).tobytes()

    path = Path(path)
    if not path.name.endswith(".gz"):
        path.write_bytes(header + payload)
        return
    # With neither file name nor modification time in the gzip header, the
    # compressed file depends on the data only.
    with open(path, "wb") as file:
        with gzip.GzipFile(filename="", mode="wb", fileobj=file, mtime=0) as gz_file:
            gz_file.write(header + payload)


def _read_bytes(path):
    """Return the content of ``path``, decompressed if its name ends with .gz."""
    path = Path(path)
    if not path.name.endswith(".gz"):
        return path.read_bytes()
    with open(path, "rb") as file:
        try:
            with gzip.GzipFile(fileobj=file, mode="rb") as gzip_file:
                return gzip_file.read()
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise ValueError(f"{path}: not a valid gzip file ({exc}).") from exc


def _read_idx(path):
    """Read an IDX file (optionally gzip-compressed) into a NumPy array.

    Parameters
    ----------
    path : str or path-like
        The file; it is decompressed when its name ends with ``".gz"``.

    Returns
    -------
    array : ndarray
        The data, in native byte order, with the shape given in the header.
        Single-byte data is a read-only view of the file content.

    Raises
    ------
    ValueError
        If the file is not a well-formed IDX file: wrong magic bytes, unknown
        type code, no dimension, truncated header, or data whose size does
        not match the dimensions, or a corrupt gzip stream. The message starts
        with the path of the file.
    """
    content = _read_bytes(path)
    if len(content) < 4:
        raise ValueError(
            f"{path}: file too short for an IDX header: expected at least 4 "
            f"bytes, found {len(content)}."
        )
    if content[:2] != b"\x00\x00":
        raise ValueError(
            f"{path}: not an IDX file: the first two bytes must be zero, found "
            f"0x{content[:2].hex()}."
        )
    type_code, n_dims = content[2], content[3]
    if type_code not in _IDX_DTYPES:
        known = ", ".join(f"0x{code:02X}" for code in _IDX_DTYPES)
        raise ValueError(
            f"{path}: unknown IDX type code 0x{type_code:02X} (known: {known})."
        )
    if n_dims == 0:
        raise ValueError(f"{path}: the IDX header declares 0 dimensions.")
    header_size = 4 + 4 * n_dims
    if len(content) < header_size:
        raise ValueError(
            f"{path}: truncated IDX header: {n_dims} dimensions need a "
            f"{header_size}-byte header, found {len(content)} bytes."
        )
    dims = np.frombuffer(content, dtype=">u4", count=n_dims, offset=4)
    shape = tuple(int(size) for size in dims)
    dtype = _IDX_DTYPES[type_code]
    expected_size = math.prod(shape) * dtype.itemsize
    data_size = len(content) - header_size
    if data_size != expected_size:
        raise ValueError(
            f"{path}: expected {expected_size} bytes of data after the "
            f"{header_size}-byte header (shape {shape}, {dtype.itemsize} byte(s) "
            f"per value), found {data_size}."
        )
    array = np.frombuffer(content, dtype=dtype, offset=header_size).reshape(shape)
    if dtype.itemsize > 1:
        array = array.astype(dtype.newbyteorder("="))
    return array


def _find_mnist_files(folder):
    """Return the paths of the four MNIST IDX files in ``folder``.

    Each file may be raw or gzip-compressed (``.gz``); the raw file is used
    when both exist.
    """
    if not folder.exists():
        raise FileNotFoundError(f"MNIST folder not found: '{folder}'.")
    if not folder.is_dir():
        raise NotADirectoryError(f"Not a folder: '{folder}'.")
    paths, missing = {}, []
    for key, name in _MNIST_FILES.items():
        candidates = [folder / name, folder / f"{name}.gz"]
        found = [path for path in candidates if path.is_file()]
        if found:
            paths[key] = found[0]
        else:
            missing.append(f"'{name}' (or '{name}.gz')")
    if missing:
        raise FileNotFoundError(
            f"MNIST IDX file(s) not found in '{folder}': looked for "
            f"{', '.join(missing)}."
        )
    return paths


def _read_images_and_labels(images_path, labels_path):
    """Read one split of MNIST and check that images and labels match."""
    images, labels = _read_idx(images_path), _read_idx(labels_path)
    if images.ndim != 3:
        raise ValueError(
            f"{images_path}: expected a 3-D array of images (n_images, rows, "
            f"columns), found shape {images.shape}."
        )
    if images.dtype != np.uint8:
        raise ValueError(
            f"{images_path}: expected unsigned byte pixels (IDX type 0x08), "
            f"found {images.dtype}."
        )
    if labels.ndim != 1:
        raise ValueError(
            f"{labels_path}: expected a 1-D array of labels, found shape "
            f"{labels.shape}."
        )
    if labels.dtype.kind not in "iu":
        raise ValueError(
            f"{labels_path}: expected integer labels, found {labels.dtype}."
        )
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{images_path} holds {images.shape[0]} images but {labels_path} "
            f"holds {labels.shape[0]} labels."
        )
    return images, labels


def _load_mnist_idx(folder, dtype):
    """Read MNIST from a folder of IDX files.

    Return the unscaled data, the target, the number of training rows and the
    shape of an image.
    """
    paths = _find_mnist_files(folder)
    train_images, train_labels = _read_images_and_labels(
        paths["train_images"], paths["train_labels"]
    )
    test_images, test_labels = _read_images_and_labels(
        paths["test_images"], paths["test_labels"]
    )
    if train_images.shape[1:] != test_images.shape[1:]:
        raise ValueError(
            f"The images of {paths['train_images']} are "
            f"{train_images.shape[1:]} pixels but those of "
            f"{paths['test_images']} are {test_images.shape[1:]} pixels."
        )
    pixels = np.concatenate([train_images, test_images])
    data = pixels.reshape(pixels.shape[0], -1).astype(dtype)
    target = np.concatenate([train_labels, test_labels]).astype(np.int64)
    return data, target, train_images.shape[0], train_images.shape[1:]


def _openml_cache_file(cache_dir, url_path):
    """Path where scikit-learn caches the OpenML resource at ``url_path``."""
    return Path(cache_dir) / "openml" / "openml.org" / f"{url_path}.gz"


def _openml_mnist_is_cached(data_home):
    """Whether ``fetch_openml`` can load MNIST from its cache in ``data_home``.

    This follows the layout of scikit-learn's OpenML cache: the answers of the
    OpenML API and the ARFF file are stored gzip-compressed under
    ``<data_home>/openml/openml.org/<path of the URL>.gz``.
    """
    cache_dir = get_data_home(data_home)

    def read_json(url_path):
        with gzip.open(
            _openml_cache_file(cache_dir, url_path), "rt", encoding="utf-8"
        ) as file:
            return json.load(file)

    try:
        listing = read_json(
            f"api/v1/json/data/list/data_name/{_OPENML_NAME}/limit/2/"
            f"data_version/{_OPENML_VERSION}"
        )
        data_id = listing["data"]["dataset"][0]["did"]
        description = read_json(f"api/v1/json/data/{data_id}")
        description = description["data_set_description"]
        # the ARFF file is cached under its URL's path, or under its file id
        # by scikit-learn 1.6, which downloads it from data/v1/download/<id>
        arff_paths = [urlparse(description["url"]).path.lstrip("/")]
        if "file_id" in description:
            arff_paths.append(f"data/v1/download/{description['file_id']}")
    except (OSError, EOFError, zlib.error, ValueError, LookupError, TypeError):
        return False
    needed = [
        f"api/v1/json/data/features/{data_id}",
        f"api/v1/json/data/qualities/{data_id}",
    ]
    return all(
        _openml_cache_file(cache_dir, path).is_file() for path in needed
    ) and any(_openml_cache_file(cache_dir, path).is_file() for path in arff_paths)


def _load_mnist_openml(data_home, download_if_missing, dtype):
    """Fetch MNIST from OpenML; return data, target, number of training rows."""
    local_copy_hint = (
        "To use a local copy instead, pass the folder holding the four MNIST "
        'IDX files: load_mnist(idx_dir="path/to/folder"), with the files '
        + ", ".join(_MNIST_FILES.values())
        + " (each may be gzip-compressed, with a .gz suffix)."
    )
    if not download_if_missing and not _openml_mnist_is_cached(data_home):
        raise OSError(
            "MNIST is not in the scikit-learn data cache "
            f"({get_data_home(data_home)}) and download_if_missing=False. "
            + local_copy_hint
        )
    try:
        mnist = fetch_openml(
            _OPENML_NAME,
            version=_OPENML_VERSION,
            data_home=data_home,
            as_frame=False,
            parser="liac-arff",
        )
    except (URLError, TimeoutError, ConnectionError, HTTPException) as exc:
        raise ConnectionError(
            f"MNIST could not be downloaded from OpenML ({exc}). " + local_copy_hint
        ) from exc
    data = np.asarray(mnist.data).astype(dtype)
    target = np.asarray(mnist.target).astype(np.int64)
    n_features = math.prod(_MNIST_IMAGE_SHAPE)
    if data.ndim != 2 or data.shape[1] != n_features:
        raise ValueError(
            f"Expected MNIST from OpenML to have {n_features} features, got "
            f"data of shape {data.shape}."
        )
    return data, target, min(_OPENML_N_TRAIN, data.shape[0])


def load_mnist(
    idx_dir=None, *, data_home=None, download_if_missing=True, dtype=np.float32
):
    """Load the MNIST handwritten digits, scaled to [0, 1].

    MNIST holds 70000 grayscale images of 28 x 28 pixels: 60000 training
    images followed by 10000 test images. By default it is fetched from
    OpenML (dataset ``mnist_784``, version 1) with
    :func:`sklearn.datasets.fetch_openml`, which downloads it once and caches
    it in ``data_home``. Alternatively, ``idx_dir`` points at a local copy of
    the four original IDX files, which needs no network.

    Parameters
    ----------
    idx_dir : str or path-like, default=None
        Folder holding the four MNIST files in IDX format:
        ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each raw or
        gzip-compressed (with a ``.gz`` suffix; the raw file is used when both
        exist). If None, MNIST is fetched from OpenML.

    data_home : str or path-like, default=None
        Cache folder of the OpenML download, as in
        :func:`sklearn.datasets.fetch_openml`. By default the scikit-learn
        data folder, ``~/scikit_learn_data``. Ignored when ``idx_dir`` is
        given.

    download_if_missing : bool, default=True
        If False, raise an ``OSError`` instead of downloading when MNIST is
        not already in the cache of ``data_home``. Ignored when ``idx_dir``
        is given.

    dtype : floating dtype, default=np.float32
        Dtype of ``data`` (and of its views).

    Returns
    -------
    mnist : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : ndarray of shape (n_samples, n_pixels)
            The images flattened row-major, of dtype ``dtype`` with values in
            [0, 1]: the training images first, then the test images
            (70000 x 784 for MNIST).
        target : ndarray of shape (n_samples,), dtype int64
            The digit shown by each image, 0 to 9.
        X_train : ndarray of shape (n_train, n_pixels)
            The training images: a view of the first rows of ``data`` (the
            60000 images of the training file or of OpenML).
        y_train : ndarray of shape (n_train,)
            The training labels, a view of ``target``.
        X_test : ndarray of shape (n_samples - n_train, n_pixels)
            The test images, a view of the last rows of ``data``.
        y_test : ndarray of shape (n_samples - n_train,)
            The test labels, a view of ``target``.
        images : ndarray of shape (n_samples, n_rows, n_columns)
            ``data`` as images (28 x 28 for MNIST), a view.
        feature_names : list of str
            The names of the pixels, ``"pixel1"`` to ``"pixel784"`` for MNIST.
        DESCR : str
            Description of the dataset, the split and the source used.

    Raises
    ------
    FileNotFoundError
        If ``idx_dir`` or one of the four files in it does not exist.
    ValueError
        If an IDX file is malformed (bad header, truncated or extra data,
        corrupt gzip stream), if the images are not 3-D unsigned bytes or the
        labels not 1-D integers, or if the numbers of images and labels
        differ. The message names the file(s). Also if ``dtype`` is not a
        floating dtype.
    ConnectionError
        If MNIST could not be downloaded from OpenML; the message explains
        how to load a local copy with ``idx_dir``.
    OSError
        If ``download_if_missing=False`` and MNIST is not in the cache.

    See Also
    --------
    sklearn.datasets.fetch_openml : Fetch a dataset from OpenML.
    write_idx : Write an array to a file in the IDX format.

    Examples
    --------
    Load a local copy, here a tiny one with random pixels written with
    :func:`write_idx`:

    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from skl_sparse_ae.datasets import load_mnist, write_idx
    >>> rng = np.random.default_rng(0)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     for prefix, n_images in [("train", 6), ("t10k", 2)]:
    ...         images = rng.integers(0, 256, size=(n_images, 28, 28), dtype=np.uint8)
    ...         labels = rng.integers(0, 10, size=n_images, dtype=np.uint8)
    ...         write_idx(Path(folder) / f"{prefix}-images-idx3-ubyte.gz", images)
    ...         write_idx(Path(folder) / f"{prefix}-labels-idx1-ubyte.gz", labels)
    ...     mnist = load_mnist(folder)
    >>> mnist.data.shape, mnist.data.dtype
    ((8, 784), dtype('float32'))
    >>> mnist.X_train.shape, mnist.X_test.shape, mnist.y_test.dtype
    ((6, 784), (2, 784), dtype('int64'))
    >>> bool(mnist.data.min() >= 0 and mnist.data.max() <= 1)
    True

    Fetch the full dataset from OpenML (downloaded on first use):

    >>> mnist = load_mnist()  # doctest: +SKIP
    >>> mnist.X_train.shape, mnist.X_test.shape  # doctest: +SKIP
    ((60000, 784), (10000, 784))
    """
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"dtype must be a floating dtype, got {dtype}.")
    if idx_dir is None:
        data, target, n_train = _load_mnist_openml(
            data_home, download_if_missing, dtype
        )
        image_shape = _MNIST_IMAGE_SHAPE
        source = f"OpenML dataset {_OPENML_NAME} version {_OPENML_VERSION}"
    else:
        folder = Path(idx_dir).expanduser()
        data, target, n_train, image_shape = _load_mnist_idx(folder, dtype)
        source = f"IDX files in {folder.resolve()}"
    data /= 255

    n_total, n_features = data.shape
    descr = _DESCR_TEMPLATE.format(
        n_rows=image_shape[0],
        n_cols=image_shape[1],
        n_total=n_total,
        n_train=n_train,
        n_test=n_total - n_train,
        n_features=n_features,
        source=source,
    )
    return Bunch(
        data=data,
        target=target,
        X_train=data[:n_train],
        y_train=target[:n_train],
        X_test=data[n_train:],
        y_test=target[n_train:],
        images=data.reshape(n_total, *image_shape),
        feature_names=[f"pixel{i}" for i in range(1, n_features + 1)],
        DESCR=descr,
    )
