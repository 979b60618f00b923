"""Bad input to every public method of both estimators, then faults in training.

Part 1 is one table, ``CASES``: for each kind of input (NaN, empty, sparse,
pandas, 1e30, ...) the outcome of every public method, written in the row.
An outcome is either ``WORKS`` (finite outputs of the right shape and dtype,
finite weights after a fit, no warning but the one named) or ``Raises``
(a ``ValueError`` or ``TypeError`` whose message is matched, with the
estimator left exactly as it was). Every method runs on small data (20 x 6)
with tiny settings, so the ~700 cases take a few seconds.

Part 2, faults: divergence of the stacked classifier's fine-tuning,
divergence and interrupts in ``partial_fit``, ``warm_start`` of the stacked
classifier against one longer run, and a diverging candidate in a grid search.
"""

import copy
import re
import warnings
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV

from skl_sparse_ae import SparseAE, StackedSparseAEClassifier
from skl_sparse_ae._solvers import DivergenceError

pd = pytest.importorskip("pandas")

N_SAMPLES, N_FEATURES, N_COMPONENTS, N_HIDDEN = 20, 6, 3, 4
# in [0, 1]: the transformer's decoder="auto" picks "sigmoid" on clean data
X_CLEAN = np.random.RandomState(0).rand(N_SAMPLES, N_FEATURES)
# hidden codes, the input of inverse_transform
CODES_CLEAN = np.random.RandomState(1).rand(N_SAMPLES, N_COMPONENTS)
NAMES = [f"px{j}" for j in range(N_FEATURES)]

AE_PARAMS = dict(n_components=N_COMPONENTS, max_iter=3, random_state=0)
CL_PARAMS = dict(
    hidden_layer_sizes=(N_HIDDEN,),
    pretrain_max_iter=2,
    softmax_max_iter=5,
    fine_tune_max_iter=2,
    random_state=0,
)


def _labels(n_samples):
    return np.arange(n_samples) % 2


# -- outcomes ----------------------------------------------------------------


class Works(NamedTuple):
    """Finite outputs of the right shape and dtype; ``warns`` names the only
    warning allowed (a UserWarning whose message matches it)."""

    warns: str | None = None


class Raises(NamedTuple):
    """An error of this type whose message matches; the estimator unchanged."""

    error: type
    match: str


WORKS = Works()
NAMES_AT_PREDICT = Works(warns="X has feature names, but .* was fitted without")
NO_NAMES_AT_PREDICT = Works(warns="X does not have valid feature names")
WRONG_N_FEATURES = Raises(ValueError, r"X has \d+ features, but \w+ is expecting 6")
WRONG_N_CODES = Raises(
    ValueError, r"X has \d+ features \(hidden codes\).*n_components=3"
)
SIGMOID_DECODER = Raises(
    ValueError, r'decoder="sigmoid" reconstructs values in \[0, 1\]'
)
ONE_CLASS = Raises(ValueError, "at least 2 classes.*only one class")

# -- methods -----------------------------------------------------------------
# "fit": a new estimator fitted on the input; "again": partial_fit of the input
# on an estimator already fitted on clean data (a bad chunk in an out-of-core
# loop); "use": a method of a fitted estimator.

GROUPS = {
    "fit": [
        "ae.fit",
        "ae.partial_fit",
        "ae.fit_transform",
        "cl.fit",
        "cl.partial_fit",
        "cl.fit_transform",
    ],
    "again": ["ae.partial_fit again", "cl.partial_fit again"],
    "use": [
        "ae.transform",
        "ae.inverse_transform",
        "ae.score",
        "cl.predict",
        "cl.predict_proba",
        "cl.predict_log_proba",
        "cl.decision_function",
        "cl.transform",
        "cl.score",
        "cl.pretrained_score",
    ],
}
GROUP_OF = {method: group for group, methods in GROUPS.items() for method in methods}


