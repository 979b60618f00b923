"""
==============================================================
Sparse autoencoder features for digit classification (vs. RBM)
==============================================================

scikit-learn's example "Restricted Boltzmann Machine features for digit
classification" extracts features from the 8x8 digits with a
:class:`~sklearn.neural_network.BernoulliRBM` and classifies them with a
:class:`~sklearn.linear_model.LogisticRegression`. This example runs the same
experiment with a sparse autoencoder,
:class:`~skl_sparse_ae.SparseAutoencoderTransformer` (``SparseAE`` for short),
as the feature extractor, and compares three pipelines:

- logistic regression on the raw pixels,
- Bernoulli RBM features + logistic regression,
- sparse autoencoder features + logistic regression.

As in scikit-learn's example, the hyper-parameters were chosen by hand to
keep the example fast, not by an exhaustive search.
"""

# %%
# Generate data
# -------------
#
# To learn good features from a small dataset, the training data are enlarged
# with copies of each image shifted by one pixel up, down, left and right.
# Everything is kept in ``float32``: the sparse autoencoder (and the RBM)
# then compute in single precision.
import matplotlib.pyplot as plt
import numpy as np
from scipy.ndimage import shift
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


def nudge_dataset(X, y):
    """Add the four copies of each 8x8 image shifted by one pixel."""
    images = X.reshape(-1, 8, 8)
    shifted = [images]
    for offset in [(0, -1, 0), (0, 1, 0), (0, 0, -1), (0, 0, 1)]:
        shifted.append(shift(images, offset, order=0, mode="constant", cval=0))
    X_nudged = np.concatenate(shifted).reshape(-1, 64)
    return X_nudged, np.tile(y, len(shifted))


X, y = load_digits(return_X_y=True)
X = X.astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.2, stratify=y, random_state=0
)
X_train, y_train = nudge_dataset(X_train, y_train)
print(f"training set: {X_train.shape}, test set: {X_test.shape}")

# %%
# Unlike scikit-learn's example, only the training images are nudged, after
# the split, so that no shifted copy of a test image is seen in training.
#
# Models definition
# -----------------
#
# Each model is a :class:`~sklearn.pipeline.Pipeline` that starts with a
# :class:`~sklearn.preprocessing.MinMaxScaler`: the pixels are scaled into
# [0, 1], the range of the RBM's Bernoulli units and of the autoencoder's
# sigmoid decoder (``decoder="auto"`` picks it for such data).
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import BernoulliRBM
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

from skl_sparse_ae import SparseAE

raw_pixel_classifier = Pipeline(
    [
        ("scale", MinMaxScaler()),
        ("logistic", LogisticRegression(C=100, max_iter=1000)),
    ]
)
rbm_features_classifier = Pipeline(
    [
        ("scale", MinMaxScaler()),
        (
            "rbm",
            BernoulliRBM(
                n_components=100, learning_rate=0.06, n_iter=10, random_state=0
            ),
        ),
        ("logistic", LogisticRegression(C=6000, max_iter=1000)),
    ]
)
sae_features_classifier = Pipeline(
    [
        ("scale", MinMaxScaler()),
        (
            "sae",
            SparseAE(
                n_components=100,
                sparsity_target=0.05,
                sparsity_weight=3.0,
                alpha=1e-4,
                max_iter=150,
                random_state=0,
            ),
        ),
        ("logistic", LogisticRegression(C=100, max_iter=1000)),
    ]
)

# %%
# Training
# --------
#
# L-BFGS stops after ``max_iter=150`` iterations to keep the example quick,
# before the autoencoder has fully converged; its
# :class:`~sklearn.exceptions.ConvergenceWarning` is silenced here.
import warnings
from time import perf_counter

from sklearn.exceptions import ConvergenceWarning

models = {
    "Logistic regression on raw pixels": raw_pixel_classifier,
    "Bernoulli RBM + logistic regression": rbm_features_classifier,
    "Sparse autoencoder + logistic regression": sae_features_classifier,
}
fit_times = {}
with warnings.catch_warnings():
    warnings.simplefilter("ignore", category=ConvergenceWarning)
    for name, model in models.items():
        start = perf_counter()
        model.fit(X_train, y_train)
        fit_times[name] = perf_counter() - start

sae = sae_features_classifier.named_steps["sae"]
print(f"sparse autoencoder: {sae.n_iter_} L-BFGS iterations, loss {sae.loss_:.4f}")
print(f"mean activation of its hidden units: {sae.mean_activation_.mean():.3f}")
print(f"dtype of its features: {sae_features_classifier[:-1].transform(X_test).dtype}")

# %%
# Evaluation
# ----------
from sklearn.metrics import classification_report

for name, model in models.items():
    y_pred = model.predict(X_test)
    print(f"{name} (fitted in {fit_times[name]:.1f} s):")
    print(classification_report(y_test, y_pred, digits=3))

# %%
# Both unsupervised feature extractors improve on the raw pixels. The sparse
# autoencoder's features are the hidden activations
# :math:`a^{(2)} = \sigma(X W_1 + b_1)`: because of the sparsity penalty each
# hidden unit is active (close to 1) for about 5 % of the images only.
accuracies = {name: model.score(X_test, y_test) for name, model in models.items()}
fig, ax = plt.subplots(figsize=(7, 2.5))
names = list(accuracies)
ax.barh(names, [accuracies[name] for name in names], color=["C7", "C1", "C0"])
for i, name in enumerate(names):
    ax.text(
        accuracies[name] - 0.002,
        i,
        f"{accuracies[name]:.3f}",
        ha="right",
        va="center",
        color="white",
    )
ax.set_xlim(0.85, 1.0)
ax.set_xlabel("test accuracy")
ax.invert_yaxis()
fig.tight_layout()

# %%
# Plotting the filters
# --------------------
#
# Each hidden unit's filter is its column of incoming weights, drawn as an
# 8x8 image with :func:`~skl_sparse_ae.plotting.plot_filters` (the RBM's
# ``components_`` are its filters in rows, hence the transpose).
from skl_sparse_ae.plotting import plot_filters

rbm = rbm_features_classifier.named_steps["rbm"]
fig, axes = plt.subplots(1, 2, figsize=(10, 5.4))
plot_filters(
    rbm.components_.T,
    image_shape=(8, 8),
    ax=axes[0],
    title="100 filters of the Bernoulli RBM",
)
plot_filters(
    sae,
    image_shape=(8, 8),
    ax=axes[1],
    title="100 filters of the sparse autoencoder",
)
fig.tight_layout()
plt.show()
