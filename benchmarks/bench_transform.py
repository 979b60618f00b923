"""Transform throughput and peak memory of a fitted 784 -> 200 transformer,
against the single GEMM ``X @ W1``, measured side by side in one run.

Usage::

    python benchmarks/bench_transform.py [--mnist-dir DIR] [--n-samples 60000]
        [--fit-samples 10000] [--repeat 3] [--threads N]
        [--dtype float32 float64]

Quick check::

    python benchmarks/bench_transform.py --n-samples 3000 --fit-samples 1000 \\
        --repeat 1

Per dtype, a ``SparseAutoencoderTransformer(n_components=200, solver="adam",
max_iter=1)`` is fitted on the first ``--fit-samples`` rows (quickly: the
weights do not matter here), then, interleaved over ``--repeat`` rounds after
one warm-up, and reporting the medians:

* ``transform(X)`` on ``--n-samples`` rows of that dtype;
* the floor: ``np.matmul(X, W1, out=out)`` alone into a preallocated output.

Then, in a separate call (tracing slows allocation down, so it is not timed),
the peak memory allocated during ``transform`` alone, with ``tracemalloc``
(numpy reports its buffers to it). The input exists before and is not traced;
so "extra" is the traced peak minus the output's size, and the total ratio is
``(input + traced peak) / (input + output)``: 1.00x means nothing but the
output was allocated.
"""

import argparse
import sys
import tracemalloc
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from _bench_common import (
    N_COMPONENTS,
    add_common_arguments,
    interleaved_times,
    limit_blas_threads,
    limit_kernel_threads,
    load_images,
    megabytes,
    print_header,
    print_table,
    ratio,
    seconds,
)
from sklearn.exceptions import ConvergenceWarning

from skl_sparse_ae import SparseAutoencoderTransformer


def fitted_transformer(X, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return SparseAutoencoderTransformer(
            n_components=N_COMPONENTS, solver="adam", max_iter=1, random_state=seed
        ).fit(X)


def traced_peak(function):
    """Peak bytes allocated (and traced) while ``function`` runs; its result."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        result = function()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - before, result


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=" ".join(__doc__.split("\n\n")[0].split()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_arguments(parser)
    parser.add_argument(
        "--fit-samples",
        type=int,
        default=10000,
        help="rows to fit the transformer on (default: 10000)",
    )
    args = parser.parse_args(argv)

    limit_blas_threads(args.threads)
    limit_kernel_threads(args.kernel_threads)
    X32, source = load_images(args.mnist_dir, args.n_samples)
    print_header(
        "Transform: throughput vs the GEMM X @ W1, and peak memory",
        args,
        extra=[
            source,
            f"transformer {X32.shape[1]} -> {N_COMPONENTS} fitted with adam, "
            f"1 epoch, on {min(args.fit_samples, X32.shape[0])} rows",
        ],
    )

    results = {}
    for dtype in args.dtype:
        X = X32 if dtype == "float32" else X32.astype(dtype)
        ae = fitted_transformer(X[: args.fit_samples], args.random_state)
        W1 = ae.coefs_[0].astype(dtype)
        floor_out = np.empty((X.shape[0], N_COMPONENTS), dtype=dtype)

        def floor(X=X, W1=W1, floor_out=floor_out):
            np.matmul(X, W1, out=floor_out)

        def transform(X=X, ae=ae):
            ae.transform(X)

        res = interleaved_times({"transform": transform, "floor": floor}, args.repeat)
        del floor_out
        peak, Y = traced_peak(lambda X=X, ae=ae: ae.transform(X))
        if Y.dtype != X.dtype or Y.shape != (X.shape[0], N_COMPONENTS):
            raise RuntimeError(f"unexpected output {Y.dtype} {Y.shape}")
        res["memory"] = {"peak": peak, "input": X.nbytes, "output": Y.nbytes}
        results[dtype] = res
        del Y, X

    n = X32.shape[0]
    headers = [
        "dtype",
        "transform s",
        "rows/s",
        "X @ W1 s",
        "rows/s",
        "time x floor",
    ]
    rows = []
    for dtype, res in results.items():
        t, f = res["transform"]["seconds"], res["floor"]["seconds"]
        rows.append(
            [dtype, seconds(t), f"{n / t:,.0f}", seconds(f), f"{n / f:,.0f}"]
            + [ratio(t, f)]
        )
    print_table(headers, rows)
    print()
    print(
        "time x floor: transform seconds / seconds of the matrix product alone "
        "(lower is better; the rest is the sigmoid, the intercept, validation)."
    )
    print()

    headers = [
        "dtype",
        "input MB",
        "output MB",
        "traced peak MB",
        "extra KB",
        "(in + peak) / (in + out)",
    ]
    rows = []
    for dtype, res in results.items():
        mem = res["memory"]
        rows.append(
            [
                dtype,
                megabytes(mem["input"]),
                megabytes(mem["output"]),
                megabytes(mem["peak"]),
                f"{(mem['peak'] - mem['output']) / 2**10:,.1f}",
                ratio(mem["input"] + mem["peak"], mem["input"] + mem["output"]),
            ]
        )
    print_table(headers, rows)
    print()
    print(
        "traced peak: bytes allocated during transform (tracemalloc); extra: "
        "beyond the output; the target is input + output + a bounded chunk."
    )
    if "float32" in results and "float64" in results:
        r32, r64 = results["float32"], results["float64"]
        print(
            "float32 vs float64 speed-up: transform "
            + ratio(r64["transform"]["seconds"], r32["transform"]["seconds"])
            + ", X @ W1 "
            + ratio(r64["floor"]["seconds"], r32["floor"]["seconds"])
        )


if __name__ == "__main__":
    main()
