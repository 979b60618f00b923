"""Where one minibatch's time goes: each step of an Adam update, timed alone.

Usage::

    python benchmarks/profile_batch.py [--mnist-dir DIR] [--n-samples 60000]
        [--threads N] [--dtype float32] [--decoder sigmoid] [--repeat 1]

Runs ``--repeat`` epochs (default 1) of batches of 256 shuffled rows through
the steps of
``sparse_autoencoder_loss_grad`` and ``AdamOptimizer.update``, written out
here one call at a time with a clock around each (the package's own
functions: ``inplace_sigmoid_of_negated``, ``kl_sparsity``,
``_sum_layer_products``, ...), then prints the mean milliseconds per batch of
every step and its share. The five matrix products are marked ``GEMM``;
everything else is what the "x floor" ratios of ``bench_epoch.py`` pay for.
Before timing, the script checks that its steps give the package's loss and
gradient on one batch, so it cannot drift from the code it profiles.

Shares are what to read; the milliseconds depend on the machine and its load.
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from _bench_common import (
    BATCH_SIZE,
    N_COMPONENTS,
    add_common_arguments,
    limit_blas_threads,
    load_images,
    print_header,
    print_table,
)

from skl_sparse_ae._objective import (
    Workspace,
    _average_and_decay,
    _subtract_data,
    _sum_layer_products,
    clip_activation,
    init_layer,
    inplace_sigmoid_derivative,
    inplace_sigmoid_of_negated,
    kl_sparsity,
    layer_shapes,
    pack,
    sparse_autoencoder_loss_grad,
    unpack,
    weight_decay,
)
from skl_sparse_ae._solvers import AdamOptimizer

HYPER = {"alpha": 1e-4, "sparsity_target": 0.05, "sparsity_weight": 3.0}


class Clock:
    """Adds the time since the last tick to the named step."""

    def __init__(self):
        self.totals = {}
        self.last = time.perf_counter()

    def tick(self, step):
        now = time.perf_counter()
        self.totals[step] = self.totals.get(step, 0.0) + now - self.last
        self.last = now


def batch_steps(theta, X, grad, ws, decoder, clock):
    """``sparse_autoencoder_loss_grad`` for one batch, one step at a time.

    The same calls in the same order as the package's objective with a single
    row block (a minibatch is one block); returns the loss.
    """
    m, n_features = X.shape
    dtype = theta.dtype
    shapes = layer_shapes((n_features, N_COMPONENTS, n_features))
    W1, b1, W2, b2 = unpack(theta, shapes)
    dW1, db1, dW2, db2 = unpack(grad, shapes)
    clock.tick("unpack")
    # sigmoid_layer, its product and its elementwise passes timed apart
    A2 = np.matmul(X, W1, out=ws.get("hidden", (m, N_COMPONENTS), dtype))
    clock.tick("GEMM X @ W1")
    inplace_sigmoid_of_negated(np.subtract(-b1, A2, out=A2))
    clock.tick("hidden intercept and sigmoid")
    rho_hat = np.matmul(ws.ones(m, dtype), A2)
    rho_hat *= dtype.type(1.0 / m)
    kl_value, kl_grad = kl_sparsity(clip_activation(rho_hat), HYPER["sparsity_target"])
    loss = HYPER["sparsity_weight"] * kl_value
    kl_grad *= dtype.type(HYPER["sparsity_weight"])
    clock.tick("rho_hat and KL")
    H = np.matmul(A2, W2, out=ws.get("output", (m, n_features), dtype))
    clock.tick("GEMM A2 @ W2")
    if decoder == "sigmoid":
        inplace_sigmoid_of_negated(np.subtract(-b2, H, out=H))
    else:
        H += b2
    clock.tick("output intercept and activation")
    if decoder == "sigmoid":
        fprime = ws.get("output_tmp", H.shape, dtype)
        np.subtract(1, H, out=fprime)
        fprime *= H
    delta3 = _subtract_data(H, X)
    data_term = float(np.vdot(delta3, delta3))
    if decoder == "sigmoid":
        delta3 *= fprime
    clock.tick("output delta and loss")
    _sum_layer_products(A2, delta3, dW2, db2, ws)
    clock.tick("GEMM A2.T @ delta3 (+ column sums)")
    delta2 = ws.get("hidden_delta", (m, N_COMPONENTS), dtype)
    np.matmul(delta3, W2.T, out=delta2)
    clock.tick("GEMM delta3 @ W2.T")
    delta2 += kl_grad
    inplace_sigmoid_derivative(A2, delta2, ws.get("hidden_tmp", delta2.shape, dtype))
    clock.tick("hidden delta")
    _sum_layer_products(X, delta2, dW1, db1, ws)
    clock.tick("GEMM X.T @ delta2 (+ column sums)")
    loss += 0.5 * data_term / m
    _average_and_decay(dW2, db2, W2, HYPER["alpha"], m, ws)
    _average_and_decay(dW1, db1, W1, HYPER["alpha"], m, ws)
    loss += weight_decay([W1, W2], HYPER["alpha"])
    clock.tick("average, weight decay")
    return loss


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=" ".join(__doc__.split("\n\n")[0].split()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_arguments(parser)
    parser.set_defaults(dtype=["float32"], repeat=1)
    parser.add_argument("--decoder", choices=["sigmoid", "linear"], default="sigmoid")
    args = parser.parse_args(argv)
    limit_blas_threads(args.threads)
    X, source = load_images(args.mnist_dir, args.n_samples)
    if X.shape[0] < BATCH_SIZE:
        parser.error(f"--n-samples must be at least one batch ({BATCH_SIZE} rows)")
    print_header(
        "One minibatch, step by step", args, extra=[source, f"decoder {args.decoder}"]
    )
    rng = np.random.RandomState(args.random_state)
    n_features = X.shape[1]
    for dtype in args.dtype:
        Xd = X.astype(dtype, copy=False)
        W1, b1 = init_layer(n_features, N_COMPONENTS, Xd.dtype, rng)
        W2, b2 = init_layer(N_COMPONENTS, n_features, Xd.dtype, rng)
        theta = pack([W1, b1, W2, b2])
        grad, ws = np.empty_like(theta), Workspace()

        # the steps must be the package's objective
        batch = Xd[:BATCH_SIZE]
        loss = batch_steps(theta, batch, grad, ws, args.decoder, Clock())
        ref_loss, ref_grad = sparse_autoencoder_loss_grad(
            theta, batch, N_COMPONENTS, decoder=args.decoder, **HYPER
        )
        tol = 1e-5 if Xd.dtype == np.float32 else 1e-10
        if not np.isclose(loss, ref_loss, rtol=tol) or not np.allclose(
            grad, ref_grad, rtol=tol, atol=tol * np.abs(ref_grad).max()
        ):
            raise SystemExit("the profiled steps no longer match the objective")

        optimizer = AdamOptimizer(theta)
        buffer = np.empty((BATCH_SIZE, n_features), Xd.dtype)
        per_epoch = Xd.shape[0] // BATCH_SIZE  # full batches only
        n_batches = per_epoch * max(args.repeat, 1)
        clock = Clock()
        for _ in range(max(args.repeat, 1)):
            order = rng.permutation(Xd.shape[0])
            for k in range(per_epoch):
                rows = order[k * BATCH_SIZE : (k + 1) * BATCH_SIZE]
                clock.last = time.perf_counter()
                batch = np.take(Xd, rows, axis=0, out=buffer)
                clock.tick("gather the shuffled rows")
                batch_steps(theta, batch, grad, ws, args.decoder, clock)
                optimizer.update(theta, grad)
                clock.tick("Adam update")

        total = sum(clock.totals.values())
        gemm = sum(v for k, v in clock.totals.items() if k.startswith("GEMM"))
        rows = [
            [step, f"{seconds / n_batches * 1e3:.3f}", f"{seconds / total:.1%}"]
            for step, seconds in clock.totals.items()
        ]
        rows.append(["total", f"{total / n_batches * 1e3:.3f}", "100.0%"])
        print(f"\n{dtype}, {n_batches} batches of {BATCH_SIZE} rows")
        print_table(["step", "ms / batch", "share"], rows)
        print(
            f"steps with a matrix product (GEMM): {gemm / total:.1%} of the time; "
            f"the rest: {(total - gemm) / total:.1%}"
        )


if __name__ == "__main__":
    main()
