"""Callbacks: each fit reports its solver runs as scikit-learn's callbacks see them.

scikit-learn 1.9 ships ``sklearn.callback``: an estimator that supports it
(``CallbackSupportMixin``) takes callbacks with ``set_callbacks`` (such as
``sklearn.callback.ProgressBar``), and its fit reports a tree of tasks to
them, inside a ``Pipeline`` or a ``GridSearchCV`` too. Our estimators report

- the fit (the root task; for the stacked classifier, one subtask per stage,
  each autoencoder's own fit merged under its stage),
- each solver run (a task named ``"solver"`` of ``max_iter`` subtasks; its
  end's ``metadata`` holds ``n_iter``, ``loss`` and ``status``, why it
  stopped),
- each iteration or epoch (a leaf task named ``"iteration"``, its end's
  ``metadata`` holding ``n_iter`` and ``loss``).

Where ``sklearn.callback`` is missing (scikit-learn 1.6 to 1.8), the same
methods and the same task tree are provided here, small, so that a callback
written to scikit-learn's protocol (the command line's progress, for
instance) works on every release we support.
"""

import contextlib
import functools

from ._solvers import Progress

try:  # scikit-learn >= 1.9
    from sklearn.callback import CallbackSupportMixin as _SklearnCallbackSupport
    from sklearn.callback._callback_support import callback_management_context
except ImportError:  # pragma: no cover - exercised by make test-min
    _SklearnCallbackSupport = None

__all__ = [
    "CallbackSupport",
    "ProgressEvents",
    "SolverProgress",
    "stage_task",
    "with_callbacks",
]

#: Whether scikit-learn's own callbacks are there.
SKLEARN_CALLBACKS = _SklearnCallbackSupport is not None


class _Context:
    """The task tree of ``sklearn.callback.CallbackContext``, for older releases.

    It has the attributes callbacks read (``task_name``, ``task_id``,
    ``max_subtasks``, ``parent``, ``estimator_name``) and calls each
    callback's hooks with ``metadata``.
    """

    def __init__(self, callbacks, estimator_name, task_name, max_subtasks, parent):
        self._callbacks = callbacks
        self.estimator_name = estimator_name
        self.task_name = task_name
        self.max_subtasks = max_subtasks
        self.parent = parent
        self.task_id = 0
        self._n_children = 0

    def subcontext(self, task_name="", max_subtasks=0, **_):
        """A context for the next subtask."""
        child = _Context(
            self._callbacks, self.estimator_name, task_name, max_subtasks, self
        )
        child.task_id, self._n_children = self._n_children, self._n_children + 1
        return child

    def _call(self, hook, estimator, metadata):
        stop = False
        for callback in self._callbacks:
            method = getattr(callback, hook)
            if "metadata" in _keyword_names(method):
                stop |= bool(method(estimator, self, metadata=metadata))
            else:
                stop |= bool(method(estimator, self))
        return stop

    def call_on_fit_task_begin(self, *, estimator, metadata=None, **_):
        """Call ``on_fit_task_begin`` of the callbacks."""
        self._call("on_fit_task_begin", estimator, metadata)
        return self

    def call_on_fit_task_end(self, *, estimator, metadata=None, **_):
        """Call ``on_fit_task_end`` of the callbacks; True if one asks to stop."""
        return self._call("on_fit_task_end", estimator, metadata)

    @contextlib.contextmanager
    def propagate_callback_context(self, sub_estimator):
        """Give ``sub_estimator`` this task as its parent, for one fit."""
        sub_estimator._parent_callback_ctx = self
        try:
            yield
        finally:
            del sub_estimator._parent_callback_ctx


@functools.lru_cache
def _keyword_names(method):
    import inspect

    return {
        p.name
        for p in inspect.signature(method).parameters.values()
        if p.kind == p.KEYWORD_ONLY
    }


class _FallbackCallbackSupport:
    """``set_callbacks`` and the fit's task tree where scikit-learn lacks them."""

    def set_callbacks(self, *callbacks):
        """Set callbacks for the estimator.

        Parameters
        ----------
        *callbacks : callback instances
            Objects with scikit-learn's callback hooks (``setup``,
            ``on_fit_task_begin``, ``on_fit_task_end``, ``teardown``).

        Returns
        -------
        self : estimator instance
            The estimator instance itself.
        """
        if callbacks:
            self._skl_callbacks = list(callbacks)
        else:
            self.__dict__.pop("_skl_callbacks", None)
        return self

    def _init_callback_context(self, task_name="fit", max_subtasks=0, **_):
        parent = getattr(self, "_parent_callback_ctx", None)
        if parent is not None:  # a sub-estimator's fit is its parent's task
            context = parent.subcontext(task_name=task_name, max_subtasks=max_subtasks)
            self._skl_callbacks_to_teardown = []
        else:
            callbacks = getattr(self, "_skl_callbacks", [])
            context = _Context(
                callbacks, type(self).__name__, task_name, max_subtasks, None
            )
            self._skl_callbacks_to_teardown = list(callbacks)
            for callback in callbacks:
                callback.setup(estimator=self, context=context)
        self._callback_fit_ctx = context
        return context


