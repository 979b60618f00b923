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
    blas_threads,
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


def torch_topk_epoch(X, args):
    """One epoch of the same TopK model in PyTorch (float32), or None without torch.

    x_c = x - b_dec, z = ReLU(TopK(x_c W_enc + b_enc)), x_hat = z W_dec + b_dec,
    loss = squared error / the data's variance (FVU) + AuxK / 32 on the dead
    latents (not active over the last 10,000 rows), Adam, the decoder
    gradient's component parallel to each row removed and the rows renormalised
    after each step: the model TopKSparseAutoencoder trains, written plainly.
    """
    try:
        import torch
    except ImportError:
        return None

    torch.set_num_threads(blas_threads())
    torch.manual_seed(args.random_state)
    Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    n, d = Xt.shape
    h, k, k_aux, dead_after = args.n_components, args.k, d // 2, 10000
    W_dec = torch.randn(h, d)
    W_dec /= W_dec.norm(dim=1, keepdim=True)
    W_enc = W_dec.T.clone().requires_grad_()
    W_dec.requires_grad_()
    b_enc = torch.zeros(h, requires_grad=True)
    b_dec = Xt.mean(dim=0).clone().requires_grad_()
    optimizer = torch.optim.Adam([W_enc, b_enc, W_dec, b_dec], lr=1e-3)
    variance = ((Xt - Xt.mean(dim=0)) ** 2).sum(dim=1).mean()
    rows_since_active = torch.zeros(h)

    def run():
        start = time.perf_counter()
        order = torch.randperm(n)
        for batch_start in range(0, n, BATCH_SIZE):
            xb = Xt.index_select(0, order[batch_start : batch_start + BATCH_SIZE])
            pre = (xb - b_dec) @ W_enc + b_enc
            values, indices = pre.topk(k, dim=1)
            z = torch.zeros_like(pre).scatter(1, indices, values.relu())
            err = xb - (z @ W_dec + b_dec)
            loss = (err**2).sum(dim=1).mean() / variance
            with torch.no_grad():
                active = torch.zeros(h, dtype=torch.bool)
                active[indices[values > 0]] = True
                rows_since_active.add_(xb.shape[0])
                rows_since_active[active] = 0
                dead = rows_since_active > dead_after
            n_dead = int(dead.sum())
            if n_dead:
                pre_dead = pre.masked_fill(~dead, float("-inf"))
                v_aux, i_aux = pre_dead.topk(min(k_aux, n_dead), dim=1)
                z_aux = torch.zeros_like(pre).scatter(1, i_aux, v_aux.relu())
                aux = ((err.detach() - z_aux @ W_dec) ** 2).sum(dim=1).mean()
                loss = loss + aux / variance / 32
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            with torch.no_grad():
                g = W_dec.grad
                g -= (g * W_dec).sum(dim=1, keepdim=True) * W_dec
            optimizer.step()
            with torch.no_grad():
                W_dec.div_(W_dec.norm(dim=1, keepdim=True))
        return {"epoch": time.perf_counter() - start}

    run.version = torch.__version__
    return run


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
    parser.add_argument(
        "--no-dl",
        action="store_true",
        help="skip dictionary learning (only the dead latents and epoch times)",
    )
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch")
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
    epoch = fit_seconds / with_auxk.n_iter_
    torch_run = None if args.no_torch else torch_topk_epoch(X, args)
    torch_epoch = None
    if torch_run is not None:
        torch_epoch = interleaved_times({"torch": torch_run}, args.repeat)["torch"]
        torch_epoch = torch_epoch["epoch"]
    topk_fvu = -with_auxk.score(X_test)
    if args.no_dl:
        report_dead_and_epochs(args, X, X_test, with_auxk, without_auxk, epoch)
        report_torch(epoch, torch_epoch, torch_run)
        return

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
    omp_fvu = fvu(
        X_test, dictionary.transform(X_test_centred) @ dictionary.components_ + mean
    )

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
    report_dead_and_epochs(args, X, X_test, with_auxk, without_auxk, epoch)
    report_torch(epoch, torch_epoch, torch_run)


def report_dead_and_epochs(args, X, X_test, with_auxk, without_auxk, epoch):
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
                f"{-with_auxk.score(X_test):.4f}",
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
    floor, _ = gemm_floor(X, args.n_components, BATCH_SIZE, seed=args.random_state)
    floor_seconds = interleaved_times({"floor": floor}, args.repeat)["floor"]["seconds"]
    print_table(
        ["", "seconds", "x floor"],
        [
            ["TopK epoch (fit / epochs)", seconds(epoch), ratio(epoch, floor_seconds)],
            ["GEMM floor (5 dense products)", seconds(floor_seconds), "1.00x"],
        ],
    )
    print()
    print(
        "x floor: epoch seconds / floor seconds (target at most 1.5x); the "
        "epoch includes the shuffle, AuxK and Adam."
    )


def report_torch(epoch, torch_epoch, torch_run):
    print()
    if torch_run is None:
        print("PyTorch: skipped (not installed, or --no-torch)")
        return
    print(
        f"PyTorch {torch_run.version} (same model, {blas_threads()} threads): "
        f"{torch_epoch:.3f} s per epoch; TopKSparseAutoencoder {epoch:.3f} s, "
        f"{torch_epoch / epoch:.2f}x faster (target: faster)."
    )


if __name__ == "__main__":
    main()
