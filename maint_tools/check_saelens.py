"""Check skl_sparse_ae's SAELens directories against SAELens itself.

Both directions, on the digits (64 features), in float32 (and float64):

1. ours -> SAELens: fit small TopK, BatchTopK and L1 models (and JumpReLU when
   the package has ``sparsity="jumprelu"``), write each with
   :func:`skl_sparse_ae.interop.save_saelens`, load it with SAELens'
   ``SAE.load_from_disk``, encode the same rows with SAELens' ``encode`` and
   decode them with its ``decode``, and compare with ``transform`` and
   ``inverse_transform``;
2. SAELens -> ours: make SAELens SAEs with random weights (TopK, TopK with
   ``rescale_acts_by_decoder_norm``, JumpReLU, standard, standard with
   ``apply_b_dec_to_input=False``, and a BatchTopK training SAE saved for
   inference, which SAELens writes as JumpReLU), write each with SAELens'
   ``save_model`` (``save_inference_model``), read it with
   :func:`skl_sparse_ae.interop.load_saelens`, and compare the codes.

SAELens needs torch, which is no dependency of this package: run the check in
an environment made for it (see docs/user_guide.rst, "SAELens directories")::

    python3 -m venv /tmp/venv-saelens
    /tmp/venv-saelens/bin/pip install torch sae-lens safetensors
    /tmp/venv-saelens/bin/pip install -e .
    /tmp/venv-saelens/bin/python maint_tools/check_saelens.py

It prints one line per model: the mean active latents per row, the largest
absolute difference of the codes and of the reconstructions, the share of rows
whose active latents are the same set, the *ties* (latents active in one
library and not the other whose pre-activation is within rounding of the
rule's boundary: the threshold, 0, or the k-th largest value; the two
libraries round the pre-activations differently, ``X @ W_enc + (b_enc - b_dec
@ W_enc)`` here, ``(X - b_dec) @ W_enc + b_enc`` in SAELens) and ``ok``: no
other flip, and ``np.allclose`` (rtol = atol = 1e-5 in float32, 1e-12 in
float64) on everything but the ties. The exit status is 1 when a line is not
ok.
"""

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import sae_lens
import torch
from sae_lens import (
    SAE,
    JumpReLUSAE,
    JumpReLUSAEConfig,
    StandardSAE,
    StandardSAEConfig,
    TopKSAE,
    TopKSAEConfig,
)
from sae_lens.saes.batchtopk_sae import (
    BatchTopKTrainingSAE,
    BatchTopKTrainingSAEConfig,
)
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from skl_sparse_ae import TopKSparseAutoencoder
from skl_sparse_ae._topk_objective import SPARSITY
from skl_sparse_ae.interop import SAELENS_FORMAT_VERSION, load_saelens, save_saelens

TOLERANCE = {np.float32: 1e-5, np.float64: 1e-12}


def _boundary_margin(ours, X):
    """How far each pre-activation is from its rule's boundary (float64).

    The boundary is the latent's threshold (``threshold_``), 0 for the ReLU of
    ``"l1"``, and for TopK the midpoint between each row's k-th and (k+1)-th
    largest pre-activations. A latent whose pre-activation is within rounding
    of it can be on either side in two correct implementations.
    """
    W_enc, W_dec = (w.astype(np.float64) for w in ours.coefs_)
    b_enc, b_dec = (b.astype(np.float64) for b in ours.intercepts_)
    pre = (X.astype(np.float64) - b_dec) @ W_enc + b_enc
    if ours.threshold_ is not None:
        boundary = np.maximum(ours.threshold_.astype(np.float64), 0)
        boundary = np.where(np.isfinite(boundary), boundary, np.inf)
    elif ours.sparsity == "l1":
        boundary = 0.0
    else:
        k = min(ours.k, pre.shape[1])
        part = -np.sort(-pre, axis=1)
        kth = part[:, k - 1]
        nxt = part[:, k] if k < pre.shape[1] else kth
        boundary = np.maximum((kth + nxt) / 2, 0)[:, np.newaxis]
    return np.abs(pre - boundary), np.abs(boundary)


