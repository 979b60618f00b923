"""Solvers: plain objects and functions that minimise ``fun(theta)``.

A solver never knows which objective it runs. The full-batch solver takes
``fun(theta) -> (loss, grad)``; the minibatch solver takes
``fun(theta, *batch, grad=..., workspace=...) -> (loss, grad)`` and a tuple of
arrays whose rows it slices into batches (``(X,)`` for an autoencoder,
``(X, Y)`` for a classifier). Optimisers update the flat parameter vector in
place, as scikit-learn's ``_stochastic_optimizers`` do.

The solver objects (:class:`LBFGSSolver`, :class:`MinibatchDescent`) hold a
run's settings and say what they support; :func:`skl_sparse_ae._solver_params.
make_solver` builds them from an estimator's parameters. A run returns a
:class:`SolverResult` whose ``status`` says why it stopped; it warns of
nothing: the estimator decides what to tell the user.
"""

import copy
import time

import numpy as np
import scipy.optimize
import scipy.sparse as sp

from . import _kernels
from ._params import Workspace

INTERRUPT_MESSAGE = "Training interrupted by user."

# Why a solver run stopped: the ``status`` of its "end" progress event and of
# its SolverResult.
CONVERGED = "converged"  # L-BFGS-B: the projected gradient fell below tol
MAX_ITER = "max_iter"  # the iteration or epoch limit
MAX_FUN = "max_fun"  # L-BFGS-B: the limit on objective evaluations
LINE_SEARCH = "line_search"  # L-BFGS-B: no step lowered the loss enough
NO_IMPROVEMENT = "no_improvement"  # minibatch: the loss stopped improving by tol
EARLY_STOPPING = "early_stopping"  # minibatch: the validation score did
INTERRUPTED = "interrupted"  # Ctrl-C
INCREMENTAL = "partial_fit"  # one epoch of partial_fit: no stopping rule
STOP_REASONS = (
    CONVERGED,
    MAX_ITER,
    MAX_FUN,
    LINE_SEARCH,
    NO_IMPROVEMENT,
    EARLY_STOPPING,
    INTERRUPTED,
    INCREMENTAL,
)


class DivergenceError(ValueError):
    """The loss became NaN or infinite: the fit is abandoned, not returned."""


def _check_finite_loss(loss, n_iter, hint, dtype):
    """Raise DivergenceError unless the loss is finite in the model's dtype.

    The kernels sum squared errors in float64, so a float32 model's loss may
    be finite as a Python float and still beyond what float32 represents:
    such a model is no model either.
    """
    if not np.isfinite(loss) or abs(loss) > float(np.finfo(dtype).max):
        raise DivergenceError(
            f"The solver diverged: the loss is {loss} at iteration {n_iter}. {hint}"
        )


# ---------------------------------------------------------------------------
# Progress: what a solver run reports as it goes


class Progress:
    """Receives a solver run's progress; this base class ignores it.

    A run calls ``begin(max_iter)``, then ``iteration(n_iter, loss)`` after
    each iteration or epoch, and ``end(n_iter, loss, status)`` when it
    returns (``status`` one of :data:`STOP_REASONS`). The estimators pass an
    object that forwards these calls to their callbacks
    (:mod:`skl_sparse_ae._callbacks`).
    """

    def begin(self, max_iter):
        """A run of at most ``max_iter`` iterations or epochs starts."""

    def iteration(self, n_iter, loss):
        """Iteration or epoch ``n_iter`` (from 1) of the run ended with ``loss``."""

    def end(self, n_iter, loss, status):
        """The run ended after ``n_iter`` iterations, for the reason ``status``."""


NO_PROGRESS = Progress()


# ---------------------------------------------------------------------------
# Optimisers for minibatch descent


def _state_like(state, theta):
    """An optimiser's state vector in ``theta``'s dtype (a warm start may change it)."""
    return state if state.dtype == theta.dtype else state.astype(theta.dtype)


