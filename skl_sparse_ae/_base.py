"""What both estimators share: solver parameters, their constraints, and the
call that hands an objective to the chosen solver."""

import contextlib
import copy
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ._solvers import AdamOptimizer, MinibatchSolver, SGDOptimizer, minimize_lbfgs

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

DEFAULT_BATCH_SIZE = 256


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


class SolverResult:
    """What a solver run hands back to an estimator."""

    def __init__(self, theta, loss, n_iter, loss_curve, state=None):
        self.theta = theta
        self.loss = loss
        self.n_iter = n_iter
        self.loss_curve = loss_curve
        self.state = state


def _make_optimizer(estimator, theta):
    if estimator.solver == "adam":
        return AdamOptimizer(
            theta,
            learning_rate_init=estimator.learning_rate_init,
            beta_1=estimator.beta_1,
            beta_2=estimator.beta_2,
            epsilon=estimator.epsilon,
        )
    return SGDOptimizer(
        theta,
        learning_rate_init=estimator.learning_rate_init,
        momentum=estimator.momentum,
        nesterovs_momentum=estimator.nesterovs_momentum,
    )


def _sync_optimizer(optimizer, estimator):
    """Carry parameters changed with ``set_params`` into a kept optimiser."""
    if isinstance(optimizer, AdamOptimizer):
        optimizer.learning_rate_init = estimator.learning_rate_init
        optimizer.beta_1, optimizer.beta_2 = estimator.beta_1, estimator.beta_2
        optimizer.epsilon = estimator.epsilon
    else:
        optimizer.learning_rate = estimator.learning_rate_init
        optimizer.momentum = estimator.momentum
        optimizer.nesterovs_momentum = estimator.nesterovs_momentum


def batch_size_for(estimator, n_samples):
    if estimator.batch_size == "auto":
        return min(DEFAULT_BATCH_SIZE, n_samples)
    return min(estimator.batch_size, n_samples)


def run_solver(
    estimator,
    fun,
    theta,
    data,
    *,
    random_state,
    previous_state=None,
    validation_score=None,
    incremental=False,
):
    """Minimise ``fun`` over ``data`` with the estimator's solver parameters.

    Parameters
    ----------
    estimator : estimator
        Supplies ``solver``, ``max_iter``, ``tol``, ... (read only).
    fun : callable
        ``fun(theta, *data, grad=None, workspace=None) -> (loss, grad)``.
    theta : ndarray of shape (n_params,)
        Starting point; not modified.
    data : tuple of arrays
        The rows the objective is averaged over.
    random_state : numpy.random.RandomState
        Shuffles of the minibatch solvers.
    previous_state : MinibatchSolver, default=None
        State to continue from (``warm_start`` and ``partial_fit``); copied,
        so a failed run leaves it untouched.
    validation_score : callable, default=None
        ``validation_score(theta) -> float`` for early stopping.
    incremental : bool, default=False
        One epoch of ``partial_fit``.

    Returns
    -------
    SolverResult
    """
    theta = theta.copy()
    if estimator.solver == "lbfgs":
        theta, loss, n_iter, curve = minimize_lbfgs(
            lambda t, **buffers: fun(t, *data, **buffers),
            theta,
            max_iter=estimator.max_iter,
            max_fun=estimator.max_fun,
            tol=estimator.tol,
            verbose=estimator.verbose,
        )
        return SolverResult(theta, loss, n_iter, curve)

    settings = dict(
        batch_size=batch_size_for(estimator, data[0].shape[0]),
        shuffle=estimator.shuffle,
        tol=estimator.tol,
        n_iter_no_change=estimator.n_iter_no_change,
        verbose=estimator.verbose,
    )
    state = copy.deepcopy(previous_state)
    kind = AdamOptimizer if estimator.solver == "adam" else SGDOptimizer
    if state is None or not isinstance(state.optimizer, kind):
        state = MinibatchSolver(
            _make_optimizer(estimator, theta), random_state=random_state, **settings
        )
    else:  # continuing: parameters changed with set_params take effect
        _sync_optimizer(state.optimizer, estimator)
        vars(state).update(settings)
    state.run(
        fun,
        theta,
        data,
        max_iter=1 if incremental else estimator.max_iter,
        validation_score=validation_score,
        incremental=incremental,
    )
    return SolverResult(
        theta,
        float(state.loss_curve[-1]) if state.loss_curve else np.nan,
        len(state.loss_curve),
        list(state.loss_curve),
        state,
    )
