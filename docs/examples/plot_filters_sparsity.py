"""
================================================
Learned filters and the weight of sparsity
================================================

Each hidden unit of a sparse autoencoder has a *filter*: its vector of
incoming weights, a column of ``coefs_[0]``, which can be drawn as an image
of the input's shape. This example trains two autoencoders on the 8x8 digits
that differ only in the weight of the sparsity penalty,
:math:`\\beta = 0` (no penalty) and :math:`\\beta = 3` (the default), and
compares their filters and codes.
"""

# %%
# Two autoencoders
# ----------------
#
# The pixels are scaled into [0, 1] (the sigmoid decoder's range) and kept in
# ``float32``. Both models have 64 hidden units, as many as there are pixels,
# the weight decay of UFLDL's MNIST exercises (:math:`\lambda = 0.003`) and the
# same initial weights (``random_state=0``). L-BFGS converges in a few hundred
# iterations.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.preprocessing import MinMaxScaler

from skl_sparse_ae import SparseAutoencoderTransformer
from skl_sparse_ae.plotting import plot_filters

X, y = load_digits(return_X_y=True)
X = MinMaxScaler().fit_transform(X.astype(np.float32))

betas = [0.0, 3.0]
autoencoders = {}
for beta in betas:
    ae = SparseAutoencoderTransformer(
        n_components=64,
        sparsity_target=0.05,
        sparsity_weight=beta,
        alpha=3e-3,
        max_iter=400,
        random_state=0,
    )
    autoencoders[beta] = ae.fit(X)
    print(
        f"beta = {beta}: {ae.n_iter_} iterations, loss {ae.loss_:.4f}, "
        f"reconstruction error "
        f"{-ae.score(X):.4f}, mean activation {ae.mean_activation_.mean():.3f}"
    )

# %%
# Without the penalty the hidden units are active about half of the time; with
# it their mean activation :math:`\hat\rho` is close to the target
# :math:`\rho = 0.05`, at a price in reconstruction error: 64 sparse units
# encode the digits less accurately than 64 dense ones.
#
# The filters
# -----------
#
# :func:`~skl_sparse_ae.plotting.plot_filters` draws each filter as an 8x8
# tile, scaled by its largest absolute weight: mid-grey is a zero weight,
# white a positive and black a negative one.
fig, axes = plt.subplots(1, 2, figsize=(10, 5.4))
for ax, beta in zip(axes, betas):
    plot_filters(
        autoencoders[beta],
        image_shape=(8, 8),
        ax=ax,
        title=rf"$\beta = {beta:g}$",
    )
fig.suptitle("Filters of the 64 hidden units")
fig.tight_layout()

# %%
# Without the penalty the filters are small local patterns (a dot, a short
# edge) shared by all digits: every image activates many of them, and each
# unit says little on its own. With the penalty each unit may be active for
# only about 5 % of the images, so it specialises: its filter looks like a
# whole digit, or a large part of one, and a handful of units describe each
# image.
#
# The codes
# ---------
#
# The hidden activations of one digit (``transform``) make the difference
# plain: a dense code without the penalty, a sparse one with it.
sample = X[:1]
fig, axes = plt.subplots(1, 3, figsize=(10, 2.6), width_ratios=[1, 3, 3])
axes[0].imshow(sample.reshape(8, 8), cmap="gray_r")
axes[0].set_title(f"a digit {y[0]}")
axes[0].set_axis_off()
for ax, beta in zip(axes[1:], betas):
    code = autoencoders[beta].transform(sample)[0]
    ax.bar(np.arange(code.size), code, color="C0" if beta == 0 else "C1")
    ax.set_ylim(0, 1)
    ax.set_xlabel("hidden unit")
    ax.set_title(rf"$\beta = {beta:g}$: {np.sum(code > 0.1)} units above 0.1")
axes[1].set_ylabel("activation $a^{(2)}$")
fig.tight_layout()
plt.show()