class SGDOptimizer:
    """Stochastic gradient descent with (Nesterov) momentum, in place.

    Parameters
    ----------
    theta : ndarray of shape (n_params,)
        The parameters to update (gives size and dtype of the state).
    learning_rate_init : float
        Step size; ``learning_rate`` is the current one, which a
        :class:`LearningRateSchedule` may change between epochs.
    momentum : float
        Momentum in ``[0, 1]``.
    nesterovs_momentum : bool
        Whether to use Nesterov's momentum.
    """

    def __init__(
        self, theta, learning_rate_init=0.01, momentum=0.9, nesterovs_momentum=True
    ):
        self.learning_rate_init = learning_rate_init
        self.learning_rate = learning_rate_init
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.velocity = np.zeros_like(theta)

    @property
    def size(self):
        """Number of parameters the state is for."""
        return self.velocity.shape[0]

    def update(self, theta, grad):
        """Update ``theta`` in place from ``grad``: one fused pass."""
        self.velocity = _state_like(self.velocity, theta)
        _kernels.sgd_step(
            theta,
            grad,
            self.velocity,
            self.learning_rate,
            self.momentum,
            self.nesterovs_momentum,
        )


class AdamOptimizer:
    """Adam (Kingma and Ba, 2014), in place on the flat parameter vector.

    Parameters
    ----------
    theta : ndarray of shape (n_params,)
        The parameters to update (gives size and dtype of the state).
    learning_rate_init : float
        Step size; ``learning_rate`` is the current one, which a
        :class:`LearningRateSchedule` may change between epochs.
    beta_1, beta_2 : float
        Decay rates of the first and second moment estimates.
    epsilon : float
        Added to the root of the second moment for stability.
    """

    def __init__(
        self, theta, learning_rate_init=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8
    ):
        self.learning_rate_init = learning_rate_init
        self.learning_rate = learning_rate_init
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.first_moment = np.zeros_like(theta)
        self.second_moment = np.zeros_like(theta)

    @property
    def size(self):
        """Number of parameters the state is for."""
        return self.first_moment.shape[0]

    def update(self, theta, grad):
        """Update ``theta`` in place from ``grad``: one fused pass."""
        self.t += 1
        b1, b2 = self.beta_1, self.beta_2
        # the bias corrections of both moments, folded into the step size
        lr = self.learning_rate * np.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        self.first_moment = _state_like(self.first_moment, theta)
        self.second_moment = _state_like(self.second_moment, theta)
        _kernels.adam_step(
            theta,
            grad,
            self.first_moment,
            self.second_moment,
            float(lr),
            b1,
            b2,
            self.epsilon,
        )


# ---------------------------------------------------------------------------
# Learning-rate schedules of the minibatch solvers


LEARNING_RATE_SCHEDULES = ("constant", "linear", "cosine")


class LearningRateSchedule:
    """The step size of each epoch: constant, or decayed over ``n_epochs``.

    Epoch ``e`` (counted from 0) runs at ``learning_rate_init * factor(t)``
    with ``t = min(e / (n_epochs - 1), 1)``, so the first epoch runs at
    ``learning_rate_init`` and epoch ``n_epochs - 1`` (and any later one) at
    ``learning_rate_init * final_ratio``:

    - ``"constant"``: ``factor = 1``;
    - ``"linear"``: ``factor = 1 - (1 - final_ratio) t``;
    - ``"cosine"``: ``factor = final_ratio + (1 - final_ratio)(1 + cos(pi t)) / 2``
      (Loshchilov and Hutter, 2017, without restarts).

    Parameters
    ----------
    kind : {"constant", "linear", "cosine"}
    learning_rate_init : float
    n_epochs : int
        Epochs over which the rate decays (``max_iter``).
    final_ratio : float
        Final step size as a fraction of ``learning_rate_init``.
    """

    def __init__(self, kind, learning_rate_init, n_epochs, final_ratio):
        if kind not in LEARNING_RATE_SCHEDULES:
            raise ValueError(f"Unknown learning-rate schedule {kind!r}.")
        self.kind = kind
        self.learning_rate_init = learning_rate_init
        self.n_epochs = n_epochs
        self.final_ratio = final_ratio

    def __call__(self, epoch):
        """The step size of epoch ``epoch`` (0 is the first)."""
        if self.kind == "constant":
            return self.learning_rate_init
        t = min(epoch / max(self.n_epochs - 1, 1), 1.0)
        r = self.final_ratio
        if self.kind == "linear":
            factor = 1.0 - (1.0 - r) * t
        else:
            factor = r + (1.0 - r) * 0.5 * (1.0 + np.cos(np.pi * t))
        return self.learning_rate_init * float(factor)


