"""JumpReLU: does the L0 penalty train the L0 down with theta in linear or log space?

Usage::

    python benchmarks/bench_jumprelu_threshold.py [--mnist-dir DIR]
        [--n-samples 5000] [--epochs 20] [--seeds 3]

For each data set (the digits, scaled to [0, 1]; the first ``--n-samples``
MNIST training images when ``--mnist-dir`` is given), each threshold space
and each ``l0_weight``, fits ``TopKSparseAutoencoder(sparsity="jumprelu")``
with the default bandwidth and initial threshold and prints the mean L0 of
``transform`` on the training rows, the FVU, and how far the median
threshold moved from its initial value (mean over ``--seeds``). The issue it
measures: under Adam a step moves a parameter by about the learning rate, so
in log space theta moves by a factor ``exp(+-lr)`` a step and stays near its
start (SAELens issues 494, 718, 719).
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from skl_sparse_ae import TopKSparseAutoencoder
from skl_sparse_ae.datasets import load_mnist

L0_WEIGHTS = [1e-3, 1e-2, 1e-1]


def measure(X, n_components, epochs, seeds):
    scale = np.sqrt(np.var(X, axis=0, dtype=np.float64).mean())
    print(f"  {'space':<7} {'l0_weight':>9} {'L0':>7} {'FVU':>6} {'moved':>7} {'s':>5}")
    for space in ["linear", "log"]:
        for l0_weight in L0_WEIGHTS:
            l0, fvu, moved, start = [], [], [], time.perf_counter()
            for seed in range(seeds):
                sae = TopKSparseAutoencoder(
                    n_components=n_components,
                    sparsity="jumprelu",
                    l0_weight=l0_weight,
                    jumprelu_threshold_space=space,
                    max_iter=epochs,
                    batch_size=64,
                    random_state=seed,
                ).fit(X)
                l0.append((sae.transform(X) != 0).sum(axis=1).mean())
                fvu.append(-sae.score(X))
                init = sae.jumprelu_threshold_init * scale
                moved.append(np.median(sae.threshold_) / init)
            seconds = (time.perf_counter() - start) / seeds
            print(
                f"  {space:<7} {l0_weight:>9g} {np.mean(l0):>7.1f} "
                f"{np.mean(fvu):>6.3f} {np.mean(moved):>6.2f}x {seconds:>5.1f}"
            )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist-dir", default=None)
    parser.add_argument("--n-samples", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    with threadpool_limits(limits=1, user_api="blas"):
        digits = (load_digits().data / 16).astype(np.float32)
        print(f"digits (1797 x 64), 64 latents, {args.epochs} epochs")
        measure(digits, 64, args.epochs, args.seeds)
        if args.mnist_dir:
            X = load_mnist(idx_dir=args.mnist_dir).X_train[: args.n_samples]
            print(f"MNIST ({args.n_samples} x 784), 256 latents, {args.epochs} epochs")
            measure(X, 256, args.epochs, args.seeds)


if __name__ == "__main__":
    main()
