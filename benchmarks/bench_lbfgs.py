"""Seconds per L-BFGS iteration and per objective evaluation, against the
full-batch GEMM floor, measured side by side in one run.

Usage::

    python benchmarks/bench_lbfgs.py [--mnist-dir DIR] [--n-samples 60000]
        [--iters 10] [--repeat 3] [--threads N] [--dtype float32 float64]

Quick check::

    python benchmarks/bench_lbfgs.py --n-samples 3000 --iters 3 --repeat 1

Per dtype, interleaved over ``--repeat`` rounds after one warm-up each, and
reporting the medians:

* floor: the five matrix products of one objective evaluation (forward,
  backward, both weight gradients) on the whole ``n x 784`` matrix, once,
  into preallocated arrays (``_bench_common.gemm_floor`` with one batch);
* eval: ``sparse_autoencoder_loss_grad`` on the full batch called as the
  L-BFGS path calls it (no ``grad`` buffer, no ``Workspace``: every buffer is
  allocated afresh); "eval+ws": the same with a reused ``Workspace`` and
  ``grad`` (what the minibatch path does);
* fit: ``SparseAutoencoderTransformer(n_components=200, solver="lbfgs",
  max_iter=--iters, tol=0)``; the iteration time is fit time / ``n_iter_``.
  The objective evaluations are counted (and timed) by replacing
  ``skl_sparse_ae._autoencoder.sparse_autoencoder_loss_grad`` with a wrapper
  in this script, so evaluations per iteration and the share of fit time
  spent outside the objective (L-BFGS-B itself, float64 conversions,
  validation, ``mean_activation_``) are reported too.

Ratios are what to read: they are measured in the same run; absolute seconds
depend on the machine and its load.
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from _bench_common import (
    N_COMPONENTS,
    add_common_arguments,
    gemm_floor,
    interleaved_times,
    limit_blas_threads,
    limit_kernel_threads,
    load_images,
    print_header,
    print_table,
    ratio,
    seconds,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from skl_sparse_ae import SparseAutoencoderTransformer, _autoencoder
from skl_sparse_ae._objective import (
    sparse_autoencoder_loss_grad,
)
from skl_sparse_ae._params import Workspace, init_layer, pack

ALPHA = 1e-4
SPARSITY_TARGET = 0.05
SPARSITY_WEIGHT = 3.0
OBJECTIVE = dict(
    alpha=ALPHA,
    sparsity_target=SPARSITY_TARGET,
    sparsity_weight=SPARSITY_WEIGHT,
    decoder="sigmoid",
)

# ---------------------------------------------------------------------------
# Count and time the objective evaluations made inside fit: the estimator
# looks the function up in its module at each call, so replacing the module
# attribute is enough.

_CALLS = []  # seconds of each evaluation since the last reset


def _counted_loss_grad(*args, **kwargs):
    start = time.perf_counter()
    try:
        return sparse_autoencoder_loss_grad(*args, **kwargs)
    finally:
        _CALLS.append(time.perf_counter() - start)


_autoencoder.sparse_autoencoder_loss_grad = _counted_loss_grad


# ---------------------------------------------------------------------------


def initial_theta(n_features, dtype, seed):
    rng = check_random_state(seed)
    W1, b1 = init_layer(n_features, N_COMPONENTS, dtype, rng)
    W2, b2 = init_layer(N_COMPONENTS, n_features, dtype, rng)
    return pack([W1, b1, W2, b2])


def functions_for(X, iters, seed):
    theta = initial_theta(X.shape[1], X.dtype, seed)
    floor, _ = gemm_floor(X, N_COMPONENTS, X.shape[0], seed)
    workspace, grad = Workspace(), np.empty_like(theta)

    def evaluate():
        sparse_autoencoder_loss_grad(theta, X, N_COMPONENTS, **OBJECTIVE)

    def evaluate_with_workspace():
        sparse_autoencoder_loss_grad(
            theta, X, N_COMPONENTS, grad=grad, workspace=workspace, **OBJECTIVE
        )

    def fit():
        ae = SparseAutoencoderTransformer(
            n_components=N_COMPONENTS,
            solver="lbfgs",
            max_iter=iters,
            tol=0,
            random_state=seed,
            **OBJECTIVE,
        )
        _CALLS.clear()
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            ae.fit(X)
        fit_seconds = time.perf_counter() - start
        return {
            "n_iter": ae.n_iter_,
            "n_evals": len(_CALLS),
            "per_iter": fit_seconds / max(ae.n_iter_, 1),
            "in_objective": sum(_CALLS),
            "fit_seconds": fit_seconds,
        }

    return {
        "floor": floor,
        "eval": evaluate,
        "eval_ws": evaluate_with_workspace,
        "fit": fit,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=" ".join(__doc__.split("\n\n")[0].split()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_arguments(parser)
    parser.add_argument(
        "--iters", type=int, default=10, help="L-BFGS iterations (default: 10)"
    )
    args = parser.parse_args(argv)

    limit_blas_threads(args.threads)
    limit_kernel_threads(args.kernel_threads)
    X32, source = load_images(args.mnist_dir, args.n_samples)
    flops = 5 * 2 * X32.shape[0] * X32.shape[1] * N_COMPONENTS
    print_header(
        "L-BFGS: seconds per iteration and per objective evaluation vs the "
        "full-batch GEMM floor",
        args,
        extra=[
            source,
            f"network {X32.shape[1]} -> {N_COMPONENTS} -> {X32.shape[1]}, "
            f"max_iter={args.iters}, tol=0; floor = 5 GEMMs on the full batch "
            f"({flops / 1e9:.1f} GFLOP)",
        ],
    )

    results = {}
    for dtype in args.dtype:
        X = X32 if dtype == "float32" else X32.astype(dtype)
        results[dtype] = interleaved_times(
            functions_for(X, args.iters, args.random_state), args.repeat
        )
        del X

    headers = [
        "dtype",
        "floor s",
        "eval s",
        "eval x floor",
        "eval+ws s",
        "eval+ws x floor",
        "iter s",
        "iter x floor",
        "evals/iter",
        "GFLOP/s floor",
    ]
    rows = []
    for dtype, res in results.items():
        floor, fit = res["floor"]["seconds"], res["fit"]
        rows.append(
            [
                dtype,
                seconds(floor),
                seconds(res["eval"]["seconds"]),
                ratio(res["eval"]["seconds"], floor),
                seconds(res["eval_ws"]["seconds"]),
                ratio(res["eval_ws"]["seconds"], floor),
                seconds(fit["per_iter"]),
                ratio(fit["per_iter"], floor),
                f"{fit['n_evals'] / max(fit['n_iter'], 1):.2f}",
                f"{flops / floor / 1e9:.1f}",
            ]
        )
    print_table(headers, rows)
    print()
    print(
        "x floor: seconds / floor seconds (lower is better). eval: the objective "
        "as the L-BFGS path calls it (buffers allocated per call); eval+ws: with "
        "a reused Workspace and grad. iter: fit time / n_iter_."
    )
    print()

    headers = [
        "dtype",
        "n_iter",
        "evals",
        "fit s",
        "in objective",
        "outside objective",
        "eval s in fit",
    ]
    rows = []
    for dtype, res in results.items():
        fit = res["fit"]
        outside = fit["fit_seconds"] - fit["in_objective"]
        rows.append(
            [
                dtype,
                f"{fit['n_iter']:g}",
                f"{fit['n_evals']:g}",
                seconds(fit["fit_seconds"]),
                f"{fit['in_objective'] / fit['fit_seconds']:.0%}",
                f"{outside / fit['fit_seconds']:.0%}",
                seconds(fit["in_objective"] / max(fit["n_evals"], 1)),
            ]
        )
    print_table(headers, rows)
    print()
    print(
        "Share of fit time inside the objective and outside it (L-BFGS-B, "
        "float64 conversions of theta and grad, validation, mean_activation_)."
    )
    if "float32" in results and "float64" in results:
        r32, r64 = results["float32"], results["float64"]
        print(
            "float32 vs float64 speed-up: iteration "
            + ratio(r64["fit"]["per_iter"], r32["fit"]["per_iter"])
            + ", evaluation "
            + ratio(r64["eval"]["seconds"], r32["eval"]["seconds"])
            + ", GEMM floor "
            + ratio(r64["floor"]["seconds"], r32["floor"]["seconds"])
        )


if __name__ == "__main__":
    main()
