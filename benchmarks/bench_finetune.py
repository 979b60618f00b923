"""Seconds per fine-tuning epoch of the stacked network, against MLPClassifier
and the network's GEMM floor, measured side by side in one run.

Usage::

    python benchmarks/bench_finetune.py [--epochs 4] [--solver adam]
        [--hidden 200 200] [--dropout 0 0.5] [--input-dropout 0.2]
        [--dtype float32] [--threads N] [--kernel-threads N]

For each dtype and solver:

* ``StackedSparseAEClassifier(hidden_layer_sizes=--hidden)`` with one
  pretraining epoch per layer and ``fine_tune_max_iter`` of 1 and of
  ``--epochs``: the fine-tuning epoch is ``(fit(E) - fit(1)) / (E - 1)``, so
  pretraining and the softmax layer cancel out; "in-solver" is the time inside
  the fine-tuning's epochs loop alone, divided by E; one row per
  ``--dropout`` rate of the hidden units (with ``--input-dropout`` on the
  inputs where the rate is not 0), so dropout's cost is read side by side;
* ``MLPClassifier(hidden_layer_sizes=--hidden, activation="logistic")``, same
  solver, batch size 256, learning rate, alpha and epochs, timed the same way
  (scikit-learn keeps float32 data in float32 since 1.3);
* the **GEMM floor**: per batch of 256 rows, the matrix products of
  backpropagation through the network alone (a forward product per layer, a
  weight-gradient product per layer, a back-propagated delta per layer but the
  first), on preallocated arrays, no elementwise work.

Ratios are what to read: "x floor" is seconds / floor seconds, "vs MLP" is
MLPClassifier seconds / ours (above 1: we are faster).
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
    SOLVER_SECONDS,
    add_common_arguments,
    interleaved_times,
    limit_blas_threads,
    limit_kernel_threads,
    print_header,
    print_table,
    record_solver_seconds,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from skl_sparse_ae import StackedSparseAEClassifier

NEVER = 10**9
LEARNING_RATE = 1e-3

record_solver_seconds()


def load_digits_of_mnist(mnist_dir, n_samples):
    from skl_sparse_ae.datasets import load_mnist

    mnist = load_mnist(mnist_dir)
    X = np.ascontiguousarray(mnist.X_train[:n_samples], dtype=np.float32)
    source = f"MNIST from {mnist_dir}" if mnist_dir else "MNIST from fetch_openml"
    return X, mnist.y_train[:n_samples], f"data: {source}, {X.shape[0]} x {X.shape[1]}"


def ours(X, y, hidden, solver, epochs, seed, dropout=(0.0, 0.0)):
    def run():
        clf = StackedSparseAEClassifier(
            hidden_layer_sizes=hidden,
            fine_tune_dropout=dropout[0],
            fine_tune_input_dropout=dropout[1],
            pretrain_max_iter=1,
            softmax_max_iter=5,
            fine_tune_solver=solver,
            fine_tune_max_iter=epochs,
            fine_tune_batch_size=BATCH_SIZE,
            fine_tune_learning_rate_init=LEARNING_RATE,
            tol=0,
            n_iter_no_change=NEVER,
            random_state=seed,
        )
        SOLVER_SECONDS.clear()
        start = time.perf_counter()
        clf.fit(X, y)
        seconds = time.perf_counter() - start
        if clf.n_iter_ != epochs:
            raise RuntimeError(f"fine-tuned {clf.n_iter_} epochs, not {epochs}")
        # the last minibatch run of a fit is the fine-tuning
        return {"fit": seconds, "in_solver": SOLVER_SECONDS[-1] / epochs}

    return run


def mlp(X, y, hidden, solver, epochs, seed):
    def run():
        clf = MLPClassifier(
            hidden_layer_sizes=hidden,
            activation="logistic",
            solver=solver,
            batch_size=BATCH_SIZE,
            learning_rate_init=LEARNING_RATE,
            max_iter=epochs,
            tol=0,
            n_iter_no_change=NEVER,
            alpha=1e-5,
            random_state=seed,
        )
        start = time.perf_counter()
        clf.fit(X, y)
        seconds = time.perf_counter() - start
        if clf.n_iter_ != epochs:
            raise RuntimeError(f"MLPClassifier ran {clf.n_iter_} epochs, not {epochs}")
        return {"fit": seconds, "dtype": clf.coefs_[0].dtype.name}

    return run


def network_floor(X, sizes, batch_size, seed=0):
    """The products of one epoch of backpropagation through ``sizes``, alone."""
    n = X.shape[0]
    dtype = X.dtype
    rng = np.random.default_rng(seed)
    b = min(batch_size, n)
    Ws = [
        (0.1 * rng.uniform(-1, 1, (i, o))).astype(dtype)
        for i, o in zip(sizes, sizes[1:])
    ]
    acts = [np.full((b, o), 0.5, dtype) for o in sizes[1:]]
    deltas = [np.full((b, o), 0.01, dtype) for o in sizes[1:]]
    grads = [np.empty_like(W) for W in Ws]
    back = [np.empty((b, i), dtype) for i in sizes[1:-1]]

    def epoch():
        for start in range(0, n, b):
            Xb = X[start : start + b]
            m = Xb.shape[0]
            inputs = Xb
            for W, out in zip(Ws, acts):
                np.matmul(inputs, W, out=out[:m])
                inputs = out[:m]
            for k in range(len(Ws) - 1, -1, -1):
                layer_in = Xb if k == 0 else acts[k - 1][:m]
                np.matmul(layer_in.T, deltas[k][:m], out=grads[k])
                if k > 0:
                    np.matmul(deltas[k][:m], Ws[k].T, out=back[k - 1][:m])

    def run():
        start = time.perf_counter()
        epoch()
        return {"fit": time.perf_counter() - start}

    return run


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=" ".join(__doc__.split("\n\n")[0].split()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_arguments(parser)
    parser.set_defaults(dtype=["float32"])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument(
        "--solver", nargs="+", choices=["adam", "sgd"], default=["adam"]
    )
    parser.add_argument("--hidden", type=int, nargs="+", default=[200, 200])
    parser.add_argument("--no-mlp", action="store_true", help="skip MLPClassifier")
    parser.add_argument(
        "--dropout",
        type=float,
        nargs="+",
        default=[0.0],
        help="dropout rates of the hidden units, one row each (default: 0)",
    )
    parser.add_argument(
        "--input-dropout",
        type=float,
        default=0.2,
        help="dropout rate of the inputs in the rows with dropout (default: 0.2)",
    )
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2")
    limit_blas_threads(args.threads)
    limit_kernel_threads(args.kernel_threads)
    X, y, source = load_digits_of_mnist(args.mnist_dir, args.n_samples)
    hidden = tuple(args.hidden)
    sizes = (X.shape[1], *hidden, len(np.unique(y)))
    print_header(
        "Fine-tuning epoch: StackedSparseAEClassifier vs MLPClassifier",
        args,
        extra=[source, f"network {'-'.join(map(str, sizes))}, batch {BATCH_SIZE}"],
    )
    warnings.simplefilter("ignore", ConvergenceWarning)
    rows = []
    for dtype in args.dtype:
        Xd = X.astype(dtype)
        for solver, rate in ((s, r) for s in args.solver for r in args.dropout):
            E = args.epochs
            drop = (rate, args.input_dropout if rate else 0.0)
            seed = args.random_state
            funcs = {
                "floor": network_floor(Xd, sizes, BATCH_SIZE),
                "ours 1": ours(Xd, y, hidden, solver, 1, seed, drop),
                f"ours {E}": ours(Xd, y, hidden, solver, E, seed, drop),
            }
            if not args.no_mlp:
                funcs["mlp 1"] = mlp(Xd, y, hidden, solver, 1, args.random_state)
                funcs[f"mlp {E}"] = mlp(Xd, y, hidden, solver, E, args.random_state)
            t = interleaved_times(funcs, args.repeat)
            floor = t["floor"]["fit"]
            per_epoch = (t[f"ours {E}"]["fit"] - t["ours 1"]["fit"]) / (E - 1)
            in_solver = t[f"ours {E}"]["in_solver"]
            label = f"{dtype} {solver}"
            if rate:
                label += f", dropout {rate:g}/{drop[1]:g}"
            row = [
                label,
                f"{floor:.3f}",
                f"{per_epoch:.3f}",
                f"{per_epoch / floor:.2f}x",
                f"{in_solver:.3f}",
                f"{in_solver / floor:.2f}x",
            ]
            if not args.no_mlp:
                mlp_epoch = (t[f"mlp {E}"]["fit"] - t["mlp 1"]["fit"]) / (E - 1)
                row += [
                    f"{mlp_epoch:.3f} ({t[f'mlp {E}']['dtype']})",
                    f"{mlp_epoch / floor:.2f}x",
                    f"{mlp_epoch / per_epoch:.2f}x",
                ]
            rows.append(row)
    headers = [
        "dtype solver",
        "floor s",
        "ours s/epoch",
        "x floor",
        "in-solver s",
        "x floor",
    ]
    if not args.no_mlp:
        headers += ["MLP s/epoch", "x floor", "vs MLP"]
    print_table(headers, rows)


if __name__ == "__main__":
    main()