# ---------------------------------------------------------------------------
# Full batch: L-BFGS


def minimize_lbfgs(
    fun, theta0, *, max_iter, max_fun=15000, tol=1e-4, verbose=0, progress=NO_PROGRESS
):
    """Minimise ``fun`` with scipy's L-BFGS-B on the packed parameter vector.

    Parameters
    ----------
    fun : callable
        ``fun(theta, grad=..., workspace=...) -> (loss, grad)`` with ``theta``
        of ``theta0``'s dtype; it writes the gradient into ``grad``.
    theta0 : ndarray of shape (n_params,)
        Starting point; its dtype (float32 or float64) is the objective's.
    max_iter, max_fun : int
        Limits on iterations and on function evaluations.
    tol : float
        ``gtol`` of L-BFGS-B: stop when the largest gradient entry is below it.
    verbose : int
        Print one line (loss, elapsed seconds) per iteration when > 0.
    progress : Progress, default=NO_PROGRESS
        Told of each iteration.

    Returns
    -------
    SolverResult
        The solution in ``theta0``'s dtype, ``fun`` there, the iterations,
        the loss after each, and why it stopped. Ctrl-C stops it with the
        status ``"interrupted"`` at the last iterate L-BFGS-B accepted (or
        ``theta0`` before the first).
    """
    dtype = theta0.dtype
    start = time.perf_counter()
    loss_curve = []
    # the full batch's buffers are large: keep them for every evaluation
    grad = np.empty_like(theta0)
    workspace = Workspace()

    latest = {}  # the last evaluation, whose loss the callback records
    accepted = {"x": theta0.astype(np.float64), "loss": np.nan}  # the last iterate

    def fun64(x):
        loss, _ = fun(x.astype(dtype, copy=False), grad=grad, workspace=workspace)
        _check_finite_loss(loss, len(loss_curve), "Check the data's scale.", dtype)
        latest["x"], latest["loss"] = x.copy(), loss
        return loss, grad.astype(np.float64)

    def callback(xk):
        # callback(xk) works with every scipy (callback(intermediate_result)
        # needs scipy >= 1.11). L-BFGS-B calls it once the new iterate has been
        # evaluated, so its loss is the last evaluation's.
        if not np.array_equal(xk, latest.get("x")):
            fun64(xk)
        loss_curve.append(float(latest["loss"]))
        accepted["x"], accepted["loss"] = np.array(xk), loss_curve[-1]
        progress.iteration(len(loss_curve), loss_curve[-1])
        if verbose:
            elapsed = time.perf_counter() - start
            print(
                f"Iteration {len(loss_curve)}, loss = {loss_curve[-1]:.8f}, "
                f"{elapsed:.2f} s"
            )

    progress.begin(max_iter)
    try:
        result = scipy.optimize.minimize(
            fun64,
            theta0.astype(np.float64),
            method="L-BFGS-B",
            jac=True,
            callback=callback,
            options={"maxiter": max_iter, "maxfun": max_fun, "gtol": tol},
        )
        x, loss, status = result.x, float(result.fun), lbfgs_status(result, max_iter)
        message = (
            f"L-BFGS-B stopped before converging ({result.message}); increase "
            "max_iter (or max_fun) or scale the data."
        )
    except KeyboardInterrupt:
        x, loss, status = accepted["x"], accepted["loss"], INTERRUPTED
        message = INTERRUPT_MESSAGE
        if not loss_curve:  # interrupted before the first iteration
            loss = float(fun64(x)[0])
    n_iter = len(loss_curve) if status == INTERRUPTED else int(result.nit)
    progress.end(n_iter, loss, status)
    return SolverResult(
        x.astype(dtype), loss, n_iter, loss_curve, status=status, message=message
    )