def _compare(direction, name, dtype, ours, X, z_theirs, x_theirs):
    """One line of the table: codes, reconstructions, support, ties."""
    tol = TOLERANCE[dtype]
    z_ours = ours.transform(X)
    x_ours = ours.inverse_transform(z_ours)
    flipped = (z_ours != 0) != (z_theirs != 0)
    margin, scale = _boundary_margin(ours, X)
    # a flip is a tie when its pre-activation is within rounding of the boundary
    ties = flipped & (margin <= 10 * tol * (1 + np.broadcast_to(scale, margin.shape)))
    kept = ~ties
    rows_kept = ~ties.any(axis=1)
    ok = (
        not (flipped & ~ties).any()
        and np.allclose(z_ours[kept], z_theirs[kept], rtol=tol, atol=tol)
        and np.allclose(x_ours[rows_kept], x_theirs[rows_kept], rtol=tol, atol=tol)
    )
    return {
        "direction": direction,
        "model": name,
        "dtype": np.dtype(dtype).name,
        "active": float(np.mean((z_theirs != 0).sum(axis=1))),
        "max|dz|": float(np.max(np.abs(z_ours - z_theirs))),
        "max|dx_hat|": float(np.max(np.abs(x_ours - x_theirs))),
        "same set": float(np.mean(~flipped.any(axis=1))),
        "ties": int(ties.sum()),
        "ok": ok,
    }


def _saelens_codes(sae, X):
    with torch.no_grad():
        z = sae.encode(torch.from_numpy(X))
        if z.is_sparse:
            z = z.to_dense()
        x_hat = sae.decode(z)
    return z.numpy(), x_hat.numpy()


def ours_to_saelens(X, workdir, dtypes, random_state):
    rows = []
    sparsities = ["topk", "batch_topk", "l1"] + (
        ["jumprelu"] if "jumprelu" in SPARSITY else []
    )
    for sparsity in sparsities:
        for dtype in dtypes:
            Xd = X.astype(dtype)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                ours = TopKSparseAutoencoder(
                    n_components=128,
                    k=8,
                    sparsity=sparsity,
                    max_iter=20,
                    random_state=random_state,
                ).fit(Xd)
            path = save_saelens(
                ours, Path(workdir) / f"ours-{sparsity}-{dtype.__name__}"
            )
            theirs = SAE.load_from_disk(path)
            assert (
                theirs.cfg.architecture()
                == {
                    "topk": "topk",
                    "batch_topk": "jumprelu",
                    "jumprelu": "jumprelu",
                    "l1": "standard",
                }[sparsity]
            )
            z, x_hat = _saelens_codes(theirs, Xd)
            rows.append(
                _compare(
                    "ours -> SAELens",
                    f"{sparsity} as {theirs.cfg.architecture()}",
                    dtype,
                    ours,
                    Xd,
                    z,
                    x_hat,
                )
            )
    return rows


def _randomise(sae, generator, *, threshold=False, decoder_norms=False):
    with torch.no_grad():
        d_sae, d_in = sae.W_dec.shape
        W_dec = torch.randn(d_sae, d_in, generator=generator, dtype=sae.W_dec.dtype)
        W_dec /= W_dec.norm(dim=1, keepdim=True)
        if decoder_norms:
            W_dec *= 0.2 + 3 * torch.rand(d_sae, 1, generator=generator).to(W_dec)
        sae.W_dec.copy_(W_dec)
        noise = 0.1 * torch.randn(d_in, d_sae, generator=generator).to(W_dec)
        sae.W_enc.copy_(W_dec.T + noise)
        sae.b_enc.copy_(0.1 * torch.randn(d_sae, generator=generator).to(W_dec))
        sae.b_dec.copy_(0.1 * torch.randn(d_in, generator=generator).to(W_dec))
        if threshold:
            sae.threshold.copy_(0.5 * torch.rand(d_sae, generator=generator).to(W_dec))
    return sae


