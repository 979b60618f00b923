"""Helpers shared by the benchmark scripts (not a benchmark itself).

Command-line flags common to every script, loading MNIST, the BLAS header,
timing (warm-up, then the median of repeats, interleaved between the things
compared so that a change of machine load hits them all alike), the GEMM
floors and printing small tables.
"""

import math
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import scipy
import sklearn
import threadpoolctl

import skl_sparse_ae

DEFAULT_MNIST_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"

#: The network of issue 6: 784 -> 200 -> 784, minibatches of 256 rows.
N_COMPONENTS = 200
BATCH_SIZE = 256


# ---------------------------------------------------------------------------
# Command line


def add_common_arguments(parser, *, n_samples=60000):
    """Flags shared by all scripts: data, size, BLAS threads, dtypes, repeats."""
    default_dir = str(DEFAULT_MNIST_DIR) if DEFAULT_MNIST_DIR.exists() else None
    parser.add_argument(
        "--mnist-dir",
        default=default_dir,
        help="folder of the four MNIST IDX files (default: ../shared/data/mnist "
        "beside the repository when it exists, else fetch_openml)",
    )
    parser.add_argument(
        "--n-samples",
        type=int,
        default=n_samples,
        help=f"rows of the MNIST training set to use (default: {n_samples})",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="limit the BLAS threads with threadpoolctl (default: leave as is)",
    )
    parser.add_argument(
        "--kernel-threads",
        type=int,
        default=None,
        help="limit the compiled kernels' OpenMP threads with threadpoolctl "
        "(default: leave as is)",
    )
    parser.add_argument(
        "--dtype",
        nargs="+",
        choices=["float32", "float64"],
        default=["float32", "float64"],
        help="floating dtypes to measure (default: both)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="timed runs after one warm-up; the median is reported (default: 3)",
    )
    parser.add_argument("--random-state", type=int, default=0)
    return parser


# ---------------------------------------------------------------------------
# Environment


def limit_blas_threads(threads):
    """Limit every loaded BLAS to ``threads`` threads (None: leave as is).

    Call after numpy, scipy and scikit-learn are imported so that all their
    BLAS libraries are loaded. The limit holds for the rest of the process.
    """
    if threads is None:
        return None
    return threadpoolctl.threadpool_limits(limits=threads, user_api="blas")


def limit_kernel_threads(threads):
    """Limit the kernels' OpenMP threads to ``threads`` (None: leave as is)."""
    if threads is None:
        return None
    return threadpoolctl.threadpool_limits(limits=threads, user_api="openmp")


def blas_info():
    """threadpoolctl's records of the loaded BLAS libraries."""
    return [
        info for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"
    ]


def blas_threads():
    """Threads of the BLAS used by numpy (the largest count among those loaded)."""
    counts = [info["num_threads"] for info in blas_info()]
    return max(counts) if counts else (os.cpu_count() or 1)


def print_header(title, args, extra=()):
    """Versions, CPU, load and BLAS (library, version, threads) of this run."""
    print(title)
    print("=" * len(title))
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}, scikit-learn {sklearn.__version__}, "
        f"skl_sparse_ae {skl_sparse_ae.__version__}"
    )
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    load_text = "" if load is None else f", load average {load[0]:.2f}"
    print(f"{platform.machine()}, {os.cpu_count()} CPUs{load_text}")
    infos = blas_info()
    if not infos:
        print("BLAS: none reported by threadpoolctl")
    for info in infos:
        print(
            f"BLAS: {info['internal_api']} {info.get('version')} "
            f"({info.get('architecture', '?')}, "
            f"{info.get('threading_layer', '?')} threading), "
            f"{info['num_threads']} threads, {Path(info['filepath']).name}"
        )
    from skl_sparse_ae import _kernels

    openmp = "OpenMP" if _kernels.OPENMP_ENABLED else "no OpenMP (serial build)"
    print(f"kernels: {openmp}, {_kernels.effective_n_threads()} threads")
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if name in os.environ:
            print(
                f"note: {name}={os.environ[name]} forces OpenBLAS's kernel choice; "
                "headline figures unset it (env -u OPENBLAS_CORETYPE -u "
                "OPENBLAS_L2_SIZE python ...)"
            )
    threads = "as is" if args.threads is None else str(args.threads)
    kthreads = "as is" if args.kernel_threads is None else str(args.kernel_threads)
    print(
        f"--threads {threads}; --kernel-threads {kthreads}; repeat {args.repeat} "
        "(median, after one warm-up)"
    )
    for line in extra:
        print(line)
    if load is not None and load[0] > 0.5 * (os.cpu_count() or 1):
        print(
            "note: the machine is not idle (load average above half the CPUs); "
            "timings of multi-threaded BLAS suffer a lot from other load"
        )
    print()


# ---------------------------------------------------------------------------
# Data


def load_images(mnist_dir, n_samples):
    """The first ``n_samples`` MNIST training images, float32 in [0, 1].

    More rows than MNIST has are made by repeating the images. Returns the
    array (C-contiguous) and a one-line description of the source.
    """
    from skl_sparse_ae.datasets import load_mnist

    mnist = load_mnist(mnist_dir)
    X = mnist.X_train
    source = f"MNIST from {mnist_dir}" if mnist_dir else "MNIST from fetch_openml"
    if n_samples > X.shape[0]:
        X = np.tile(X, (math.ceil(n_samples / X.shape[0]), 1))
        source += " (rows repeated)"
    X = np.ascontiguousarray(X[:n_samples], dtype=np.float32)
    return X, f"data: {source}, {X.shape[0]} x {X.shape[1]}"


