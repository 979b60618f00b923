"""Seconds per epoch of the minibatch solvers, against MLPRegressor, the GEMM
floor and (when importable) PyTorch, measured side by side in one run.

Usage::

    python benchmarks/bench_epoch.py [--mnist-dir DIR] [--n-samples 60000]
        [--epochs 2] [--repeat 3] [--threads N] [--dtype float32 float64]
        [--solver adam sgd] [--decoder sigmoid linear] [--no-mlp] [--no-torch]

Quick check::

    python benchmarks/bench_epoch.py --n-samples 3000 --epochs 1 --repeat 1

For each (solver, dtype), interleaved over ``--repeat`` rounds after one
warm-up each, and reporting the medians:

* ``SparseAutoencoderTransformer(n_components=200, solver=..., batch_size=256,
  max_iter=epochs, shuffle=True, tol=0, n_iter_no_change=huge)`` with the
  seed's sigmoid decoder and with a linear one (``--decoder``; the linear
  decoder is the network MLPRegressor trains, so that row compares like with
  like, while the sigmoid decoder adds an ``exp`` over every output): ``fit``
  time divided by the epochs (so the fixed cost of ``fit`` is included); also
  the time spent inside the minibatch loop alone ("in solver"), measured by
  wrapping ``MinibatchSolver.run`` in this script;
* ``MLPRegressor(hidden_layer_sizes=(200,), activation="logistic",
  solver=<same>, batch_size=256, max_iter=epochs, shuffle=True, tol=0,
  n_iter_no_change=huge, alpha=1e-4)`` fitted X -> X (identity output, squared
  error: not the same objective, but the same matrix products);
* the GEMM floor: the five matrix products of backpropagation per batch of
  256 rows, alone, on preallocated arrays (see ``_bench_common.gemm_floor``);
* PyTorch (adam, float32 only), when ``import torch`` works: the same
  784-200-784 sigmoid autoencoder with loss ``0.5 * sum((h - x)**2) / m``,
  KL sparsity (rho=0.05, beta=3) and weight decay, Adam, batch 256,
  ``torch.set_num_threads`` = the BLAS threads; one epoch per call.

Prints a table of ratios (to the GEMM floor, speed-up over MLPRegressor) and
the float32 vs float64 speed-up per solver. Ratios are what to read: they are
measured in the same run; absolute seconds depend on the machine and its load.
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from _bench_common import (
    BATCH_SIZE,
    N_COMPONENTS,
    SOLVER_SECONDS,
    add_common_arguments,
    blas_threads,
    gemm_floor,
    interleaved_times,
    limit_blas_threads,
    limit_kernel_threads,
    load_images,
    print_header,
    print_table,
    ratio,
    record_solver_seconds,
    seconds,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor

from skl_sparse_ae import SparseAutoencoderTransformer

NEVER = 10**9  # n_iter_no_change that never stops a run
ALPHA = 1e-4
SPARSITY_TARGET = 0.05
SPARSITY_WEIGHT = 3.0
LEARNING_RATE = 1e-3

# Time spent inside MinibatchSolver.run (the epochs alone, without the rest of
# fit), recorded for this process only.
record_solver_seconds()


# ---------------------------------------------------------------------------
# The things compared


def sae_epochs(X, solver, epochs, seed, decoder):
    """Fit SparseAutoencoderTransformer; returns per-epoch fit and solver seconds."""

    def run():
        ae = SparseAutoencoderTransformer(
            n_components=N_COMPONENTS,
            alpha=ALPHA,
            sparsity_target=SPARSITY_TARGET,
            sparsity_weight=SPARSITY_WEIGHT,
            decoder=decoder,
            solver=solver,
            batch_size=BATCH_SIZE,
            learning_rate_init=LEARNING_RATE,
            max_iter=epochs,
            shuffle=True,
            tol=0,
            n_iter_no_change=NEVER,
            random_state=seed,
        )
        SOLVER_SECONDS.clear()
        start = time.perf_counter()
        ae.fit(X)
        fit_seconds = time.perf_counter() - start
        if ae.n_iter_ != epochs:
            raise RuntimeError(f"ran {ae.n_iter_} epochs instead of {epochs}")
        return {
            "per_epoch": fit_seconds / epochs,
            "solver_per_epoch": sum(SOLVER_SECONDS) / epochs,
            "dtype": ae.coefs_[0].dtype.name,
        }

    return run


def mlp_epochs(X, solver, epochs, seed, seen_dtypes):
    """Fit MLPRegressor X -> X; returns per-epoch seconds, notes its dtype."""

    def run():
        reg = MLPRegressor(
            hidden_layer_sizes=(N_COMPONENTS,),
            activation="logistic",
            solver=solver,
            batch_size=BATCH_SIZE,
            learning_rate_init=LEARNING_RATE,
            max_iter=epochs,
            shuffle=True,
            tol=0,
            n_iter_no_change=NEVER,
            alpha=ALPHA,
            random_state=seed,
        )
        start = time.perf_counter()
        reg.fit(X, X)
        fit_seconds = time.perf_counter() - start
        if reg.n_iter_ != epochs:
            raise RuntimeError(f"MLPRegressor ran {reg.n_iter_} epochs, not {epochs}")
        seen_dtypes.add(reg.coefs_[0].dtype.name)
        return {"per_epoch": fit_seconds / epochs}

    return run


def floor_epoch(X):
    epoch, _ = gemm_floor(X, N_COMPONENTS, BATCH_SIZE)

    def run():
        start = time.perf_counter()
        epoch()
        return {"per_epoch": time.perf_counter() - start}

    return run


def torch_epoch(X, threads, seed):
    """One Adam epoch of the same sparse autoencoder in PyTorch (float32).

    Returns None when torch cannot be imported.
    """
    try:
        import torch
    except ImportError:
        return None

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    n, d = Xt.shape
    h = N_COMPONENTS

    def init(n_in, n_out):
        bound = float(np.sqrt(6.0 / (n_in + n_out + 1)))
        W = torch.empty(n_in, n_out).uniform_(-bound, bound).requires_grad_()
        return W, torch.zeros(n_out, requires_grad=True)

    W1, b1 = init(d, h)
    W2, b2 = init(h, d)
    optimizer = torch.optim.Adam([W1, b1, W2, b2], lr=LEARNING_RATE)
    rho, eps = SPARSITY_TARGET, 1e-6

    def run():
        start = time.perf_counter()
        order = torch.randperm(n)
        for batch_start in range(0, n, BATCH_SIZE):
            xb = Xt.index_select(0, order[batch_start : batch_start + BATCH_SIZE])
            m = xb.shape[0]
            hidden = torch.sigmoid(torch.addmm(b1, xb, W1))
            output = torch.sigmoid(torch.addmm(b2, hidden, W2))
            rho_hat = hidden.mean(dim=0).clamp(eps, 1 - eps)
            kl = (
                rho * torch.log(rho / rho_hat)
                + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))
            ).sum()
            loss = (
                0.5 * (output - xb).pow(2).sum() / m
                + SPARSITY_WEIGHT * kl
                + 0.5 * ALPHA * (W1.pow(2).sum() + W2.pow(2).sum())
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return {"per_epoch": time.perf_counter() - start}

    run.version = torch.__version__
    return run


# ---------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=" ".join(__doc__.split("\n\n")[0].split()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_arguments(parser)
    parser.add_argument(
        "--epochs", type=int, default=2, help="epochs per fit (default: 2)"
    )
    parser.add_argument(
        "--solver", nargs="+", choices=["adam", "sgd"], default=["adam", "sgd"]
    )
    parser.add_argument(
        "--decoder",
        nargs="+",
        choices=["sigmoid", "linear"],
        default=["sigmoid", "linear"],
        help="decoders of SparseAE to time (default: both)",
    )
    parser.add_argument("--no-mlp", action="store_true", help="skip MLPRegressor")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    args = parser.parse_args(argv)

    limit_blas_threads(args.threads)
    limit_kernel_threads(args.kernel_threads)
    X32, source = load_images(args.mnist_dir, args.n_samples)
    n_batches = -(-X32.shape[0] // BATCH_SIZE)
    print_header(
        "Seconds per epoch: SparseAutoencoderTransformer vs MLPRegressor, "
        "GEMM floor, PyTorch",
        args,
        extra=[
            source,
            f"network {X32.shape[1]} -> {N_COMPONENTS} -> {X32.shape[1]}, batch "
            f"{BATCH_SIZE} ({n_batches} batches/epoch), {args.epochs} epoch(s) "
            "per fit, shuffle=True",
        ],
    )

    if args.no_torch:
        torch_note = "PyTorch: skipped (--no-torch)"
    else:
        torch_note = "PyTorch: skipped (only run for solver adam, dtype float32)"
    results = {}  # (solver, dtype) -> {name: result}
    mlp_dtypes = {}
    floor_flops = 5 * 2 * X32.shape[0] * X32.shape[1] * N_COMPONENTS
    for dtype in args.dtype:
        X = X32 if dtype == "float32" else X32.astype(dtype)
        for solver in args.solver:
            functions = {"floor": floor_epoch(X)}
            for decoder in args.decoder:
                functions["sae", decoder] = sae_epochs(
                    X, solver, args.epochs, args.random_state, decoder
                )
            if not args.no_mlp:
                seen = mlp_dtypes.setdefault(dtype, set())
                functions["mlp"] = mlp_epochs(
                    X, solver, args.epochs, args.random_state, seen
                )
            if not args.no_torch and solver == "adam" and dtype == "float32":
                torch_run = torch_epoch(X, blas_threads(), args.random_state)
                if torch_run is None:
                    torch_note = "PyTorch: skipped (import torch failed)"
                else:
                    torch_note = (
                        f"PyTorch {torch_run.version}: "
                        f"{blas_threads()} threads (torch.set_num_threads)"
                    )
                    functions["torch"] = torch_run
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                results[solver, dtype] = interleaved_times(functions, args.repeat)

    headers = [
        "model",
        "decoder",
        "solver",
        "dtype",
        "s/epoch",
        "x floor",
        "MLP s/epoch",
        "speed-up vs MLP",
        "floor s/epoch",
        "in-solver s/epoch",
        "in-solver x floor",
    ]
    rows = []
    for (solver, dtype), res in results.items():
        floor = res["floor"]["per_epoch"]
        mlp = res["mlp"]["per_epoch"] if "mlp" in res else None
        for decoder in args.decoder:
            sae = res["sae", decoder]
            rows.append(
                [
                    "SparseAE",
                    decoder,
                    solver,
                    dtype,
                    seconds(sae["per_epoch"]),
                    ratio(sae["per_epoch"], floor),
                    seconds(mlp),
                    ratio(mlp, sae["per_epoch"]),
                    seconds(floor),
                    seconds(sae["solver_per_epoch"]),
                    ratio(sae["solver_per_epoch"], floor),
                ]
            )
        if "torch" in res:
            t = res["torch"]["per_epoch"]
            rows.append(
                ["PyTorch", "sigmoid", solver, dtype, seconds(t), ratio(t, floor)]
                + [seconds(mlp), ratio(mlp, t), seconds(floor), "-", "-"]
            )
    print_table(headers, rows)
    print()
    print(
        "x floor: seconds / GEMM-floor seconds (lower is better, 1.00x = only "
        "the matrix products); speed-up vs MLP: MLPRegressor seconds / these seconds "
        "(higher is better)."
    )
    print(
        "s/epoch is fit time / epochs (fit's fixed costs included); in-solver "
        "counts only the epochs loop (MinibatchSolver.run)."
    )

    for solver in args.solver:
        if (solver, "float32") in results and (solver, "float64") in results:
            r32, r64 = results[solver, "float32"], results[solver, "float64"]
            parts = [
                f"SparseAE ({decoder}) "
                + ratio(
                    r64["sae", decoder]["per_epoch"], r32["sae", decoder]["per_epoch"]
                )
                for decoder in args.decoder
            ]
            parts += [
                "GEMM floor "
                + ratio(r64["floor"]["per_epoch"], r32["floor"]["per_epoch"]),
            ]
            if "mlp" in r32:
                parts.append(
                    "MLPRegressor "
                    + ratio(r64["mlp"]["per_epoch"], r32["mlp"]["per_epoch"])
                )
            print(f"float32 vs float64 speed-up ({solver}): " + ", ".join(parts))

    for dtype in args.dtype:
        key = next((k for k in results if k[1] == dtype), None)
        if key is not None:
            floor = results[key]["floor"]["per_epoch"]
            print(
                f"GEMM floor {dtype}: {floor_flops / floor / 1e9:.1f} GFLOP/s "
                f"({floor_flops / 1e9:.1f} GFLOP per epoch)"
            )
    for dtype, seen in mlp_dtypes.items():
        print(
            f"MLPRegressor fitted on {dtype} X computes in "
            f"{', '.join(sorted(seen)) or '?'} (dtype of its coefs_)"
        )
    print(torch_note)


if __name__ == "__main__":
    main()