def saelens_to_ours(X, workdir, dtypes, random_state):
    rows = []
    d_in, d_sae, k = X.shape[1], 128, 8
    for dtype in dtypes:
        dt = np.dtype(dtype).name
        generator = torch.Generator().manual_seed(random_state)
        made = {
            "topk": _randomise(
                TopKSAE(TopKSAEConfig(d_in=d_in, d_sae=d_sae, k=k, dtype=dt)),
                generator,
            ),
            "topk rescale_acts_by_decoder_norm": _randomise(
                TopKSAE(
                    TopKSAEConfig(
                        d_in=d_in,
                        d_sae=d_sae,
                        k=k,
                        dtype=dt,
                        rescale_acts_by_decoder_norm=True,
                    )
                ),
                generator,
                decoder_norms=True,
            ),
            "jumprelu": _randomise(
                JumpReLUSAE(JumpReLUSAEConfig(d_in=d_in, d_sae=d_sae, dtype=dt)),
                generator,
                threshold=True,
            ),
            "standard": _randomise(
                StandardSAE(StandardSAEConfig(d_in=d_in, d_sae=d_sae, dtype=dt)),
                generator,
                decoder_norms=True,
            ),
            "standard apply_b_dec_to_input=False": _randomise(
                StandardSAE(
                    StandardSAEConfig(
                        d_in=d_in, d_sae=d_sae, dtype=dt, apply_b_dec_to_input=False
                    )
                ),
                generator,
                decoder_norms=True,
            ),
        }
        for name, sae in made.items():
            path = Path(workdir) / f"theirs-{name.replace(' ', '-')}-{dt}"
            sae.save_model(path)
            rows.append(_their_row(name, sae, path, X.astype(dtype), dtype))

        # SAELens' BatchTopK: trained as batchtopk, saved for inference as jumprelu
        training = BatchTopKTrainingSAE(
            BatchTopKTrainingSAEConfig(
                d_in=d_in, d_sae=d_sae, k=k, dtype=dt, rescale_acts_by_decoder_norm=True
            )
        )
        with torch.no_grad():
            _randomise_training(training, generator)
            training.topk_threshold.fill_(0.3)
        path = Path(workdir) / f"theirs-batchtopk-{dt}"
        training.save_inference_model(path)
        inference = SAE.load_from_disk(path)
        rows.append(
            _their_row(
                f"batchtopk saved as {inference.cfg.architecture()}",
                inference,
                path,
                X.astype(dtype),
                dtype,
            )
        )
    return rows


def _randomise_training(sae, generator):
    d_sae, d_in = sae.W_dec.shape
    W_dec = torch.randn(d_sae, d_in, generator=generator).to(sae.W_dec)
    W_dec *= 0.2 + 3 * torch.rand(d_sae, 1, generator=generator).to(W_dec)
    sae.W_dec.copy_(W_dec)
    sae.W_enc.copy_(W_dec.T / W_dec.norm(dim=1) ** 2)
    sae.b_enc.copy_(0.1 * torch.randn(d_sae, generator=generator).to(W_dec))
    sae.b_dec.copy_(0.1 * torch.randn(d_in, generator=generator).to(W_dec))


def _their_row(name, sae, path, X, dtype):
    ours = load_saelens(path)
    z, x_hat = _saelens_codes(sae, X)
    return _compare(
        "SAELens -> ours", f"{name} as {ours.sparsity}", dtype, ours, X, z, x_hat
    )


def _print_table(rows):
    columns = list(rows[0])
    cells = [
        [
            f"{row[c]:.2e}"
            if c.startswith("max")
            else f"{row[c]:.3f}"
            if c == "same set"
            else f"{row[c]:.1f}"
            if c == "active"
            else str(row[c])
            for c in columns
        ]
        for row in rows
    ]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    print("  ".join("-" * w for w in widths))
    for r in cells:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1797, help="digits rows encoded")
    parser.add_argument(
        "--dtype", nargs="+", default=["float32", "float64"], help="dtypes checked"
    )
    parser.add_argument("--random-state", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    dtypes = [np.dtype(d).type for d in args.dtype]
    X = load_digits().data[: args.rows] / 16

    print(
        f"SAELens {sae_lens.__version__}, torch {torch.__version__}; "
        f"format written: SAELens {SAELENS_FORMAT_VERSION}; "
        f"{X.shape[0]} digits rows, 64 features"
    )
    with tempfile.TemporaryDirectory() as workdir:
        rows = ours_to_saelens(X, workdir, dtypes, args.random_state)
        rows += saelens_to_ours(X, workdir, dtypes, args.random_state)
    _print_table(rows)
    failed = [row for row in rows if not row["ok"]]
    ties = sum(row["ties"] for row in rows)
    print(
        f"\n{len(rows) - len(failed)} of {len(rows)} comparisons ok; {ties} latent(s) "
        "on the other side of their rule's boundary within rounding (ties)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
