"""
===============================================
Tuning the sparsity target and weight with CV
===============================================

The sparsity target :math:`\\rho` (``sparsity_target``) and the weight of the
sparsity penalty :math:`\\beta` (``sparsity_weight``) are the two
hyper-parameters that make a sparse autoencoder sparse. Which values are
best depends on the data and on what the features are for. Here the
features feed a logistic regression, so the whole
:class:`~sklearn.pipeline.Pipeline` is tuned with
:class:`~sklearn.model_selection.GridSearchCV` on the classification
accuracy, and the mean cross-validated score is drawn as a heatmap.
"""

# %%
# Data and pipeline
# -----------------
#
# The 8x8 digits, in ``float32``, with a held-out test set. The autoencoder
# is kept small (49 hidden units, 60 L-BFGS iterations) so that the 48 fits
# of the search take a few seconds.
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

from skl_sparse_ae import SparseAutoencoderTransformer

X, y = load_digits(return_X_y=True)
X = X.astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

pipe = Pipeline(
    [
        ("scale", MinMaxScaler()),
        (
            "sae",
            SparseAutoencoderTransformer(
                n_components=49, alpha=1e-4, max_iter=60, random_state=0
            ),
        ),
        ("logistic", LogisticRegression(C=10, max_iter=500)),
    ]
)

# %%
# Grid search
# -----------
#
# Parameters of a pipeline step are set with the ``step__parameter`` syntax.
# :math:`\beta = 0` switches the sparsity penalty off, whatever
# :math:`\rho` is: that row of the grid is the plain autoencoder.
import warnings

from sklearn.exceptions import ConvergenceWarning

param_grid = {
    "sae__sparsity_target": [0.01, 0.05, 0.1, 0.3],
    "sae__sparsity_weight": [0.0, 0.3, 1.0, 3.0],
}
search = GridSearchCV(
    pipe,
    param_grid,
    cv=StratifiedKFold(n_splits=3, shuffle=True, random_state=0),
    scoring="accuracy",
)
# 60 L-BFGS iterations do not reach convergence: silence the warning.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", category=ConvergenceWarning)
    search.fit(X_train, y_train)

print("best parameters:", search.best_params_)
print(f"best mean CV accuracy: {search.best_score_:.3f}")
print(
    f"test accuracy of the refitted best pipeline: {search.score(X_test, y_test):.3f}"
)

# %%
# Heatmap of the mean CV accuracy
# -------------------------------
import matplotlib.pyplot as plt
import pandas as pd

results = pd.DataFrame(search.cv_results_)
scores = results.pivot_table(
    index="param_sae__sparsity_weight",
    columns="param_sae__sparsity_target",
    values="mean_test_score",
)

fig, ax = plt.subplots(figsize=(6, 4.5))
image = ax.imshow(scores.to_numpy(), cmap="viridis", origin="lower")
ax.set_xticks(range(scores.shape[1]), [f"{v:g}" for v in scores.columns])
ax.set_yticks(range(scores.shape[0]), [f"{v:g}" for v in scores.index])
ax.set_xlabel(r"sparsity_target $\rho$")
ax.set_ylabel(r"sparsity_weight $\beta$")
threshold = scores.to_numpy().mean()
for i in range(scores.shape[0]):
    for j in range(scores.shape[1]):
        value = scores.iloc[i, j]
        ax.text(
            j,
            i,
            f"{value:.3f}",
            ha="center",
            va="center",
            color="black" if value > threshold else "white",
        )
fig.colorbar(image, ax=ax, label="mean CV accuracy")
ax.set_title("Logistic regression on sparse autoencoder features")
fig.tight_layout()
plt.show()

# %%
# The bottom row, :math:`\beta = 0`, is the same model whatever :math:`\rho`.
# A moderate penalty with a moderate target does a little better than no
# penalty, while a very small target enforced strongly (top left) leaves too
# few active units to describe the digits and the accuracy drops. The best
# cell is only slightly better than its neighbours: the differences are of
# the order of the spread between CV folds (``std_test_score``).
#
# The penalty's effect on the features
# ------------------------------------
#
# ``mean_activation_`` (:math:`\hat\rho`) of the autoencoders fitted with the
# best :math:`\rho` shows what the penalty does: with :math:`\beta > 0` the
# hidden units' mean activations are pulled towards :math:`\rho`.
best = search.best_estimator_.named_steps["sae"]
print(
    f"rho = {best.sparsity_target}, beta = {best.sparsity_weight}: "
    f"mean activation {best.mean_activation_.mean():.3f} "
    f"(min {best.mean_activation_.min():.3f}, max {best.mean_activation_.max():.3f})"
)
