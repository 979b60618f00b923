"""Settings of the doctests (the docstrings' examples in skl_sparse_ae/).

The estimators' examples fit on digits for a few seconds only, where the
solvers stop at max_iter: the ConvergenceWarning they give is expected there,
and filtered on those examples alone (any other warning is an error, see
``filterwarnings`` in pyproject.toml). The examples of
:mod:`skl_sparse_ae.interop` need safetensors (the ``safetensors`` extra, in
the ``test`` extra too) and are skipped where it is not installed.
"""

import importlib.util

import pytest

SHORT_FITS = {
    "skl_sparse_ae._autoencoder.SparseAutoencoderTransformer",
    "skl_sparse_ae._stacked.StackedSparseAEClassifier",
    "skl_sparse_ae._topk.TopKSparseAutoencoder",
    "skl_sparse_ae.interop.save_saelens",
}


NEEDS_SAFETENSORS = "skl_sparse_ae.interop."
HAS_SAFETENSORS = importlib.util.find_spec("safetensors") is not None


def pytest_collection_modifyitems(items):
    for item in items:
        if item.name.startswith(NEEDS_SAFETENSORS) and not HAS_SAFETENSORS:
            item.add_marker(
                pytest.mark.skip(reason="needs safetensors (pip install safetensors)")
            )
        if item.name in SHORT_FITS:
            item.add_marker(
                pytest.mark.filterwarnings(
                    "ignore::sklearn.exceptions.ConvergenceWarning"
                )
            )