# -- the table -----------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One kind of input and its outcome for every method.

    ``make`` turns a clean float64 array into the input: ``X_CLEAN`` (20 x 6)
    for every method but inverse_transform, ``CODES_CLEAN`` (20 x 3) for it.
    ``expected`` is the outcome of every method unless ``overrides`` names the
    method (``"cl.fit"``) or its group (``"fit"``, ``"again"``, ``"use"``).
    """

    name: str
    make: object
    expected: object = WORKS
    overrides: dict = field(default_factory=dict)
    dtype: type = np.float64  # of the outputs, when it works
    fitted_with_names: bool = False  # "again" and "use" models saw a DataFrame
    same_as_clean: bool = False  # outputs equal those on the clean input


def _with(value):
    def make(X):
        X = X.copy()
        X[0, 0] = value
        return X

    return make


def _strided_rows(X):
    view = np.repeat(X, 2, axis=0)[::2]
    assert not view.flags.c_contiguous and not view.flags.f_contiguous
    return view


def _strided_columns(X):
    return np.repeat(X, 2, axis=1)[:, ::2]


def _read_only(X):
    X = X.copy()
    X.flags.writeable = False
    return X


def _mixed_objects(X):
    X = X.astype(object)
    X[0, 0] = "a"
    return X


def _nullable_with_na(X):
    df = pd.DataFrame(X).astype("Float64")
    df.iloc[0, 0] = pd.NA
    return df


def _named(X):
    return pd.DataFrame(X, columns=[f"px{j}" for j in range(X.shape[1])])


def _renamed(X):
    return pd.DataFrame(X, columns=[f"other{j}" for j in range(X.shape[1])])


# inverse_transform takes dense hidden codes only, as PCA's does
SPARSE_CODES = {"ae.inverse_transform": Raises(TypeError, "Sparse data was passed")}
NAN = Raises(ValueError, "[Ii]nput (X )?contains NaN")

CASES = [
    # -- values that cannot be learned from
    Case("NaN", _with(np.nan), NAN),
    Case("inf", _with(np.inf), Raises(ValueError, "contains infinity")),
    Case("-inf", _with(-np.inf), Raises(ValueError, "contains infinity")),
    Case("CSR with NaN", lambda X: sp.csr_matrix(_with(np.nan)(X)), NAN, SPARSE_CODES),
    Case("pandas Float64 with NA", _nullable_with_na, NAN),
    # -- shapes
    Case("0 samples", lambda X: X[:0], Raises(ValueError, r"0 sample\(s\)")),
    Case("0 features", lambda X: X[:, :0], Raises(ValueError, r"0 feature\(s\)")),
    Case("1-d", lambda X: X[0], Raises(ValueError, "Expected 2D array")),
    Case("3-d", lambda X: X[None], Raises(ValueError, "dim 3")),
    Case(
        # a transformer learns from one sample; a classifier needs 2 classes,
        # unless partial_fit is told the classes
        "1 sample",
        lambda X: X[:1],
        WORKS,
        {"cl.fit": ONE_CLASS, "cl.fit_transform": ONE_CLASS},
    ),
    Case(
        # a model of 1 feature can be fitted, not used on 6-feature data
        "1 feature",
        lambda X: X[:, :1],
        WORKS,
        {
            "again": WRONG_N_FEATURES,
            "use": WRONG_N_FEATURES,
            "ae.inverse_transform": WRONG_N_CODES,
        },
    ),
    Case(
        "one feature too few",
        lambda X: X[:, :-1],
        WORKS,
        {
            "again": WRONG_N_FEATURES,
            "use": WRONG_N_FEATURES,
            "ae.inverse_transform": WRONG_N_CODES,
        },
    ),
    Case(
        "one feature too many",
        lambda X: np.hstack([X, X[:, :1]]),
        WORKS,
        {
            "again": WRONG_N_FEATURES,
            "use": WRONG_N_FEATURES,
            "ae.inverse_transform": WRONG_N_CODES,
        },
    ),
    # -- dtypes
    Case("float32", lambda X: X.astype(np.float32), dtype=np.float32),
    Case("float16 (converted to float64)", lambda X: X.astype(np.float16)),
    Case("int (0/1)", lambda X: (X > 0.5).astype(np.int64)),
    Case("bool", lambda X: X > 0.5),
    Case("complex", lambda X: X + 1j, Raises(ValueError, "Complex data not supported")),
    Case(
        "strings",
        lambda X: np.full(X.shape, "pixel"),
        Raises(ValueError, "could not convert string to float"),
    ),
    Case(
        # NumPy parses them, as for StandardScaler and MLPClassifier.fit
        "numeric strings",
        lambda X: X.astype(str),
        same_as_clean=True,
    ),
    Case("object, numbers", lambda X: X.astype(object), same_as_clean=True),
    Case(
        "object, numbers and a string",
        _mixed_objects,
        Raises(ValueError, "could not convert string to float"),
    ),
    Case("list of lists", lambda X: X.tolist(), same_as_clean=True),
    # -- memory layouts
    Case("Fortran order", np.asfortranarray, same_as_clean=True),
    Case("strided rows (a view)", _strided_rows, same_as_clean=True),
    Case("strided columns (a view)", _strided_columns, same_as_clean=True),
    Case("read-only", _read_only, same_as_clean=True),
    # -- sparse containers: dense results
    Case("CSR", sp.csr_matrix, WORKS, SPARSE_CODES, same_as_clean=True),
    Case("CSC", sp.csc_matrix, WORKS, SPARSE_CODES, same_as_clean=True),
    Case("COO", sp.coo_matrix, WORKS, SPARSE_CODES, same_as_clean=True),
    Case("csr_array", sp.csr_array, WORKS, SPARSE_CODES, same_as_clean=True),
    Case(
        "CSR float32",
        lambda X: sp.csr_matrix(X, dtype=np.float32),
        WORKS,
        SPARSE_CODES,
        dtype=np.float32,
    ),
    # -- pandas (inverse_transform does not check names: codes have none)
    Case("DataFrame, no names", pd.DataFrame, same_as_clean=True),
    Case(
        # names at fit are stored in feature_names_in_
        "DataFrame with names, fitted without",
        _named,
        WORKS,
        {
            "again": NAMES_AT_PREDICT,
            "use": NAMES_AT_PREDICT,
            "ae.inverse_transform": WORKS,
        },
        same_as_clean=True,
    ),
    Case(
        "array, fitted with names",
        lambda X: X,
        WORKS,
        {
            "again": NO_NAMES_AT_PREDICT,
            "use": NO_NAMES_AT_PREDICT,
            "ae.inverse_transform": WORKS,
        },
        fitted_with_names=True,
        same_as_clean=True,
    ),
    Case(
        "DataFrame with other names",
        _renamed,
        WORKS,
        {
            "again": Raises(ValueError, "feature names should match"),
            "use": Raises(ValueError, "feature names should match"),
            "ae.inverse_transform": WORKS,
        },
        fitted_with_names=True,
        same_as_clean=True,
    ),
    # -- extreme magnitudes
    Case(
        # decoder="auto" picks "linear"; a model fitted with the sigmoid
        # decoder refuses the chunk
        "1e30 (linear decoder)",
        lambda X: X * 1e30,
        WORKS,
        {"ae.partial_fit again": SIGMOID_DECODER},
    ),
    Case(
        # (1e30)^2 overflows float32: the fit stops with a clear error
        "1e30 in float32",
        lambda X: (X * 1e30).astype(np.float32),
        WORKS,
        {
            "fit": Raises(DivergenceError, "diverged.*(scale|learning_rate)"),
            "ae.partial_fit again": SIGMOID_DECODER,
        },
        dtype=np.float32,
    ),
    Case("1e-30", lambda X: X * 1e-30),
    Case(
        "1e-30 in float32", lambda X: (X * 1e-30).astype(np.float32), dtype=np.float32
    ),
]


def _outcome(case, method):
    for key in (method, GROUP_OF[method]):
        if key in case.overrides:
            return case.overrides[key]
    return case.expected


def _params():
    params = []
    for case in CASES:
        for method in GROUP_OF:
            params.append(pytest.param(case, method, id=f"{case.name}-{method}"))
    return params


# -- running one method ----------------------------------------------------------


def _fit_clean(with_names):
    X = pd.DataFrame(X_CLEAN, columns=NAMES) if with_names else X_CLEAN
    y = _labels(N_SAMPLES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return {
            "ae": SparseAE(**AE_PARAMS).fit(X),
            "ae.partial_fit": SparseAE(**AE_PARAMS, solver="adam").partial_fit(X),
            "cl": StackedSparseAEClassifier(**CL_PARAMS).fit(X, y),
            "cl.partial_fit": StackedSparseAEClassifier(**CL_PARAMS).partial_fit(
                X, y, classes=[0, 1]
            ),
        }


@pytest.fixture(scope="module")
def fitted():
    """Models fitted on the clean data: as an array and as a named DataFrame."""
    return {False: _fit_clean(False), True: _fit_clean(True)}


def _prepare(method, X, models):
    """The estimator ``method`` runs on, and the call of it on X."""
    kind, name = method.split(".")
    y = _labels(_n_rows(X))
    if name == "partial_fit again":
        est = copy.deepcopy(models[f"{kind}.partial_fit"])
        args = (X,) if kind == "ae" else (X, y)
        return est, lambda: est.partial_fit(*args)
    if name in ("fit", "partial_fit", "fit_transform"):
        if kind == "ae":
            solver = "adam" if name == "partial_fit" else "lbfgs"
            est = SparseAE(**AE_PARAMS, solver=solver)
            return est, lambda: getattr(est, name)(X)
        est = StackedSparseAEClassifier(**CL_PARAMS)
        kwargs = {"classes": [0, 1]} if name == "partial_fit" else {}
        return est, lambda: getattr(est, name)(X, y, **kwargs)
    est = copy.deepcopy(models[kind])
    if kind == "cl" and name in ("score", "pretrained_score"):
        return est, lambda: getattr(est, name)(X, y)
    return est, lambda: getattr(est, name)(X)


def _n_rows(X):
    return len(X) if isinstance(X, list) else X.shape[0]


def _state(est):
    """The fitted attributes, which a failed call must leave as they were."""
    return {key: copy.deepcopy(value) for key, value in vars(est).items()}


def _assert_same_state(before, est):
    after = vars(est)
    assert before.keys() == after.keys()
    for key, value in before.items():
        if isinstance(value, np.ndarray):
            assert_array_equal(after[key], value, err_msg=key)
        elif isinstance(value, list) and value and isinstance(value[0], np.ndarray):
            for a, b in zip(after[key], value):
                assert_array_equal(a, b, err_msg=key)


def _check_works(method, est, out, n_rows, dtype):
    kind, name = method.split(".")
    for array in est.coefs_ + est.intercepts_:
        assert np.all(np.isfinite(array)), f"{method} left non-finite weights"
        if GROUP_OF[method] != "use":  # a fit's weights take the data's dtype
            assert array.dtype == dtype
    n_out = {"ae": N_COMPONENTS, "cl": N_HIDDEN}[kind]
    if name in ("fit", "partial_fit", "partial_fit again"):
        assert out is est
        return
    if name in ("score", "pretrained_score"):
        assert isinstance(out, float) and np.isfinite(out)
        if kind == "cl":
            assert 0 <= out <= 1
        return
    assert isinstance(out, np.ndarray)
    if name == "predict":
        assert out.shape == (n_rows,)
        assert set(out) <= set(est.classes_)
        return
    shape = {
        "transform": (n_rows, n_out),
        "fit_transform": (n_rows, n_out),
        "inverse_transform": (n_rows, N_FEATURES),
        "predict_proba": (n_rows, 2),
        "predict_log_proba": (n_rows, 2),
        "decision_function": (n_rows,),
    }[name]
    assert out.shape == shape
    assert out.dtype == dtype
    assert np.all(np.isfinite(out))
    if name == "predict_proba":
        assert_allclose(out.sum(axis=1), 1, rtol=1e-5)


def _run_clean(case, method, models):
    """The method on the clean data, as the case's models were fitted."""
    clean = CODES_CLEAN if method == "ae.inverse_transform" else X_CLEAN
    if case.fitted_with_names and method != "ae.inverse_transform":
        clean = pd.DataFrame(clean, columns=NAMES)
    est, call = _prepare(method, clean, models)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est, call()


