"""scikit-learn's common estimator checks over every estimator of the package."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skl_sparse_ae import SparseAutoencoderTransformer, StackedSparseAEClassifier

ESTIMATORS = [SparseAutoencoderTransformer(), StackedSparseAEClassifier()]

# No expected failures: every check must pass with the default parameters.
EXPECTED_FAILED_CHECKS = {}

# scikit-learn 1.6 hands pytest a generator of checks, which pytest 9
# deprecates (PytestRemovedIn10Warning, an error here) and pytest 10 refuses:
# the same parametrisation, with the checks in a list.
_CHECKS = parametrize_with_checks(
    ESTIMATORS,
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS.get(
        type(est).__name__, {}
    ),
)
_NAMES, _ARGVALUES = _CHECKS.args


# The checks fit the default estimators (20 epochs per autoencoder, 200 of
# fine-tuning) on tiny data sets, where the solvers stop at max_iter; whether
# they converge is not what the checks test.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(_NAMES, list(_ARGVALUES), **_CHECKS.kwargs)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
