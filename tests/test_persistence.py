"""Saving and loading fitted models, and getting the same model twice.

Persistence: pickle, joblib and skops round trips of both estimators, fitted
with every solver, in float32 and float64, and unfitted. A restored model
gives bit-identical outputs and goes on training exactly as the original
would (its private solver state: optimiser moments, the shuffling
RandomState; the scratch buffers of the objective are not saved). skops lists
the package's own types as untrusted, and only those.

Reproducibility: the same ``random_state`` gives a bit-identical model, for
both estimators and every solver, and GridSearchCV gives identical scores
with ``n_jobs=1`` and ``n_jobs=2`` (loky worker processes).
"""

import io
import pickle
import warnings

import joblib
import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skl_sparse_ae import SparseAE, StackedSparseAEClassifier

AE = "skl_sparse_ae._autoencoder.SparseAutoencoderTransformer"
STACK = "skl_sparse_ae._stacked.StackedSparseAEClassifier"
MINIBATCH = [
    "skl_sparse_ae._params.Workspace",
    "skl_sparse_ae._solvers.MinibatchSolver",
    "skl_sparse_ae._solvers.LearningRateSchedule",
]
ADAM = "skl_sparse_ae._solvers.AdamOptimizer"
SGD = "skl_sparse_ae._solvers.SGDOptimizer"

STACK_PARAMS = dict(
    hidden_layer_sizes=(6, 4),
    pretrain_max_iter=2,
    pretrain_batch_size=16,
    softmax_max_iter=5,
    fine_tune_max_iter=3,
    fine_tune_batch_size=16,
    random_state=0,
)

# name: (estimator, the types skops does not trust in it once fitted)
CONFIGS = {
    "ae-lbfgs": (SparseAE(n_components=4, max_iter=5, random_state=0), [AE]),
    "ae-adam": (
        SparseAE(
            n_components=4, solver="adam", batch_size=16, max_iter=3, random_state=0
        ),
        [AE, ADAM, *MINIBATCH],
    ),
    "ae-sgd": (
        SparseAE(
            n_components=4,
            solver="sgd",
            learning_rate_init=0.1,
            batch_size=16,
            max_iter=3,
            random_state=0,
        ),
        [AE, SGD, *MINIBATCH],
    ),
    # the fine-tuning's state is kept (partial_fit, warm_start); the
    # autoencoders' is dropped once pretrained, so sgd fine-tuning has no adam
    "stack-adam": (
        StackedSparseAEClassifier(**STACK_PARAMS),
        [AE, STACK, ADAM, *MINIBATCH],
    ),
    "stack-sgd": (
        StackedSparseAEClassifier(
            **STACK_PARAMS, fine_tune_solver="sgd", fine_tune_learning_rate_init=0.1
        ),
        [AE, STACK, SGD, *MINIBATCH],
    ),
    "stack-lbfgs": (
        StackedSparseAEClassifier(
            **STACK_PARAMS, pretrain_solver="lbfgs", fine_tune_solver="lbfgs"
        ),
        [AE, STACK],
    ),
}
MINIBATCH_CONFIGS = ["ae-adam", "ae-sgd", "stack-adam", "stack-sgd"]


@pytest.fixture(scope="module")
def data():
    X, y = load_digits(return_X_y=True)
    return X[:90] / 16.0, y[:90] % 3


