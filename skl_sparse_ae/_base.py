"""What the estimators' fits share: the skeleton of a fit with a solver.

:func:`start_fit` validates the data and the sample weights, says whether
the fit continues the fitted model (``warm_start``, ``partial_fit``), builds
the solver from the estimator's parameters and returns a :class:`FitRun`,
which holds out the validation data, runs the solver, warns of how it
stopped and stores the solver's fitted attributes. Each estimator writes only
what is its own: its parameters' shapes, its objective, its fitted arrays.
:func:`unchanged_on_failure` undoes a fit that raised.
"""

import contextlib
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, validate_data

from ._callbacks import SolverProgress
from ._solver_params import make_solver
from ._solvers import INTERRUPTED, NO_PROGRESS


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
        # the callbacks' state of this fit stays, for their teardown
        running = {k: v for k, v in vars(estimator).items() if k in _CALLBACK_STATE}
        estimator.__dict__.clear()
        estimator.__dict__.update(saved, **running)
        raise


#: What a fit's callbacks keep on the estimator until their teardown.
_CALLBACK_STATE = ("_callback_fit_ctx", "_skl_callbacks_to_teardown")


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


def warn_on_stop(result):
    """Tell the user how a solver run that did not converge stopped.

    A ConvergenceWarning at a limit (``max_iter``, ``max_fun``, L-BFGS-B's
    line search); a UserWarning when Ctrl-C stopped it, the steps so far kept
    (as MLPClassifier does). Nothing when it stopped by its own rule.
    """
    if result.converged:
        return
    category = UserWarning if result.status == INTERRUPTED else ConvergenceWarning
    warnings.warn(result.message, category, stacklevel=3)


def run_solver(solver, objective, theta, data, *, progress=NO_PROGRESS, **options):
    """``solver.run(objective, theta, data, ...)``, then :func:`warn_on_stop`."""
    result = solver.run(objective, theta, data, progress=progress, **options)
    warn_on_stop(result)
    return result


class FitRun:
    """One ``fit`` or ``partial_fit`` of an estimator, from validation to storing.

    Made by :func:`start_fit`. Attributes: ``X``, ``y`` (validated),
    ``sample_weight`` (validated or None), ``incremental``, ``continuing``
    (the fitted model is continued), ``solver`` (from the estimator's
    parameters), ``random_state`` (a RandomState drawn from the estimator's
    ``random_state``) and ``state`` (the minibatch state being continued, or
    None).
    """

    def __init__(
        self,
        estimator,
        X,
        y,
        sample_weight,
        *,
        incremental,
        continuing,
        prefix,
        n_tasks,
    ):
        self.estimator = estimator
        self.X, self.y, self.sample_weight = X, y, sample_weight
        self.incremental = incremental
        self.continuing = continuing
        self.solver = make_solver(estimator.get_params(deep=False), prefix)
        self.random_state = check_random_state(estimator.random_state)
        self.state = getattr(estimator, "_solver_state", None) if continuing else None
        self.validation = False
        # the fit's task for the callbacks, ended by store()
        if callable(n_tasks):
            n_tasks = n_tasks(continuing)
        self.context = estimator._init_callback_context(max_subtasks=n_tasks)
        self.context.call_on_fit_task_begin(estimator=estimator, X=X, y=y)

    def split(self, *arrays, stratify=None):
        """Training and validation parts of each array, where the solver holds out.

        Returns ``(train, validation)``: two lists like ``arrays``; the
        validation parts are None when the solver holds nothing out (lbfgs,
        no early stopping, partial_fit). An array given as None stays None.
        """
        if not self.solver.holds_out_validation(self.incremental):
            return list(arrays), [None] * len(arrays)
        self.validation = True
        parts = split_validation(
            *arrays,
            validation_fraction=self.solver.validation_fraction,
            random_state=self.random_state,
            stratify=stratify,
        )
        return [train for train, _ in parts], [val for _, val in parts]

    def run(
        self,
        objective,
        theta,
        data,
        *,
        validation_score=None,
        after_update=None,
        context=None,
    ):
        """Run the solver on ``objective`` from ``theta`` over ``data`` (a tuple).

        The run is a subtask of ``context`` (by default the fit's task).
        Returns the :class:`~skl_sparse_ae._solvers.SolverResult`, after
        warning of a run that did not converge.
        """
        context = self.context if context is None else context
        return run_solver(
            self.solver,
            objective,
            theta,
            data,
            random_state=self.random_state,
            state=self.state,
            validation_score=validation_score,
            incremental=self.incremental,
            after_update=after_update,
            progress=SolverProgress(context, self.estimator),
        )

    def end(self):
        """End the fit's task for the callbacks."""
        self.context.call_on_fit_task_end(estimator=self.estimator)

    def store(self, result):
        """Store what every estimator keeps of its solver's run.

        ``loss_``, ``loss_curve_``, ``n_iter_``, ``best_loss_`` (None for
        lbfgs), ``validation_scores_`` and ``best_validation_score_`` (None
        without a validation split), and the state ``partial_fit`` and
        ``warm_start`` continue from.
        """
        estimator, state = self.estimator, result.state
        estimator.loss_ = result.loss
        estimator.loss_curve_ = result.loss_curve
        estimator.n_iter_ = result.n_iter
        estimator.best_loss_ = None if state is None else state.best_loss
        early = self.validation and state is not None
        estimator.validation_scores_ = state.validation_scores if early else None
        estimator.best_validation_score_ = (
            state.best_validation_score if early else None
        )
        estimator._solver_state = state
        estimator._solver_status = result.status
        self.end()


def start_fit(
    estimator,
    X,
    y="no_validation",
    *,
    incremental,
    sample_weight=None,
    prefix="",
    n_tasks=1,
):
    """Validate a fit's data and begin it: a :class:`FitRun`.

    The fitted model is continued by ``partial_fit`` and by ``fit`` with
    ``warm_start``, where there is one (``coefs_``); then X must have the
    features seen before. X is a float64 or float32 array or CSR matrix; a
    supervised estimator passes ``y`` (which must not be None), validated with
    X; ``fit.y`` is None otherwise. ``n_tasks`` is the number of subtasks
    of the fit's task for the callbacks (solver runs, or stages), or
    ``n_tasks(continuing)``.
    """
    supervised = not (isinstance(y, str) and y == "no_validation")
    continuing = (incremental or estimator.warm_start) and hasattr(estimator, "coefs_")
    validated = validate_data(
        estimator,
        X,
        y,
        accept_sparse="csr",
        dtype=[np.float64, np.float32],
        reset=not continuing,
    )
    X, y = validated if supervised else (validated, None)
    sample_weight = check_sample_weight(sample_weight, X)
    return FitRun(
        estimator,
        X,
        y,
        sample_weight,
        incremental=incremental,
        continuing=continuing,
        prefix=prefix,
        n_tasks=n_tasks,
    )
