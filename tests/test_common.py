"""scikit-learn's common estimator checks over every estimator of the package."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skl_sparse_ae import (
    SparseAutoencoderTransformer,
    StackedSparseAEClassifier,
    TopKSparseAutoencoder,
)

ESTIMATORS = [
    SparseAutoencoderTransformer(),
    StackedSparseAEClassifier(),
    TopKSparseAutoencoder(),
    TopKSparseAutoencoder(sparsity="batch_topk"),
]

# No expected failures: every check must pass with the default parameters.
EXPECTED_FAILED_CHECKS = {}


@parametrize_with_checks(
    ESTIMATORS,
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS.get(
        type(est).__name__, {}
    ),
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
