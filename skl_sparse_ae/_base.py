"""What the estimators share as parameters: the solver parameters' constraints,
and undoing a failed fit."""

import contextlib
from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

# Constraints of the solver parameters, named as in MLPClassifier.
SOLVER_PARAMETER_CONSTRAINTS = {
    "solver": [StrOptions({"lbfgs", "adam", "sgd"})],
    "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
    "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
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
