"""
=====================================================
Mean activations of the hidden units (rho_hat)
=====================================================

The KL penalty of a sparse autoencoder pulls each hidden unit's mean
activation over the training set,

.. math::

    \\hat\\rho_j = \\frac{1}{m} \\sum_{i=1}^{m} a^{(2)}_j(x^{(i)}),

towards the sparsity target :math:`\\rho`, with a strength set by the
sparsity weight :math:`\\beta`. A fitted
:class:`~skl_sparse_ae.SparseAutoencoderTransformer` stores
:math:`\\hat\\rho` in ``mean_activation_``; its histogram is the quickest
check that the sparsity constraint holds. This example draws it for several
values of :math:`\\beta`.
"""

# %%
# Fitting one autoencoder per sparsity weight
# -------------------------------------------
#
# 100 hidden units on the 8x8 digits scaled into [0, 1], in ``float32``, with
# :math:`\\rho = 0.05`. L-BFGS is stopped after 150 iterations: enough for the
# mean activations to settle.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import MinMaxScaler

from skl_sparse_ae import SparseAutoencoderTransformer

X, _ = load_digits(return_X_y=True)
X = MinMaxScaler().fit_transform(X.astype(np.float32))

rho = 0.05
betas = [0.0, 0.1, 0.3, 1.0, 3.0]
mean_activations = {}
with warnings.catch_warnings():
    warnings.simplefilter("ignore", category=ConvergenceWarning)
    for beta in betas:
        ae = SparseAutoencoderTransformer(
            n_components=100,
            sparsity_target=rho,
            sparsity_weight=beta,
            max_iter=150,
            random_state=0,
        ).fit(X)
        mean_activations[beta] = ae.mean_activation_
        print(
            f"beta = {beta:3g}: rho_hat mean {ae.mean_activation_.mean():.3f}, "
            f"range [{ae.mean_activation_.min():.3f}, "
            f"{ae.mean_activation_.max():.3f}], "
            f"reconstruction error {-ae.score(X):.3f}"
        )

# %%
# Histograms of rho_hat
# ---------------------
#
# A logarithmic axis shows both the wide spread without the penalty and the
# narrow peaks around :math:`\rho` with it.
bins = np.geomspace(0.01, 1, 101)
fig, axes = plt.subplots(
    len(betas), 1, figsize=(7, 1.4 * len(betas) + 0.6), sharex=True, sharey=True
)
for ax, beta in zip(axes, betas):
    ax.hist(mean_activations[beta], bins=bins, color="C0")
    ax.axvline(rho, color="C3", linestyle="--", label=rf"$\rho = {rho}$")
    ax.text(
        0.98,
        0.8,
        rf"$\beta = {beta:g}$",
        transform=ax.transAxes,
        ha="right",
        va="top",
    )
    ax.set_ylabel("units")
axes[0].set_xscale("log")
axes[0].legend(loc="upper center")
axes[-1].set_xlabel(r"mean activation $\hat\rho_j$ of a hidden unit")
fig.suptitle("Mean activations of 100 hidden units on the digits")
fig.tight_layout()
plt.show()

# %%
# Without the penalty (:math:`\\beta = 0`) the mean activations spread around
# 0.5: every unit is active for about half of the images. A weak penalty
# already moves them towards :math:`\\rho`, and from :math:`\\beta \\approx 1`
# on they sit close to it: each unit is active for about 5 % of the images.
# Larger weights hold the constraint more tightly at the expense of the
# reconstruction error.