def _assert_same_results(est, out, clean_est, clean_out):
    if isinstance(out, float):
        assert out == pytest.approx(clean_out, rel=1e-12)
    elif isinstance(out, np.ndarray):
        assert_allclose(out, clean_out, rtol=1e-12, atol=1e-14)
    clean_params = clean_est.coefs_ + clean_est.intercepts_
    for a, b in zip(est.coefs_ + est.intercepts_, clean_params):
        assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("case, method", _params())
def test_bad_input(case, method, fitted):
    models = fitted[case.fitted_with_names]
    outcome = _outcome(case, method)
    X = case.make(CODES_CLEAN if method == "ae.inverse_transform" else X_CLEAN)
    est, call = _prepare(method, X, models)
    before = _state(est)

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter is tiny
        if isinstance(outcome, Raises):
            with pytest.raises(outcome.error, match=outcome.match):
                call()
        else:
            out = call()
    messages = [str(w.message) for w in record]

    if isinstance(outcome, Raises):
        assert messages == []
        _assert_same_state(before, est)  # a new estimator stays unfitted
        return
    warns = outcome.warns if isinstance(outcome, Works) else None
    if warns is None:
        assert messages == []
    else:
        assert messages and all(re.search(warns, m) for m in messages), messages
    if GROUP_OF[method] == "use":
        _assert_same_state(before, est)
    _check_works(method, est, out, _n_rows(X), case.dtype)
    if case.same_as_clean:
        _assert_same_results(est, out, *_run_clean(case, method, models))


