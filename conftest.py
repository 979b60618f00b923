"""Settings of the doctests (the docstrings' examples in skl_sparse_ae/).

The estimators' examples fit on digits for a few seconds only, where the
solvers stop at max_iter: the ConvergenceWarning they give is expected there,
and filtered on those examples alone (any other warning is an error, see
``filterwarnings`` in pyproject.toml).
"""

import pytest

SHORT_FITS = {
    "skl_sparse_ae._autoencoder.SparseAutoencoderTransformer",
    "skl_sparse_ae._stacked.StackedSparseAEClassifier",
    "skl_sparse_ae._topk.TopKSparseAutoencoder",
}


def pytest_collection_modifyitems(items):
    for item in items:
        if item.name in SHORT_FITS:
            item.add_marker(
                pytest.mark.filterwarnings(
                    "ignore::sklearn.exceptions.ConvergenceWarning"
                )
            )
