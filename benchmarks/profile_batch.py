"""Where one minibatch's time goes: each step of an Adam update, timed alone.

Usage::

    python benchmarks/profile_batch.py [--mnist-dir DIR] [--n-samples 60000]
        [--threads N] [--dtype float32] [--decoder sigmoid] [--repeat 1]

Runs ``--repeat`` epochs (default 1) of batches of 256 shuffled rows through
the steps of
``sparse_autoencoder_loss_grad`` and ``AdamOptimizer.update``, written out
here one call at a time with a clock around each (the package's own
functions: the fused kernels of ``skl_sparse_ae._kernels``, ``kl_sparsity``,
...), then prints the mean milliseconds per batch of
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
    limit_kernel_threads,
    load_images,
    print_header,
    print_table,
)

from skl_sparse_ae import _kernels
from skl_sparse_ae._objective import (
    _zeroed_sums,
    add_weight_decay_gradient,
    clip_activation,
    kl_sparsity,
    sparse_autoencoder_loss_grad,
    weight_decay,
)
from skl_sparse_ae._params import Workspace, init_layer, layer_shapes, pack, unpack
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
    inv_m = 1.0 / m
    clock.tick("unpack")
    # sigmoid_layer, its product and its fused pass timed apart
    A2 = np.matmul(X, W1, out=ws.get("hidden", (m, N_COMPONENTS), dtype))
    clock.tick("GEMM X @ W1")
    hidden_sums = _zeroed_sums(ws, "hidden_sums", N_COMPONENTS)
    _kernels.sigmoid_bias(A2, b1, hidden_sums)
    clock.tick("kernel: hidden intercept, sigmoid, column sums")
    rho_hat = (hidden_sums * inv_m).astype(dtype)
    kl_value, kl_grad = kl_sparsity(clip_activation(rho_hat), HYPER["sparsity_target"])
    loss = HYPER["sparsity_weight"] * kl_value
    kl_term = kl_grad * dtype.type(HYPER["sparsity_weight"] * inv_m)
    clock.tick("rho_hat and KL")
    delta3 = np.matmul(A2, W2, out=ws.get("output", (m, n_features), dtype))
    clock.tick("GEMM A2 @ W2")
    output_sums = _zeroed_sums(ws, "output_sums", n_features)
    squared_error = _kernels.output_delta(
        delta3, b2, X, decoder == "sigmoid", inv_m, output_sums
    )
    clock.tick("kernel: output activation, residual, loss, delta3, column sums")
    np.matmul(A2.T, delta3, out=dW2)
    clock.tick("GEMM A2.T @ delta3")
    delta2 = np.matmul(
        delta3, W2.T, out=ws.get("hidden_delta", (m, N_COMPONENTS), dtype)
    )
    clock.tick("GEMM delta3 @ W2.T")
    hidden_delta_sums = _zeroed_sums(ws, "hidden_delta_sums", N_COMPONENTS)
    _kernels.hidden_delta(delta2, A2, kl_term, hidden_delta_sums)
    clock.tick("kernel: hidden delta, column sums")
    np.matmul(X.T, delta2, out=dW1)
    clock.tick("GEMM X.T @ delta2")
    db2[...] = output_sums
    db1[...] = hidden_delta_sums
    add_weight_decay_gradient(dW2, W2, HYPER["alpha"])
    add_weight_decay_gradient(dW1, W1, HYPER["alpha"])
    loss += 0.5 * squared_error / m + weight_decay([W1, W2], HYPER["alpha"])
    clock.tick("kernel: weight decay; intercept gradients")
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
    limit_kernel_threads(args.kernel_threads)
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
                _kernels.take_rows(Xd, rows, buffer)
                clock.tick("kernel: gather the shuffled rows")
                batch_steps(theta, batch, grad, ws, args.decoder, clock)
                optimizer.update(theta, grad)
                clock.tick("kernel: Adam update")

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