# ---------------------------------------------------------------------------
# Timing


#: Seconds of each MinibatchSolver.run call since the last clear(), once
#: record_solver_seconds() has wrapped the method (for this process only).
SOLVER_SECONDS = []


def record_solver_seconds():
    """Wrap ``MinibatchSolver.run`` to append each call's seconds to SOLVER_SECONDS.

    The epochs loop alone, without the rest of ``fit``; idempotent.
    """
    from skl_sparse_ae import _solvers

    run = _solvers.MinibatchSolver.run
    if getattr(run, "_timed", False):
        return

    def timed_run(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return run(self, *args, **kwargs)
        finally:
            SOLVER_SECONDS.append(time.perf_counter() - start)

    timed_run._timed = True
    _solvers.MinibatchSolver.run = timed_run


def _median_or_first(values):
    """Median of numbers; the first value of anything else (e.g. a dtype name)."""
    if all(isinstance(v, (int, float)) for v in values):
        return statistics.median(values)
    return values[0]


def interleaved_times(functions, repeat, warmup=True):
    """Time several callables side by side.

    Each is called once to warm up, then the callables run in turn,
    ``repeat`` rounds. A callable may return a dict of extra numbers (for
    example seconds measured inside it); they are collected too.

    Parameters
    ----------
    functions : dict of str to callable
        What to time, by name.
    repeat : int
        Timed rounds.

    Returns
    -------
    results : dict of str to dict
        Per name: ``"seconds"``, the median wall time of one call, and the
        median of each extra number returned (``"runs"``: all wall times).
    """
    if warmup:
        for function in functions.values():
            function()
    runs = {name: [] for name in functions}
    extras = {name: {} for name in functions}
    for _ in range(max(repeat, 1)):
        for name, function in functions.items():
            start = time.perf_counter()
            extra = function()
            runs[name].append(time.perf_counter() - start)
            for key, value in (extra or {}).items():
                extras[name].setdefault(key, []).append(value)
    return {
        name: {
            "seconds": statistics.median(runs[name]),
            "runs": runs[name],
            **{key: _median_or_first(v) for key, v in extras[name].items()},
        }
        for name in functions
    }


# ---------------------------------------------------------------------------
# GEMM floors


def gemm_floor(X, n_components, batch_size, seed=0):
    """The matrix products of one epoch of backpropagation, and nothing else.

    For each batch of ``batch_size`` consecutive rows ``Xb`` of ``X`` (no
    shuffling copies, no elementwise work), the five products of a
    ``d -> h -> d`` autoencoder, each into a preallocated array of X's dtype
    with ``np.matmul(..., out=...)``::

        Xb @ W1    (b x d @ d x h)     forward, encoder
        A @ W2     (b x h @ h x d)     forward, decoder
        A.T @ D    (h x b @ b x d)     decoder weight gradient
        D @ W2.T   (b x d @ d x h)     back-propagated delta
        Xb.T @ G   (d x b @ b x h)     encoder weight gradient

    With ``batch_size >= len(X)`` this is the full-batch floor of one
    objective evaluation.

    Returns
    -------
    epoch : callable
        Runs the products over all batches once.
    flops : int
        Floating-point operations of one call.
    """
    n, d = X.shape
    h = n_components
    b = min(batch_size, n)
    dtype = X.dtype
    rng = np.random.default_rng(seed)

    def rand(*shape, scale=1.0):
        return (scale * rng.uniform(-1, 1, size=shape)).astype(dtype)

    W1, W2 = rand(d, h, scale=0.1), rand(h, d, scale=0.1)
    A, D, G = rand(b, h), rand(b, d, scale=0.01), rand(b, h, scale=0.01)
    Z1, Z2 = np.empty((b, h), dtype), np.empty((b, d), dtype)
    dW2, dA, dW1 = (
        np.empty((h, d), dtype),
        np.empty((b, h), dtype),
        np.empty((d, h), dtype),
    )

    def epoch():
        for start in range(0, n, b):
            Xb = X[start : start + b]
            m = Xb.shape[0]
            np.matmul(Xb, W1, out=Z1[:m])
            np.matmul(A[:m], W2, out=Z2[:m])
            np.matmul(A[:m].T, D[:m], out=dW2)
            np.matmul(D[:m], W2.T, out=dA[:m])
            np.matmul(Xb.T, G[:m], out=dW1)

    return epoch, 5 * 2 * n * d * h


# ---------------------------------------------------------------------------
# Output


def print_table(headers, rows):
    """Print rows of strings under headers, right-aligned except column 0."""
    widths = [
        max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
        for i, h in enumerate(headers)
    ]

    def line(cells):
        return "  ".join(
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths))
        )

    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))


def ratio(numerator, denominator):
    """``numerator / denominator`` as ``"1.23x"`` (``"-"`` when undefined)."""
    if numerator is None or denominator is None or not denominator > 0:
        return "-"
    return f"{numerator / denominator:.2f}x"


def seconds(value):
    """Seconds with 3 significant-ish digits (``"-"`` for None)."""
    if value is None:
        return "-"
    return f"{value:.4f}" if value < 1 else f"{value:.3f}"


def megabytes(n_bytes):
    return f"{n_bytes / 2**20:.1f}"