def lbfgs_status(result, max_iter):
    """The stop reason of a ``scipy.optimize.minimize`` L-BFGS-B result."""
    if result.status == 0:
        return CONVERGED
    if result.status == 1:  # a limit: on iterations or on evaluations
        return MAX_ITER if result.nit >= max_iter else MAX_FUN
    return LINE_SEARCH  # ABNORMAL_TERMINATION_IN_LNSRCH and its kin


# ---------------------------------------------------------------------------
# Minibatch descent


def _take_rows(array, rows, buffer=None):
    """The rows of a batch: a slice, or a gather into ``buffer`` when given."""
    if sp.issparse(array) or isinstance(rows, slice):
        return array[rows]
    buffer = None if buffer is None else buffer[: len(rows)]
    if (
        buffer is not None
        and array.ndim == 2
        and array.flags.c_contiguous
        and array.dtype == buffer.dtype
        and array.dtype in (np.float32, np.float64)
    ):
        _kernels.take_rows(array, rows, buffer)
        return buffer
    return np.take(array, rows, axis=0, out=buffer)


class MinibatchSolver:
    """Epochs of minibatch descent with the stopping rules of MLPClassifier.

    Keeps what must survive between calls of ``run`` (``partial_fit`` and
    ``warm_start``): the optimiser's state, the loss curve, the best loss and
    the count of epochs without improvement.

    Parameters
    ----------
    optimizer : SGDOptimizer or AdamOptimizer
        Updates the parameters from a gradient.
    batch_size : int
        Rows per minibatch (clipped to the number of rows).
    shuffle : bool
        Shuffle the rows at each epoch.
    tol : float
        Improvement below which an epoch counts as no improvement.
    n_iter_no_change : int
        Epochs without improvement before stopping.
    verbose : int
        Print one line (loss, elapsed seconds) per epoch when > 0.
    random_state : numpy.random.RandomState
        Draws the shuffles.
    schedule : LearningRateSchedule, default=None
        Sets the optimiser's step size at the start of each epoch: epoch
        ``e`` of a ``run`` (``fit``), or, with ``incremental``, the number of
        epochs run so far (``partial_fit`` continues the decay). None keeps
        the optimiser's step size.
    """

    def __init__(
        self,
        optimizer,
        *,
        batch_size,
        shuffle,
        tol,
        n_iter_no_change,
        verbose,
        random_state,
        schedule=None,
    ):
        self.optimizer = optimizer
        self.schedule = schedule
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.verbose = verbose
        self.random_state = random_state
        self.loss_curve = []
        self.validation_scores = []
        self.best_loss = np.inf
        self.best_validation_score = -np.inf
        self.best_theta = None
        self.no_improvement_count = 0
        self.interrupted = False
        self.workspace = Workspace()

    def run(
        self,
        fun,
        theta,
        data,
        *,
        max_iter,
        validation_score=None,
        incremental=False,
        after_update=None,
        progress=NO_PROGRESS,
    ):
        """Run up to ``max_iter`` epochs over ``data``, updating ``theta`` in place.

        Parameters
        ----------
        fun : callable
            ``fun(theta, *batch, grad=..., workspace=...) -> (loss, grad)``.
        theta : ndarray of shape (n_params,)
            Updated in place.
        data : tuple of arrays
            Arrays with the same number of rows, sliced together.
        max_iter : int
            Epochs to run at most.
        validation_score : callable, default=None
            ``validation_score(theta) -> float`` (higher is better): when
            given, stopping follows it (early stopping) and the best
            parameters are restored at the end.
        incremental : bool, default=False
            One call of ``partial_fit``: no stopping rule, no warning.
        after_update : callable, default=None
            ``after_update(theta)``, called after every optimiser update; it
            may change ``theta`` in place (a projection onto a constraint,
            such as unit-norm rows of a weight matrix).
        progress : Progress, default=NO_PROGRESS
            Told of each epoch.

        Returns
        -------
        status : str
            Why the run stopped, one of :data:`STOP_REASONS`. Ctrl-C stops
            it with ``"interrupted"``, the steps so far kept.
        """
        n_samples = data[0].shape[0]
        batch_size = int(np.clip(self.batch_size, 1, n_samples))
        grad = np.empty_like(theta)
        # batches of shuffled rows are gathered into buffers reused every batch
        buffers = [
            np.empty((batch_size,) + a.shape[1:], a.dtype)
            if self.shuffle and not sp.issparse(a)
            else None
            for a in data
        ]
        start = time.perf_counter()
        n_epochs = seen = 0
        total = 0.0
        stopped = self.interrupted = False
        progress.begin(max_iter)
        try:
            for _ in range(max_iter):
                if self.schedule is not None:
                    epoch = len(self.loss_curve) if incremental else n_epochs
                    self.optimizer.learning_rate = self.schedule(epoch)
                if self.shuffle:
                    order = self.random_state.permutation(n_samples)
                total, seen = 0.0, 0
                for batch_start in range(0, n_samples, batch_size):
                    batch_stop = min(batch_start + batch_size, n_samples)
                    rows = (
                        order[batch_start:batch_stop]
                        if self.shuffle
                        else slice(batch_start, batch_stop)
                    )
                    batch = [_take_rows(a, rows, b) for a, b in zip(data, buffers)]
                    loss, _ = fun(theta, *batch, grad=grad, workspace=self.workspace)
                    _check_finite_loss(
                        loss,
                        len(self.loss_curve) + 1,
                        "Lower learning_rate_init or scale the data.",
                        theta.dtype,
                    )
                    self.optimizer.update(theta, grad)
                    if after_update is not None:
                        after_update(theta)
                    total += loss * (batch_stop - batch_start)
                    seen += batch_stop - batch_start
                n_epochs += 1
                epoch_loss = total / n_samples
                self.loss_curve.append(epoch_loss)
                seen = 0
                progress.iteration(n_epochs, epoch_loss)
                if self.verbose:
                    print(
                        f"Iteration {len(self.loss_curve)}, loss = {epoch_loss:.8f}, "
                        f"{time.perf_counter() - start:.2f} s"
                    )
                if incremental:
                    continue
                if self._update_no_improvement(theta, epoch_loss, validation_score):
                    stopped = True
                    if self.verbose:
                        print(
                            f"Loss did not improve more than tol={self.tol} for "
                            f"{self.n_iter_no_change} consecutive epochs. Stopping."
                        )
                    break
        except KeyboardInterrupt:
            # as MLPClassifier: stop and keep the weights so far (the estimator
            # says so); the interrupted epoch counts, with its batches' mean loss
            self.interrupted = stopped = True
            if seen:
                n_epochs += 1
                self.loss_curve.append(total / seen)
        if (
            validation_score is not None
            and self.best_theta is not None
            and not incremental
        ):
            theta[...] = self.best_theta
        loss = self.loss_curve[-1] if self.loss_curve else np.nan
        if self.interrupted:
            status = INTERRUPTED
        elif incremental:
            status = INCREMENTAL
        elif stopped:
            status = NO_IMPROVEMENT if validation_score is None else EARLY_STOPPING
        else:
            status = MAX_ITER
        progress.end(n_epochs, loss, status)
        return status

    def _update_no_improvement(self, theta, epoch_loss, validation_score):
        """Update the stopping counters; return True when training should stop."""
        if validation_score is not None:
            score = float(validation_score(theta))
            self.validation_scores.append(score)
            if score < self.best_validation_score + self.tol:
                self.no_improvement_count += 1
            else:
                self.no_improvement_count = 0
            if score > self.best_validation_score:
                self.best_validation_score = score
                self.best_theta = theta.copy()
        else:
            if epoch_loss > self.best_loss - self.tol:
                self.no_improvement_count += 1
            else:
                self.no_improvement_count = 0
        self.best_loss = min(self.best_loss, epoch_loss)
        return self.no_improvement_count > self.n_iter_no_change


