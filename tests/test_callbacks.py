"""scikit-learn's callbacks (1.9) on every estimator, and the fit's task tree."""

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from skl_sparse_ae import (
    SparseAutoencoderTransformer,
    StackedSparseAEClassifier,
    TopKSparseAutoencoder,
)
from skl_sparse_ae._callbacks import SKLEARN_CALLBACKS, ProgressEvents

X = np.random.RandomState(0).uniform(size=(60, 9))
Y = np.arange(60) % 3

SMALL = [
    SparseAutoencoderTransformer(n_components=3, max_iter=4, random_state=0),
    SparseAutoencoderTransformer(
        n_components=3, solver="adam", max_iter=4, random_state=0
    ),
    TopKSparseAutoencoder(n_components=6, k=2, max_iter=4, random_state=0),
    StackedSparseAEClassifier(
        hidden_layer_sizes=(4, 3),
        pretrain_max_iter=2,
        softmax_max_iter=5,
        fine_tune_max_iter=3,
        random_state=0,
    ),
]


def _fit(estimator):
    with pytest.warns(ConvergenceWarning):  # a few iterations do not converge
        if isinstance(estimator, StackedSparseAEClassifier):
            return estimator.fit(X, Y)
        return estimator.fit(X)


class _Recorder:
    """A callback of scikit-learn's protocol recording every hook call."""

    max_propagation_depth = None

    def __init__(self):
        self.calls = []

    def setup(self, estimator, context):
        self.calls.append(("setup", type(estimator).__name__))

    def teardown(self, estimator, context):
        self.calls.append(("teardown", type(estimator).__name__))

    def on_fit_task_begin(self, estimator, context):
        self.calls.append(("begin", context.task_name, context.max_subtasks))

    def on_fit_task_end(self, estimator, context, *, metadata=None):
        self.calls.append(("end", context.task_name, metadata))


@pytest.mark.parametrize("estimator", SMALL, ids=lambda e: type(e).__name__)
def test_each_solver_run_is_a_task_with_its_iterations(estimator):
    recorder = _Recorder()
    _fit(estimator.set_callbacks(recorder))
    calls = recorder.calls
    assert calls[0][0] == "setup" and calls[-1][0] == "teardown"
    begins = [c for c in calls if c[0] == "begin"]
    assert begins[0][1] == "fit"  # the root task
    runs = [c for c in begins if c[1] == "solver"]
    ends = [c for c in calls if c[0] == "end" and c[1] == "solver"]
    n_runs = 4 if isinstance(estimator, StackedSparseAEClassifier) else 1
    assert len(runs) == len(ends) == n_runs
    assert all(end[2]["status"] == "max_iter" for end in ends[:1])
    iterations = [c for c in calls if c[0] == "end" and c[1] == "iteration"]
    assert len(iterations) == sum(end[2]["n_iter"] for end in ends)
    if not isinstance(estimator, StackedSparseAEClassifier):
        assert [c[2]["loss"] for c in iterations] == pytest.approx(
            estimator.loss_curve_
        )
    # the root task ends last, before the teardown
    assert calls[-2][:2] == ("end", "fit")


def test_stacked_stages_are_tasks_in_order():
    recorder = _Recorder()
    _fit(SMALL[3].set_callbacks(recorder))
    stages = [
        c[1]
        for c in recorder.calls
        if c[0] == "begin"
        and c[1]
        not in (
            "solver",
            "iteration",
        )
    ]
    assert stages[0] == "fit"
    assert "pretraining layer 1" in stages and "pretraining layer 2" in stages
    assert stages.index("softmax") < stages.index("fine-tuning")


def test_progress_events_reports_runs_in_order():
    events = []
    clf = SMALL[3].set_callbacks(ProgressEvents(lambda e, **i: events.append(e)))
    _fit(clf)
    assert events.count("start") == events.count("end") == 4
    assert events[0] == "start" and events[-1] == "end"


def test_a_failed_fit_still_tears_its_callbacks_down():
    recorder = _Recorder()
    ae = SparseAutoencoderTransformer(n_components=3, decoder="sigmoid")
    ae.set_callbacks(recorder)
    with pytest.raises(ValueError, match="MinMaxScaler"):
        ae.fit(X * 5)  # outside [0, 1] for a sigmoid decoder
    assert recorder.calls[-1] == ("teardown", "SparseAutoencoderTransformer")
    assert not hasattr(ae, "_callback_fit_ctx")


@pytest.mark.skipif(not SKLEARN_CALLBACKS, reason="sklearn.callback needs >= 1.9")
@pytest.mark.parametrize("estimator", SMALL, ids=lambda e: type(e).__name__)
def test_progress_bar(estimator):
    pytest.importorskip("rich")
    from sklearn.callback import ProgressBar

    _fit(estimator.set_callbacks(ProgressBar()))
    assert hasattr(estimator, "n_iter_")


@pytest.mark.skipif(not SKLEARN_CALLBACKS, reason="sklearn.callback needs >= 1.9")
def test_progress_bar_inside_grid_search():
    pytest.importorskip("rich")
    from sklearn.callback import ProgressBar

    search = GridSearchCV(
        TopKSparseAutoencoder(n_components=6, max_iter=3, random_state=0),
        {"k": [1, 2]},
        cv=2,
    )
    search.set_callbacks(ProgressBar(max_propagation_depth=None))
    with pytest.warns(ConvergenceWarning):
        search.fit(X)
    assert search.best_params_["k"] in (1, 2)
