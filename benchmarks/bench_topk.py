"""TopK sparse autoencoder on MNIST against dictionary learning + OMP, side by side.

Usage::

    python benchmarks/bench_topk.py [--mnist-dir DIR] [--n-samples 60000]
        [--n-components 1024] [--k 32] [--epochs 10] [--repeat 3] [--threads N]

Quick check::

    python benchmarks/bench_topk.py --n-samples 2000 --n-components 128 --k 8 \\
        --epochs 1 --repeat 1

In one run, on the first ``--n-samples`` MNIST training images (float32):

* **FVU**: ``TopKSparseAutoencoder(n_components, k)`` trained ``--epochs``
  epochs with adam, against ``MiniBatchDictionaryLearning`` with the same
  number of atoms (``--dl-iter`` passes) whose codes are found by OMP with
  ``k`` non-zeros; both scored on the first 10,000 test images (fraction of
  variance unexplained, lower is better).
* **transform**: seconds of ``transform`` of those test images, TopK against
  OMP (interleaved, median of ``--repeat``), and their ratio.
* **dead latents**: the fraction of dead latents after training with AuxK
  (``aux_weight=1/32``) and without it (``aux_weight=0``), same seed.
* **epoch time vs its GEMM floor**: seconds per epoch of ``fit`` (with AuxK)
  against the five dense products of one epoch of a d -> h -> d autoencoder
  with batches of 256 rows (``_bench_common.gemm_floor``). The TopK
  objective replaces three of them by sparse products, so the ratio can be
  below 1.
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from _bench_common import (
    add_common_arguments,
    gemm_floor,
    interleaved_times,
    limit_blas_threads,
    load_images,
    print_header,
    print_table,
    ratio,
    seconds,
)
from sklearn.decomposition import MiniBatchDictionaryLearning
from sklearn.exceptions import ConvergenceWarning

from skl_sparse_ae import TopKSparseAutoencoder
from skl_sparse_ae.datasets import load_mnist

BATCH_SIZE = 256


def fvu(X, X_hat):
    X = X.astype(np.float64)
    return float(((X - X_hat) ** 2).sum() / ((X - X.mean(axis=0)) ** 2).sum())


def dead(model, h):
    return f"{model.n_dead_components_} ({model.n_dead_components_ / h:.1%})"


def fit_topk(X, args, aux_weight):
    model = TopKSparseAutoencoder(
        n_components=args.n_components,
        k=args.k,
        aux_weight=aux_weight,
        batch_size=BATCH_SIZE,
        max_iter=args.epochs,
        tol=0,
        n_iter_no_change=10**6,
        random_state=args.random_state,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(X)
    return model, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=" ".join(__doc__.split("\n\n")[0].split()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_arguments(parser)
    parser.add_argument("--n-components", type=int, default=1024)
    parser.add_argument("--k", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=10, help="TopK epochs")
    parser.add_argument(
        "--dl-iter", type=int, default=1, help="passes of dictionary learning"
    )
    parser.add_argument("--n-test", type=int, default=10000)
    args = parser.parse_args(argv)

    limit_blas_threads(args.threads)
    X, source = load_images(args.mnist_dir, args.n_samples)
    X_test = np.ascontiguousarray(
        load_mnist(args.mnist_dir).X_test[: args.n_test], dtype=np.float32
    )
    print_header(
        "TopK sparse autoencoder vs dictionary learning + OMP",
        args,
        extra=[
            source,
            f"{args.n_components} atoms, k = {args.k}, {args.epochs} epochs of adam "
            f"(batches of {BATCH_SIZE}), float32; {X_test.shape[0]} test images",
        ],
    )

    with_auxk, fit_seconds = fit_topk(X, args, aux_weight=1 / 32)
    without_auxk, _ = fit_topk(X, args, aux_weight=0)

    mean = X.mean(axis=0)
    dictionary = MiniBatchDictionaryLearning(
        n_components=args.n_components,
        batch_size=BATCH_SIZE,
        max_iter=args.dl_iter,
        transform_algorithm="omp",
        transform_n_nonzero_coefs=args.k,
        random_state=args.random_state,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        dictionary.fit(X - mean)
    dl_seconds = time.perf_counter() - start
    X_test_centred = X_test - mean

    times = interleaved_times(
        {
            "topk": lambda: (with_auxk.transform(X_test), None)[1],
            "omp": lambda: (dictionary.transform(X_test_centred), None)[1],
        },
        args.repeat,
    )
    topk_fvu = -with_auxk.score(X_test)
    omp_fvu = fvu(
        X_test, dictionary.transform(X_test_centred) @ dictionary.components_ + mean
    )

    floor, _ = gemm_floor(X, args.n_components, BATCH_SIZE, seed=args.random_state)
    floor_times = interleaved_times({"floor": floor}, args.repeat)
    epoch = fit_seconds / with_auxk.n_iter_

    print_table(
        ["", "TopK SAE", "dict. learning + OMP", "ratio"],
        [
            ["test FVU", f"{topk_fvu:.4f}", f"{omp_fvu:.4f}", ratio(topk_fvu, omp_fvu)],
            [
                "transform s",
                seconds(times["topk"]["seconds"]),
                seconds(times["omp"]["seconds"]),
                ratio(times["omp"]["seconds"], times["topk"]["seconds"]),
            ],
            ["fit s", seconds(fit_seconds), seconds(dl_seconds), ""],
        ],
    )
    print()
    print(
        "ratio: FVU TopK / OMP (target within 1.10x); transform OMP / TopK "
        "(target at least 20x faster)."
    )
    print()
    h = args.n_components
    print_table(
        ["", "with AuxK", "without AuxK"],
        [
            [
                "dead latents",
                dead(with_auxk, h),
                dead(without_auxk, h),
            ],
            [
                "never active on train",
                str(int((with_auxk.activation_frequency_ == 0).sum())),
                str(int((without_auxk.activation_frequency_ == 0).sum())),
            ],
            [
                "test FVU",
                f"{topk_fvu:.4f}",
                f"{-without_auxk.score(X_test):.4f}",
            ],
        ],
    )
    print()
    print(
        "dead: not active over the last dead_after = "
        f"{with_auxk.dead_after} training rows (target under 5 % with AuxK)."
    )
    print()
    print_table(
        ["", "seconds", "x floor"],
        [
            ["TopK epoch (fit / epochs)", seconds(epoch), ""],
            [
                "GEMM floor (5 dense products)",
                seconds(floor_times["floor"]["seconds"]),
                ratio(epoch, floor_times["floor"]["seconds"]),
            ],
        ],
    )
    print()
    print(
        "x floor: epoch seconds / floor seconds (target at most 1.5x); the "
        "epoch includes the shuffle, AuxK and Adam."
    )


if __name__ == "__main__":
    main()