# ---------------------------------------------------------------------------
# The solver objects: settings, what they support, and a run


class SolverResult:
    """What a solver run hands back to an estimator.

    Attributes
    ----------
    theta : ndarray
        The parameters at the end of the run.
    loss : float
        The loss there (L-BFGS-B), or the last epoch's mean loss.
    n_iter : int
        Iterations or epochs, in all (a continued minibatch state counts the
        earlier ones too).
    loss_curve : list of float
    status : str
        Why the run stopped, one of :data:`STOP_REASONS`.
    message : str
        What to tell a user when it did not converge.
    state : MinibatchSolver or None
        The minibatch state to continue from; None for L-BFGS-B.
    """

    def __init__(
        self, theta, loss, n_iter, loss_curve, *, status, message="", state=None
    ):
        self.theta = theta
        self.loss = loss
        self.n_iter = n_iter
        self.loss_curve = loss_curve
        self.status = status
        self.message = message
        self.state = state

    @property
    def converged(self):
        """Whether the run stopped by its own rule (not at a limit or by Ctrl-C)."""
        return self.status in (CONVERGED, NO_IMPROVEMENT, EARLY_STOPPING, INCREMENTAL)


class LBFGSSolver:
    """Full-batch L-BFGS-B on the packed parameters (:func:`minimize_lbfgs`).

    Parameters
    ----------
    max_iter, max_fun : int
        Limits on iterations and on objective evaluations.
    tol : float
        ``gtol`` of L-BFGS-B.
    verbose : int
        One line per iteration when > 0.
    """

    name = "lbfgs"
    #: one objective over all the data: no minibatches, no partial_fit, no
    #: update hook, no validation split, noise drawn once per fit
    full_batch = True
    supports_partial_fit = False

    def __init__(self, *, max_iter, max_fun, tol, verbose):
        self.max_iter = max_iter
        self.max_fun = max_fun
        self.tol = tol
        self.verbose = verbose

    def holds_out_validation(self, incremental):
        """Whether a fit should hold out validation data: never."""
        return False

    def run(
        self,
        fun,
        theta,
        data,
        *,
        random_state=None,
        state=None,
        validation_score=None,
        incremental=False,
        after_update=None,
        progress=NO_PROGRESS,
    ):
        """Minimise ``fun(theta, *data, grad=, workspace=)`` from ``theta``.

        ``theta`` is not modified; ``random_state``, ``state``,
        ``validation_score`` and ``incremental`` are the minibatch solver's
        and ignored here. Returns a :class:`SolverResult`.
        """
        if after_update is not None:
            raise ValueError("after_update needs a minibatch solver, not lbfgs.")
        return minimize_lbfgs(
            lambda t, **buffers: fun(t, *data, **buffers),
            theta.copy(),
            max_iter=self.max_iter,
            max_fun=self.max_fun,
            tol=self.tol,
            verbose=self.verbose,
            progress=progress,
        )