def _fit(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if isinstance(estimator, SparseAE):
            return estimator.fit(X)
        return estimator.fit(X, y)


def _continue(estimator, X, y):
    """One more epoch (minibatch solvers) or a warm-started refit (lbfgs)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if hasattr(estimator, "partial_fit"):
            if isinstance(estimator, SparseAE):
                return estimator.partial_fit(X)
            return estimator.partial_fit(X, y)
        return _fit(estimator.set_params(warm_start=True), X, y)


def _outputs(estimator, X, y):
    """Everything a fitted estimator computes, and its fitted arrays."""
    if isinstance(estimator, SparseAE):
        codes = estimator.transform(X)
        out = [codes, estimator.inverse_transform(codes), estimator.score(X)]
        out += [estimator.mean_activation_, estimator.loss_curve_]
    else:
        out = [
            estimator.predict_proba(X),
            estimator.predict_log_proba(X),
            estimator.decision_function(X),
            estimator.predict(X),
            estimator.transform(X),
            estimator.score(X, y),
            estimator.pretrained_score(X, y),
            estimator.loss_curve_,
        ]
        out += estimator.pretrained_coefs_
        for ae in estimator.autoencoders_:
            out += ae.coefs_ + ae.intercepts_
    return out + estimator.coefs_ + estimator.intercepts_ + [estimator.n_iter_]


def _assert_same_outputs(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype
        assert_array_equal(x, y)


def _pickle(estimator, tmp_path):
    return pickle.loads(pickle.dumps(estimator, protocol=pickle.HIGHEST_PROTOCOL))


def _joblib_file(estimator, tmp_path):
    path = tmp_path / "model.joblib"
    joblib.dump(estimator, path)
    return joblib.load(path)


def _joblib_compressed(estimator, tmp_path):
    buffer = io.BytesIO()
    joblib.dump(estimator, buffer, compress=3)
    buffer.seek(0)
    return joblib.load(buffer)


ROUND_TRIPS = {
    "pickle": _pickle,
    "joblib-file": _joblib_file,
    "joblib-compressed": _joblib_compressed,
}


# -- pickle and joblib --------------------------------------------------------------


@pytest.mark.parametrize("how", ROUND_TRIPS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("config", CONFIGS)
def test_round_trip_of_a_fitted_model(data, tmp_path, config, dtype, how):
    X, y = data[0].astype(dtype), data[1]
    original = _fit(clone(CONFIGS[config][0]), X, y)
    restored = ROUND_TRIPS[how](original, tmp_path)
    assert all(c.dtype == dtype for c in restored.coefs_ + restored.intercepts_)
    _assert_same_outputs(_outputs(restored, X, y), _outputs(original, X, y))
    assert restored.get_params() == original.get_params()


@pytest.mark.parametrize("how", ROUND_TRIPS)
@pytest.mark.parametrize("config", MINIBATCH_CONFIGS + ["ae-lbfgs", "stack-lbfgs"])
def test_a_restored_model_trains_on_exactly_as_the_original(
    data, tmp_path, config, how
):
    """The solver state survives: optimiser moments, the shuffling RandomState."""
    X, y = data
    original = _fit(clone(CONFIGS[config][0]), X, y)
    restored = ROUND_TRIPS[how](original, tmp_path)
    for model in (original, restored):
        _continue(model, X, y)
        _continue(model, X, y)
    _assert_same_outputs(_outputs(restored, X, y), _outputs(original, X, y))


def test_the_scratch_buffers_are_not_saved(data):
    X, y = data
    ae = _fit(clone(CONFIGS["ae-adam"][0]), X, y)
    assert ae._solver_state.workspace._buffers  # filled by the fit
    restored = pickle.loads(pickle.dumps(ae))
    assert restored._solver_state.workspace._buffers == {}


@pytest.mark.parametrize("how", ROUND_TRIPS)
@pytest.mark.parametrize("config", ["ae-adam", "stack-adam"])
def test_round_trip_of_an_unfitted_model(data, tmp_path, config, how):
    X, y = data
    original = clone(CONFIGS[config][0])
    restored = ROUND_TRIPS[how](original, tmp_path)
    assert restored.get_params() == original.get_params()
    with pytest.raises(NotFittedError):
        restored.transform(X)
    _assert_same_outputs(
        _outputs(_fit(restored, X, y), X, y), _outputs(_fit(original, X, y), X, y)
    )


# -- skops ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def sio():
    return pytest.importorskip("skops.io")


def _skops_round_trip(sio, estimator, expected_untrusted):
    data = sio.dumps(estimator)
    untrusted = sio.get_untrusted_types(data=data)
    assert sorted(untrusted) == sorted(expected_untrusted)
    assert all(name.startswith("skl_sparse_ae.") for name in untrusted)
    from skops.io.exceptions import UntrustedTypesFoundException

    with pytest.raises(UntrustedTypesFoundException):
        sio.loads(data)
    return sio.loads(data, trusted=untrusted)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("config", CONFIGS)
def test_skops_round_trip_trusts_only_our_types(sio, data, config, dtype):
    X, y = data[0].astype(dtype), data[1]
    estimator, expected_untrusted = CONFIGS[config]
    original = _fit(clone(estimator), X, y)
    restored = _skops_round_trip(sio, original, expected_untrusted)
    _assert_same_outputs(_outputs(restored, X, y), _outputs(original, X, y))
    for model in (original, restored):
        _continue(model, X, y)
    _assert_same_outputs(_outputs(restored, X, y), _outputs(original, X, y))


@pytest.mark.parametrize("estimator", [SparseAE(), StackedSparseAEClassifier()])
def test_skops_round_trip_of_an_unfitted_model(sio, estimator):
    name = AE if isinstance(estimator, SparseAE) else STACK
    restored = _skops_round_trip(sio, estimator, [name])
    assert restored.get_params() == estimator.get_params()


def test_skops_file_of_a_pipeline(sio, data, tmp_path):
    """scikit-learn's own steps are trusted by skops; ours are listed."""
    X, y = data
    pipe = make_pipeline(
        MinMaxScaler(),
        clone(CONFIGS["ae-lbfgs"][0]),
        LogisticRegression(max_iter=200),
    )
    _fit(pipe, X, y)
    path = tmp_path / "pipeline.skops"
    sio.dump(pipe, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert untrusted == [AE]
    restored = sio.load(path, trusted=untrusted)
    assert_array_equal(restored.predict_proba(X), pipe.predict_proba(X))


# -- reproducibility -------------------------------------------------------------

EARLY_STOPPING = {
    "ae-adam-early-stopping": SparseAE(
        n_components=4,
        solver="adam",
        early_stopping=True,
        validation_fraction=0.2,
        batch_size=16,
        max_iter=4,
        random_state=0,
    ),
    "stack-early-stopping": StackedSparseAEClassifier(
        **STACK_PARAMS, pretrain_solver="sgd", fine_tune_early_stopping=True
    ),
}
REPRODUCIBLE = {
    **{name: estimator for name, (estimator, _) in CONFIGS.items()},
    **EARLY_STOPPING,
}


@pytest.mark.parametrize("config", REPRODUCIBLE)
def test_same_random_state_same_model(data, config):
    X, y = data
    estimator = REPRODUCIBLE[config]
    reference = _fit(clone(estimator), X, y)
    again = _fit(clone(estimator), X, y)
    _assert_same_outputs(_outputs(again, X, y), _outputs(reference, X, y))
    # a RandomState instance seeded alike gives the same model as the int
    seeded = clone(estimator).set_params(random_state=np.random.RandomState(0))
    _assert_same_outputs(_outputs(_fit(seeded, X, y), X, y), _outputs(reference, X, y))
    other = _fit(clone(estimator).set_params(random_state=1), X, y)
    assert not np.array_equal(other.coefs_[0], reference.coefs_[0])


def _grid_searches():
    pipe = make_pipeline(
        MinMaxScaler(),
        SparseAE(
            n_components=4, solver="adam", batch_size=16, max_iter=3, random_state=0
        ),
        LogisticRegression(max_iter=200),
    )
    return [
        GridSearchCV(
            pipe, {"sparseautoencodertransformer__sparsity_target": [0.05, 0.2]}, cv=2
        ),
        GridSearchCV(
            StackedSparseAEClassifier(**STACK_PARAMS),
            {"fine_tune_learning_rate_init": [1e-3, 1e-2]},
            cv=2,
        ),
    ]


@pytest.mark.parametrize("search", [0, 1], ids=["pipeline", "stack"])
def test_grid_search_gives_the_same_scores_with_n_jobs_1_and_2(data, search):
    """n_jobs=2 runs the fits in loky worker processes: the same scores."""
    X, y = data
    results = []
    for n_jobs in (1, 2):
        grid = _grid_searches()[search].set_params(n_jobs=n_jobs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            grid.fit(X, y)
        results.append(grid)
    local, parallel = results
    for key in ("mean_test_score", "std_test_score", "split0_test_score"):
        assert_array_equal(parallel.cv_results_[key], local.cv_results_[key])
    assert parallel.best_params_ == local.best_params_
