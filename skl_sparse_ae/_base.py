"""What the estimators share as parameters: the solver parameters' constraints,
the validation of sample weights and the validation split, and undoing a
failed fit."""

import contextlib
from numbers import Integral, Real

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight

# Constraints of the solver parameters, named as in MLPClassifier.
SOLVER_PARAMETER_CONSTRAINTS = {
    "solver": [StrOptions({"lbfgs", "adam", "sgd"})],
    "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
    "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
    "learning_rate": [StrOptions({"constant", "linear", "cosine"})],
    "learning_rate_final_ratio": [Interval(Real, 0, 1, closed="both")],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "max_fun": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "shuffle": ["boolean"],
    "momentum": [Interval(Real, 0, 1, closed="both")],
    "nesterovs_momentum": ["boolean"],
    "beta_1": [Interval(Real, 0, 1, closed="left")],
    "beta_2": [Interval(Real, 0, 1, closed="left")],
    "epsilon": [Interval(Real, 0, None, closed="neither")],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
    "warm_start": ["boolean"],
}


@contextlib.contextmanager
def unchanged_on_failure(estimator):
    """Put the estimator's attributes back as they were if the block raises.

    Fitting assigns attributes (``n_features_in_`` during validation, the
    weights at the end) and never mutates them in place, so a shallow copy of
    ``__dict__`` is enough to undo a failed fit.
    """
    saved = dict(estimator.__dict__)
    try:
        yield
    except BaseException:
        estimator.__dict__.clear()
        estimator.__dict__.update(saved)
        raise


def check_sample_weight(sample_weight, X):
    """Validated sample weights in X's dtype, or None for no weights.

    scikit-learn's own checks and messages (length, dimension, negative
    values), plus a refusal of weights that sum to zero: such data carry no
    information to fit.
    """
    if sample_weight is None:
        return None
    sample_weight = _check_sample_weight(
        sample_weight, X, dtype=X.dtype, ensure_non_negative=True
    )
    if not np.sum(sample_weight, dtype=np.float64) > 0:
        raise ValueError(
            "sample_weight sums to zero: at least one sample needs a positive weight."
        )
    return sample_weight


def split_validation(*arrays, validation_fraction, random_state, stratify=None):
    """Train and validation parts of each array, as ``train_test_split``.

    An array given as None (no sample weights) stays None in both parts, and
    the split of the others is the one they would have without it.

    Returns
    -------
    parts : list of tuple
        ``(train, validation)`` for each array, in order.
    """
    present = [a for a in arrays if a is not None]
    split = iter(
        train_test_split(
            *present,
            test_size=validation_fraction,
            random_state=random_state,
            stratify=stratify,
        )
    )
    return [(None, None) if a is None else (next(split), next(split)) for a in arrays]