#: Rows per minibatch of ``batch_size="auto"`` (at most the number of rows).
DEFAULT_BATCH_SIZE = 256


class MinibatchDescent:
    """Epochs of minibatch descent with an optimiser (Adam or SGD).

    The settings of :class:`MinibatchSolver` runs: a run starts a new
    :class:`MinibatchSolver` state, or continues a given one (``warm_start``,
    ``partial_fit``) with these settings taking effect.

    Parameters
    ----------
    optimizer : type
        :class:`AdamOptimizer` or :class:`SGDOptimizer`.
    optimizer_params : dict
        Its keyword arguments but ``theta`` (``learning_rate_init``, ...).
    batch_size : int or "auto"
        Rows per minibatch; "auto" is ``min(256, n_samples)``.
    max_iter : int
        Epochs at most.
    shuffle, tol, n_iter_no_change, verbose
        As :class:`MinibatchSolver`.
    early_stopping : bool
        Whether a fit holds out ``validation_fraction`` of its data.
    validation_fraction : float
    learning_rate : {"constant", "linear", "cosine"}
        The :class:`LearningRateSchedule` over ``max_iter`` epochs.
    learning_rate_final_ratio : float
    """

    full_batch = False
    supports_partial_fit = True

    def __init__(
        self,
        optimizer,
        optimizer_params,
        *,
        batch_size,
        max_iter,
        shuffle,
        tol,
        n_iter_no_change,
        early_stopping,
        validation_fraction,
        learning_rate,
        learning_rate_final_ratio,
        verbose,
    ):
        self.optimizer = optimizer
        self.optimizer_params = optimizer_params
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.learning_rate = learning_rate
        self.learning_rate_final_ratio = learning_rate_final_ratio
        self.verbose = verbose

    def holds_out_validation(self, incremental):
        """Whether a fit holds out validation data (not one of partial_fit)."""
        return self.early_stopping and not incremental

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(DEFAULT_BATCH_SIZE, n_samples)
        return min(self.batch_size, n_samples)

    def _state(self, theta, n_samples, state, random_state):
        """A copy of ``state`` with these settings, or a new one."""
        learning_rate_init = self.optimizer_params["learning_rate_init"]
        settings = dict(
            batch_size=self._batch_size(n_samples),
            shuffle=self.shuffle,
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            verbose=self.verbose,
            schedule=LearningRateSchedule(
                self.learning_rate,
                learning_rate_init,
                self.max_iter,
                self.learning_rate_final_ratio,
            ),
        )
        state = copy.deepcopy(state)  # a failed run leaves the given one whole
        if (
            state is None
            or not isinstance(state.optimizer, self.optimizer)
            or state.optimizer.size != theta.shape[0]
        ):  # a new optimiser (also when the parametrisation changed size)
            optimizer = self.optimizer(theta, **self.optimizer_params)
            return MinibatchSolver(optimizer, random_state=random_state, **settings)
        # continuing: parameters changed with set_params take effect
        vars(state.optimizer).update(
            self.optimizer_params, learning_rate=learning_rate_init
        )
        vars(state).update(settings)
        return state

    def run(
        self,
        fun,
        theta,
        data,
        *,
        random_state,
        state=None,
        validation_score=None,
        incremental=False,
        after_update=None,
        progress=NO_PROGRESS,
    ):
        """Minimise ``fun(theta, *batch, grad=, workspace=)`` over ``data``.

        Parameters
        ----------
        fun : callable
            The minibatch objective.
        theta : ndarray of shape (n_params,)
            Starting point; not modified.
        data : tuple of arrays
            The rows the objective is averaged over, sliced together.
        random_state : numpy.random.RandomState
            Shuffles of a new state.
        state : MinibatchSolver, default=None
            State to continue from; copied, so a failed run leaves it whole.
        validation_score : callable, default=None
            ``validation_score(theta) -> float`` for early stopping.
        incremental : bool, default=False
            One epoch of ``partial_fit``.
        after_update : callable, default=None
            ``after_update(theta)`` after each update.
        progress : Progress, default=NO_PROGRESS

        Returns
        -------
        SolverResult
        """
        theta = theta.copy()
        state = self._state(theta, data[0].shape[0], state, random_state)
        max_iter = 1 if incremental else self.max_iter
        status = state.run(
            fun,
            theta,
            data,
            max_iter=max_iter,
            validation_score=validation_score,
            incremental=incremental,
            after_update=after_update,
            progress=progress,
        )
        message = INTERRUPT_MESSAGE
        if status == MAX_ITER:
            message = (
                f"Stochastic optimizer: maximum iterations ({max_iter}) reached "
                "and the optimization hasn't converged yet."
            )
        return SolverResult(
            theta,
            float(state.loss_curve[-1]) if state.loss_curve else np.nan,
            len(state.loss_curve),
            list(state.loss_curve),
            status=status,
            message=message,
            state=state,
        )
