"""
==================================================================
TopK sparse autoencoder: dictionary atoms and variance explained
==================================================================

A :class:`~skl_sparse_ae.TopKSparseAutoencoder` (``TopKSAE``) learns a
dictionary of unit-norm atoms and encodes each image by its ``k`` best atoms,
with one matrix product and a top-k. This example fits one on scikit-learn's
8x8 digits, draws its atoms, and compares the fraction of variance
unexplained (FVU) on held-out images, as ``k`` grows, with

- :class:`~sklearn.decomposition.PCA` with ``k`` components (the best
  *linear* code of size ``k``),
- :class:`~sklearn.decomposition.MiniBatchDictionaryLearning` with the same
  number of atoms, its codes found by orthogonal matching pursuit (OMP) with
  ``k`` non-zeros per image.
"""

# %%
# Data
# ----
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA, MiniBatchDictionaryLearning
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skl_sparse_ae import TopKSAE

X = (load_digits().data / 16).astype(np.float32)
X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
N_ATOMS = 64


def fvu(X, X_hat):
    """Fraction of variance unexplained by the reconstruction X_hat of X."""
    return ((X - X_hat) ** 2).sum() / ((X - X.mean(axis=0)) ** 2).sum()


# %%
# The atoms of a TopK autoencoder
# -------------------------------
#
# With ``k = 8`` of 64 latents active per image, the atoms (the rows of
# ``components_``) are strokes and parts of digits.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    sae = TopKSAE(n_components=N_ATOMS, k=8, max_iter=30, random_state=0)
    sae.fit(X_train)
print(f"FVU on the test images: {-sae.score(X_test):.3f}")
print(f"dead latents: {sae.n_dead_components_} of {N_ATOMS}")

fig, axes = plt.subplots(4, 16, figsize=(10, 2.8))
order = np.argsort(-sae.activation_frequency_)
for ax, atom in zip(axes.ravel(), sae.components_[order]):
    ax.imshow(atom.reshape(8, 8), cmap="RdBu_r", vmin=-0.5, vmax=0.5)
    ax.set_axis_off()
fig.suptitle("TopK autoencoder atoms, most used first (k = 8)")
plt.show()

# %%
# FVU against k
# -------------
#
# PCA is fitted once and keeps its first ``k`` components. The dictionary is
# learnt once and its codes are computed by OMP with ``k`` non-zeros; it works
# on centred data, so the training mean is added back. The TopK autoencoder
# is trained for each ``k``.
ks = [2, 4, 8, 16]
pca = PCA(random_state=0).fit(X_train)
mean = X_train.mean(axis=0)
dictionary = MiniBatchDictionaryLearning(
    n_components=N_ATOMS, alpha=0.1, batch_size=256, max_iter=3, random_state=0
).fit(X_train - mean)

results = {"PCA(k)": [], "dictionary + OMP(k)": [], "TopK autoencoder": []}
seconds = {"dictionary + OMP(k)": 0.0, "TopK autoencoder": 0.0}
for k in ks:
    codes = pca.transform(X_test)[:, :k]
    results["PCA(k)"].append(fvu(X_test, codes @ pca.components_[:k] + pca.mean_))

    dictionary.set_params(
        transform_algorithm="omp", transform_n_nonzero_coefs=k, transform_alpha=None
    )
    start = time.perf_counter()
    codes = dictionary.transform(X_test - mean)
    seconds["dictionary + OMP(k)"] += time.perf_counter() - start
    results["dictionary + OMP(k)"].append(
        fvu(X_test, codes @ dictionary.components_ + mean)
    )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = TopKSAE(n_components=N_ATOMS, k=k, max_iter=30, random_state=0)
        model.fit(X_train)
    start = time.perf_counter()
    codes = model.transform(X_test)
    seconds["TopK autoencoder"] += time.perf_counter() - start
    results["TopK autoencoder"].append(-model.score(X_test))

for name, values in results.items():
    print(f"{name:>20}: " + "  ".join(f"k={k}: {v:.3f}" for k, v in zip(ks, values)))
for name, total in seconds.items():
    print(f"{name:>20}: transform of the test images, {1e3 * total:.1f} ms in all")

fig, ax = plt.subplots(figsize=(5, 3.5))
for name, values in results.items():
    ax.plot(ks, values, marker="o", label=name)
ax.set_xscale("log", base=2)
ax.set_xticks(ks, [str(k) for k in ks])
ax.set_xlabel("non-zero codes per image (k)")
ax.set_ylabel("FVU on test images")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# PCA's components are dense: its ``k`` codes may use every pixel direction,
# and with 64 atoms for 64 pixels it is a strong baseline at small ``k``. The
# two dictionaries use ``k`` of 64 atoms per image. OMP chooses them by a
# greedy optimisation per image; the autoencoder by one matrix product and a
# top-k, which is what makes its ``transform`` fast on large data (see
# ``benchmarks/bench_topk.py`` for MNIST with 1024 atoms).