@contextlib.contextmanager
def _fallback_management_context(estimator):
    try:
        yield
    finally:
        context = estimator.__dict__.pop("_callback_fit_ctx", None)
        for callback in estimator.__dict__.pop("_skl_callbacks_to_teardown", []):
            callback.teardown(estimator=estimator, context=context)


#: The base class of our estimators for callbacks: scikit-learn's mixin, or ours.
CallbackSupport = _SklearnCallbackSupport or _FallbackCallbackSupport
_management_context = (
    callback_management_context if SKLEARN_CALLBACKS else _fallback_management_context
)


def with_callbacks(method):
    """Decorate ``fit`` and ``partial_fit``: tear the callbacks down at the end."""

    @functools.wraps(method)
    def managed(estimator, *args, **kwargs):
        with _management_context(estimator):
            return method(estimator, *args, **kwargs)

    return managed


class SolverProgress(Progress):
    """A solver run's :class:`~skl_sparse_ae._solvers.Progress` as callback tasks.

    Parameters
    ----------
    context : CallbackContext
        The task the run is a subtask of.
    estimator : estimator
        The estimator being fitted.
    """

    def __init__(self, context, estimator):
        self.context = context
        self.estimator = estimator
        self.run = None

    def begin(self, max_iter):
        """The run's task begins."""
        self.run = self.context.subcontext(task_name="solver", max_subtasks=max_iter)
        self.run.call_on_fit_task_begin(estimator=self.estimator)

    def iteration(self, n_iter, loss):
        """An iteration's leaf task, begun and ended."""
        task = self.run.subcontext(task_name="iteration")
        task.call_on_fit_task_begin(estimator=self.estimator)
        task.call_on_fit_task_end(
            estimator=self.estimator, metadata={"n_iter": n_iter, "loss": loss}
        )

    def end(self, n_iter, loss, status):
        """The run's task ends, with why it stopped."""
        self.run.call_on_fit_task_end(
            estimator=self.estimator,
            metadata={"n_iter": n_iter, "loss": loss, "status": status},
        )


@contextlib.contextmanager
def stage_task(context, estimator, name, max_subtasks=1):
    """A stage of a fit (``"softmax"``, ...) as a subtask of ``context``.

    Begun on entry and ended on a normal exit; yields the stage's context.
    A stage that a sub-estimator's fit will be merged into is a leaf
    (``max_subtasks=0``).
    """
    stage = context.subcontext(task_name=name, max_subtasks=max_subtasks)
    stage.call_on_fit_task_begin(estimator=estimator)
    yield stage
    stage.call_on_fit_task_end(estimator=estimator)


class ProgressEvents:
    """A callback that turns a fit's solver runs into three plain events.

    ``on_event("start", max_iter=...)`` when a solver run begins,
    ``on_event("iteration", n_iter=..., loss=...)`` after each of its
    iterations or epochs and ``on_event("end", n_iter=..., loss=...,
    status=...)`` when it ends, for every run of the fit, those of a stacked
    classifier's autoencoders included (it propagates to sub-estimators). The
    command line's progress bars and report are fed by it.

    Parameters
    ----------
    on_event : callable
        ``on_event(event, **info)``.
    """

    #: propagated to the sub-estimators at any depth
    max_propagation_depth = None

    def __init__(self, on_event):
        self.on_event = on_event

    def setup(self, estimator, context):
        """Nothing to set up."""

    def teardown(self, estimator, context):
        """Nothing to tear down."""

    def on_fit_task_begin(self, estimator, context):
        """A solver run's task begins: ``"start"``."""
        if context.task_name == "solver":
            self.on_event("start", max_iter=context.max_subtasks)

    def on_fit_task_end(self, estimator, context, *, metadata=None):
        """An iteration's or a solver run's task ends: ``"iteration"``, ``"end"``."""
        if context.task_name == "iteration":
            self.on_event("iteration", **metadata)
        elif context.task_name == "solver":
            self.on_event("end", **metadata)