def _accuracy_score_rejects_mixed_labels():
    """Whether this scikit-learn's accuracy_score rejects str against int labels.

    scikit-learn 1.6 compares them (numpy < 1.25 warns that the elementwise
    comparison failed) and returns a score; later releases raise a ValueError.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        try:
            accuracy_score(np.array(["a", "b"]), np.array([0, 1]))
        except ValueError:
            return True
    return False


@pytest.mark.parametrize("method", ["score", "pretrained_score"])
@pytest.mark.parametrize(
    "y, match",
    [
        (_labels(N_SAMPLES)[:5], "inconsistent numbers of samples"),
        (_labels(N_SAMPLES)[:1], "inconsistent numbers of samples"),
        pytest.param(
            np.array(["a"] * N_SAMPLES),
            "Mix of label input types",
            marks=pytest.mark.skipif(
                not _accuracy_score_rejects_mixed_labels(),
                reason="this scikit-learn's accuracy_score accepts mixed labels",
            ),
        ),
    ],
)
def test_scores_check_y(fitted, method, y, match):
    """y of the wrong length is an error, not a broadcast comparison."""
    with pytest.raises(ValueError, match=match):
        getattr(fitted[False]["cl"], method)(X_CLEAN, y)


# ==============================================================================
# Part 2: faults during training (interrupts in fit: test_autoencoder.py and
# test_stacked.py; divergence of the transformer's fit: test_autoencoder.py)

X_FAULT = np.random.RandomState(2).rand(40, 6)
Y_FAULT = np.arange(40) % 3
DIVERGING_SGD = dict(
    CL_PARAMS,
    fine_tune_solver="sgd",
    fine_tune_max_iter=30,
    fine_tune_batch_size=8,
    n_iter_no_change=100,
)
HUGE_STEP = 1e30


def _fit_quietly(estimator, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(*args, **kwargs)


def _fitted_attributes(estimator):
    return sorted(key for key in vars(estimator) if key.endswith("_"))


def test_stacked_fine_tuning_divergence_raises_and_leaves_it_unfitted():
    clf = StackedSparseAEClassifier(
        **DIVERGING_SGD, fine_tune_learning_rate_init=HUGE_STEP
    )
    with (
        pytest.raises(DivergenceError, match="diverged.*Lower learning_rate_init"),
        np.errstate(all="ignore"),
    ):
        _fit_quietly(clf, X_FAULT, Y_FAULT)
    assert _fitted_attributes(clf) == []
    assert not hasattr(clf, "_solver_state")
    # the same settings with a sane step size fit a usable model
    clf.set_params(fine_tune_learning_rate_init=1e-2)
    _fit_quietly(clf, X_FAULT, Y_FAULT)
    assert all(np.all(np.isfinite(c)) for c in clf.coefs_)


def test_stacked_warm_start_divergence_keeps_the_previous_model():
    clf = _fit_quietly(
        StackedSparseAEClassifier(**DIVERGING_SGD, warm_start=True),
        X_FAULT,
        Y_FAULT,
    )
    before = _state(clf)
    proba = clf.predict_proba(X_FAULT)
    velocity = clf._solver_state.optimizer.velocity.copy()
    clf.set_params(fine_tune_learning_rate_init=HUGE_STEP)
    with pytest.raises(DivergenceError, match="diverged"), np.errstate(all="ignore"):
        _fit_quietly(clf, X_FAULT, Y_FAULT)
    _assert_same_state(before, clf)
    assert clf.loss_curve_ == before["loss_curve_"]
    assert_array_equal(clf._solver_state.optimizer.velocity, velocity)
    assert_array_equal(clf.predict_proba(X_FAULT), proba)
    # and it goes on from there once the step size is sane again
    clf.set_params(fine_tune_learning_rate_init=1e-3)
    _fit_quietly(clf, X_FAULT, Y_FAULT)
    assert clf.n_iter_ == 2 * DIVERGING_SGD["fine_tune_max_iter"]


def _diverging_partial_fits(kind):
    if kind == "ae":
        est = SparseAE(
            n_components=3, solver="sgd", decoder="linear", batch_size=4, random_state=0
        )
        est.partial_fit(X_FAULT)
        est.set_params(learning_rate_init=HUGE_STEP)
        return est, lambda: est.partial_fit(X_FAULT)
    est = StackedSparseAEClassifier(**DIVERGING_SGD)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.partial_fit(X_FAULT, Y_FAULT, classes=[0, 1, 2])
    est.set_params(fine_tune_learning_rate_init=HUGE_STEP)
    return est, lambda: est.partial_fit(X_FAULT, Y_FAULT)


@pytest.mark.parametrize("kind", ["ae", "cl"])
def test_partial_fit_divergence_keeps_the_last_good_weights(kind):
    """In an out-of-core loop, a chunk that diverges does not spoil the model."""
    est, partial_fit = _diverging_partial_fits(kind)
    with pytest.raises(DivergenceError, match="diverged"), np.errstate(all="ignore"):
        for _ in range(50):
            before = _state(est)
            partial_fit()
    _assert_same_state(before, est)
    assert all(np.all(np.isfinite(a)) for a in est.coefs_ + est.intercepts_)


def _interrupt_objective(interrupt_on_call, on_call):
    import skl_sparse_ae._autoencoder as module

    interrupt_on_call(module, "sparse_autoencoder_loss_grad", on_call)


def _interrupted_partial_fit(monkeypatch, interrupt_on_call):
    ae = SparseAE(n_components=3, solver="adam", batch_size=5, random_state=0)
    ae.partial_fit(X_CLEAN)
    weights = ae.coefs_[0].copy()
    _interrupt_objective(interrupt_on_call, on_call=2)  # the 2nd batch of 4
    with pytest.warns(UserWarning, match="interrupted"):
        ae.partial_fit(X_CLEAN)
    monkeypatch.undo()
    return ae, weights


def test_interrupted_partial_fit_keeps_the_steps_so_far(monkeypatch, interrupt_on_call):
    ae, weights = _interrupted_partial_fit(monkeypatch, interrupt_on_call)
    # one minibatch step was taken before the interrupt, and kept
    assert not np.array_equal(ae.coefs_[0], weights)
    assert all(np.all(np.isfinite(a)) for a in ae.coefs_ + ae.intercepts_)
    # the interrupted epoch counts, with the mean loss of its finished batch
    assert ae.n_iter_ == 2 and len(ae.loss_curve_) == 2
    assert ae.transform(X_CLEAN).shape == (N_SAMPLES, N_COMPONENTS)
    ae.partial_fit(X_CLEAN)  # the next chunk continues normally
    assert ae.n_iter_ == 3 and np.isfinite(ae.loss_)


def test_interrupted_partial_fit_keeps_a_finite_loss(monkeypatch, interrupt_on_call):
    ae, _ = _interrupted_partial_fit(monkeypatch, interrupt_on_call)
    assert np.isfinite(ae.loss_)


def test_interrupt_in_the_first_partial_fit_of_a_stack_leaves_it_unfitted(
    monkeypatch, interrupt_on_call
):
    """The first partial_fit pretrains: an interrupt there abandons the call."""
    _interrupt_objective(interrupt_on_call, on_call=2)
    clf = StackedSparseAEClassifier(**{**CL_PARAMS, "pretrain_batch_size": 5})
    with pytest.raises(KeyboardInterrupt), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        clf.partial_fit(X_CLEAN, _labels(N_SAMPLES), classes=[0, 1])
    assert _fitted_attributes(clf) == []
    monkeypatch.undo()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.partial_fit(X_CLEAN, _labels(N_SAMPLES), classes=[0, 1])
    assert clf.n_iter_ == 1


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_stacked_warm_start_equals_one_longer_fine_tuning(solver, dtype):
    """Two warm fits of k epochs are one fit of 2k epochs, bit for bit."""
    X = X_FAULT.astype(dtype)
    params = dict(CL_PARAMS, fine_tune_solver=solver, fine_tune_batch_size=8, tol=0.0)
    once = _fit_quietly(
        StackedSparseAEClassifier(**{**params, "fine_tune_max_iter": 6}), X, Y_FAULT
    )
    twice = StackedSparseAEClassifier(
        **{**params, "fine_tune_max_iter": 3}, warm_start=True
    )
    _fit_quietly(twice, X, Y_FAULT)
    _fit_quietly(twice, X, Y_FAULT)
    assert twice.n_iter_ == once.n_iter_ == 6
    assert twice.loss_curve_ == once.loss_curve_
    for a, b in zip(twice.coefs_ + twice.intercepts_, once.coefs_ + once.intercepts_):
        assert a.dtype == dtype
        assert_array_equal(a, b)
    assert_array_equal(twice.predict_proba(X), once.predict_proba(X))


def test_a_diverging_candidate_does_not_stop_a_grid_search():
    """DivergenceError is a ValueError: GridSearchCV scores it error_score."""
    assert issubclass(DivergenceError, ValueError)
    grid = GridSearchCV(
        SparseAE(
            n_components=3,
            solver="sgd",
            decoder="linear",
            batch_size=4,
            max_iter=3,
            random_state=0,
        ),
        {"learning_rate_init": [1e-3, HUGE_STEP]},
        cv=2,
        error_score=np.nan,
    )
    with warnings.catch_warnings(record=True) as record, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", ConvergenceWarning)
        grid.fit(X_FAULT)
    failed = [w for w in record if issubclass(w.category, FitFailedWarning)]
    assert failed and "DivergenceError" in str(failed[0].message)
    scores = grid.cv_results_["mean_test_score"]
    assert np.isfinite(scores[0]) and np.isnan(scores[1])
    assert grid.best_params_ == {"learning_rate_init": 1e-3}
