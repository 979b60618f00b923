"""SparseAutoencoderTransformer: behaviour, inputs, errors, persistence."""

import io
import pickle
import re
import tracemalloc
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils._param_validation import InvalidParameterError

from skl_sparse_ae import SparseAE, SparseAutoencoderTransformer
from skl_sparse_ae._solvers import DivergenceError, minimize_lbfgs

SOLVERS = ["lbfgs", "adam", "sgd"]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return MinMaxScaler().fit_transform(X), y


@pytest.fixture
def small_unit():
    return np.random.RandomState(0).rand(60, 10)


def _fit_quietly(estimator, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X)


def test_alias_is_the_same_class():
    assert SparseAE is SparseAutoencoderTransformer


def test_init_only_stores_parameters():
    ae = SparseAE(n_components=3, sparsity_target=2.0)  # invalid, but not checked yet
    assert ae.get_params()["sparsity_target"] == 2.0
    with pytest.raises(InvalidParameterError, match="sparsity_target"):
        ae.fit(np.random.RandomState(0).rand(5, 4))


def test_loss_is_equation_5_at_the_returned_weights(digits):
    """With lbfgs, ``loss_`` is J of eq. (5) on the training data, recomputed here."""
    X = digits[0][:300]
    alpha, rho, beta = 3e-3, 0.1, 3.0
    ae = _fit_quietly(
        SparseAE(
            n_components=20,
            alpha=alpha,
            sparsity_target=rho,
            sparsity_weight=beta,
            max_iter=30,
            random_state=0,
        ),
        X,
    )
    (W1, W2), (b1, b2) = ae.coefs_, ae.intercepts_
    a2 = expit(X @ W1 + b1)
    h = expit(a2 @ W2 + b2)
    rho_hat = a2.mean(axis=0)
    J = (
        np.mean(0.5 * np.sum((h - X) ** 2, axis=1))
        + alpha / 2 * (np.sum(W1**2) + np.sum(W2**2))
        + beta
        * np.sum(
            rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))
        )
    )
    assert ae.loss_ == pytest.approx(J, rel=1e-10)
    assert ae.loss_curve_[-1] == pytest.approx(ae.loss_, rel=1e-10)
    assert_allclose(ae.mean_activation_, rho_hat)
    assert ae.n_iter_ == len(ae.loss_curve_)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lbfgs_loss_curve_is_the_loss_at_each_iterate(dtype):
    """The loss curve holds the objective at each L-BFGS iterate, on every scipy."""
    A = np.diag(np.arange(1.0, 21.0)).astype(dtype)
    evaluated = {}

    def quadratic(theta, grad, workspace):
        assert theta.dtype == dtype
        grad[:] = A @ theta - 1
        loss = float(0.5 * theta @ A @ theta - theta.sum())
        evaluated[theta.tobytes()] = loss
        return loss, grad

    result = minimize_lbfgs(
        quadratic, np.zeros(20, dtype=dtype), max_iter=100, tol=1e-6
    )
    theta, loss, n_iter, curve = (
        result.theta,
        result.loss,
        result.n_iter,
        result.loss_curve,
    )
    assert n_iter == len(curve) > 1
    assert set(curve) <= set(evaluated.values())
    assert all(b <= a for a, b in zip(curve, curve[1:]))
    assert curve[-1] == loss == evaluated[theta.tobytes()]
    assert_allclose(theta, 1 / np.arange(1.0, 21.0), rtol=1e-3)


def test_loss_decreases_and_sparsity_is_enforced(digits):
    X = digits[0]
    sparse = _fit_quietly(SparseAE(n_components=30, max_iter=100, random_state=0), X)
    dense = _fit_quietly(
        SparseAE(n_components=30, sparsity_weight=0, max_iter=100, random_state=0), X
    )
    assert sparse.loss_curve_[-1] < sparse.loss_curve_[0]
    # rho = 0.05 is met on average with the penalty, not without it
    assert abs(sparse.mean_activation_.mean() - 0.05) < 0.01
    assert dense.mean_activation_.mean() > 0.1


@pytest.mark.parametrize("decoder", ["sigmoid", "linear"])
def test_transform_and_inverse_transform_are_the_formulas(small_unit, decoder):
    X = small_unit
    ae = _fit_quietly(
        SparseAE(n_components=4, decoder=decoder, max_iter=20, random_state=0), X
    )
    (W1, W2), (b1, b2) = ae.coefs_, ae.intercepts_
    codes = ae.transform(X)
    assert_allclose(codes, expit(X @ W1 + b1), rtol=1e-12)
    z3 = codes @ W2 + b2
    expected = expit(z3) if decoder == "sigmoid" else z3
    assert_allclose(ae.inverse_transform(codes), expected, rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert_allclose(ae.fit_transform(X), codes)  # same random_state, same fit
    recon = ae.inverse_transform(codes)
    assert ae.score(X) == pytest.approx(
        -np.mean(0.5 * np.sum((recon - X) ** 2, axis=1))
    )


@pytest.mark.parametrize("container", ["dense", "csr"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("decoder", ["sigmoid", "linear"])
def test_score_samples_is_minus_each_reconstruction_error(
    small_unit, container, dtype, decoder
):
    X = small_unit.astype(dtype)
    X[X < 0.5] = 0  # half zeros: a sparse matrix with implicit entries
    ae = SparseAE(n_components=4, decoder=decoder, max_iter=20, random_state=0)
    with pytest.warns(ConvergenceWarning):
        ae.fit(X)
    # the formula, in float64 from the fitted weights
    (W1, W2), (b1, b2) = ae.coefs_, ae.intercepts_
    X64 = X.astype(np.float64)
    hidden = expit(X64 @ W1 + b1)
    z3 = hidden @ W2 + b2
    recon = expit(z3) if decoder == "sigmoid" else z3
    expected = -0.5 * np.sum((recon - X64) ** 2, axis=1)

    X_in = sp.csr_matrix(X) if container == "csr" else X
    scores = ae.score_samples(X_in)
    assert scores.shape == (X.shape[0],)
    assert scores.dtype == np.float64
    assert np.all(scores <= 0)
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    assert_allclose(scores, expected, rtol=rtol)
    # score is their mean, also for sparse input
    assert ae.score(X_in) == pytest.approx(np.mean(scores), rel=1e-12)


def test_score_samples_ranks_an_unseen_digit_as_outliers(digits):
    from sklearn.metrics import roc_auc_score

    X, y = digits
    ae = SparseAE(n_components=16, tol=1e-3, max_iter=500, random_state=0)
    ae.fit(X[y != 0])  # converges: no warning
    scores = ae.score_samples(X)
    # higher is more normal: the digits seen in training score above the 0s
    assert roc_auc_score(y != 0, scores) > 0.9


def test_score_samples_works_in_chunks(digits):
    from skl_sparse_ae._objective import sample_reconstruction_errors

    X = digits[0][:100]
    ae = SparseAE(n_components=8, max_iter=10, random_state=0)
    with pytest.warns(ConvergenceWarning):
        ae.fit(X)
    args = (X, ae.coefs_, ae.intercepts_, ae.decoder_)
    assert_allclose(
        sample_reconstruction_errors(*args, chunk_size=7),
        sample_reconstruction_errors(*args),
        rtol=1e-12,
    )


def test_decoder_auto(small_unit):
    ae = _fit_quietly(SparseAE(n_components=3, max_iter=5), small_unit)
    assert ae.decoder_ == "sigmoid"
    ae = _fit_quietly(SparseAE(n_components=3, max_iter=5), small_unit - 0.5)
    assert ae.decoder_ == "linear"
    assert ae.inverse_transform(ae.transform(small_unit - 0.5)).min() < 0


@pytest.mark.parametrize("solver", SOLVERS)
def test_float32_is_kept_end_to_end(digits, solver):
    X32 = digits[0].astype(np.float32)
    ae = _fit_quietly(
        SparseAE(n_components=10, solver=solver, max_iter=5, random_state=0), X32
    )
    for array in ae.coefs_ + ae.intercepts_:
        assert array.dtype == np.float32
    assert ae.mean_activation_.dtype == np.float32
    codes = ae.transform(X32)
    assert codes.dtype == np.float32
    assert ae.inverse_transform(codes).dtype == np.float32
    ae64 = _fit_quietly(
        SparseAE(n_components=10, solver=solver, max_iter=5, random_state=0),
        digits[0],
    )
    assert ae64.coefs_[0].dtype == np.float64
    assert_allclose(codes, ae64.transform(digits[0]), atol=1e-2)


def test_float32_fit_makes_no_float64_copy_of_X():
    X = np.random.RandomState(0).rand(4000, 200).astype(np.float32)
    ae = SparseAE(n_components=8, solver="adam", max_iter=1, batch_size=100)
    tracemalloc.start()
    try:
        _fit_quietly(ae, X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # a float64 copy of X alone would be 2 * X.nbytes
    assert peak < X.nbytes


def test_integers_are_converted():
    X = np.random.RandomState(0).randint(0, 2, size=(30, 5))
    ae = _fit_quietly(SparseAE(n_components=3, max_iter=5), X)
    assert ae.transform(X).dtype == np.float64


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_sparse_input_gives_the_dense_result(digits, solver, fmt):
    X = digits[0][:200]
    X_sparse = sp.csr_matrix(X).asformat(fmt)
    params = dict(n_components=8, solver=solver, max_iter=5, random_state=0)
    dense = _fit_quietly(SparseAE(**params), X)
    sparse = _fit_quietly(SparseAE(**params), X_sparse)
    assert_allclose(sparse.coefs_[0], dense.coefs_[0], rtol=1e-6, atol=1e-9)
    assert_allclose(
        sparse.transform(X_sparse), dense.transform(X), rtol=1e-6, atol=1e-9
    )
    assert sparse.score(X_sparse) == pytest.approx(dense.score(X), rel=1e-8)


@pytest.mark.parametrize("solver", SOLVERS)
def test_same_random_state_same_result(digits, solver):
    X = digits[0][:300]
    params = dict(n_components=8, solver=solver, max_iter=5, random_state=42)
    a = _fit_quietly(SparseAE(**params), X)
    b = _fit_quietly(SparseAE(**params), X)
    for wa, wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert_array_equal(wa, wb)
    c = _fit_quietly(SparseAE(**{**params, "random_state": 7}), X)
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pickle_and_joblib_round_trips(digits, dtype):
    X = digits[0][:200].astype(dtype)
    ae = _fit_quietly(SparseAE(n_components=6, max_iter=10, random_state=0), X)
    expected = ae.transform(X)
    restored = [pickle.loads(pickle.dumps(ae))]
    buffer = io.BytesIO()
    joblib.dump(ae, buffer)
    buffer.seek(0)
    restored.append(joblib.load(buffer))
    for clone_ in restored:
        out = clone_.transform(X)
        assert out.dtype == dtype
        assert_array_equal(out, expected)
        assert_array_equal(clone_.inverse_transform(out), ae.inverse_transform(out))


def test_pipeline_grid_search_on_digits():
    """The design's use: SparseAE features under a linear classifier, grid-searched."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    pipe = Pipeline(
        [
            ("scale", MinMaxScaler()),
            ("ae", SparseAE(n_components=64, max_iter=50, random_state=0)),
            ("clf", LogisticRegression(max_iter=2000)),
        ]
    )
    grid = GridSearchCV(
        pipe,
        {"ae__sparsity_target": [0.05, 0.2], "ae__sparsity_weight": [0.5, 3.0]},
        cv=2,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        grid.fit(X_train, y_train)
    assert grid.score(X_test, y_test) >= 0.95
    assert set(grid.best_params_) == {"ae__sparsity_target", "ae__sparsity_weight"}


def test_clone_and_feature_names_out(small_unit):
    ae = _fit_quietly(SparseAE(n_components=3, max_iter=5), small_unit)
    assert clone(ae).get_params() == ae.get_params()
    assert list(ae.get_feature_names_out()) == [
        "sparseautoencodertransformer0",
        "sparseautoencodertransformer1",
        "sparseautoencodertransformer2",
    ]


def test_set_output_pandas(small_unit):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(small_unit, columns=[f"px{i}" for i in range(10)])
    ae = SparseAE(n_components=3, max_iter=5).set_output(transform="pandas")
    out = _fit_quietly(ae, df).transform(df)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(ae.get_feature_names_out())
    assert_array_equal(ae.feature_names_in_, df.columns)


def test_score_is_usable_for_model_selection(digits):
    X = digits[0][:400]
    grid = GridSearchCV(
        SparseAE(max_iter=30, random_state=0), {"n_components": [2, 40]}, cv=2
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        grid.fit(X)
    assert grid.best_params_ == {"n_components": 40}


# -- solvers ---------------------------------------------------------------


@pytest.mark.parametrize("solver", SOLVERS)
def test_convergence_warning_when_max_iter_stops(digits, solver):
    with pytest.warns(ConvergenceWarning):
        SparseAE(n_components=10, solver=solver, max_iter=2, random_state=0).fit(
            digits[0]
        )


@pytest.mark.parametrize("solver", SOLVERS)
def test_verbose_prints_one_line_per_iteration(small_unit, solver, capsys):
    _fit_quietly(
        SparseAE(n_components=3, solver=solver, max_iter=4, verbose=1), small_unit
    )
    lines = [
        ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("Iteration")
    ]
    assert len(lines) == 4
    assert re.fullmatch(r"Iteration 1, loss = [0-9.]+, [0-9.]+ s", lines[0])
    _fit_quietly(SparseAE(n_components=3, solver=solver, max_iter=4), small_unit)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_minibatch_stops_on_n_iter_no_change(digits, solver):
    ae = SparseAE(
        n_components=10,
        solver=solver,
        tol=10.0,
        n_iter_no_change=2,
        max_iter=50,
        random_state=0,
    ).fit(digits[0])
    # as MLPClassifier: epoch 1 sets the best loss, then stop once the count of
    # epochs without improvement exceeds n_iter_no_change (epochs 2, 3, 4)
    assert ae.n_iter_ == 4
    assert ae.best_loss_ == min(ae.loss_curve_)


def test_early_stopping_keeps_the_best_weights(digits):
    ae = _fit_quietly(
        SparseAE(
            n_components=10,
            solver="adam",
            early_stopping=True,
            validation_fraction=0.2,
            max_iter=8,
            random_state=0,
        ),
        digits[0],
    )
    assert len(ae.validation_scores_) == ae.n_iter_
    assert ae.best_validation_score_ == max(ae.validation_scores_)
    # the returned weights are the best epoch's: the held-out 20% scores as recorded
    _, X_val = train_test_split(
        digits[0], test_size=0.2, random_state=np.random.RandomState(0)
    )
    assert ae.score(X_val) == pytest.approx(ae.best_validation_score_, rel=1e-10)


def test_partial_fit_only_for_minibatch_solvers(small_unit):
    assert not hasattr(SparseAE(solver="lbfgs"), "partial_fit")
    ae = SparseAE(n_components=3, solver="adam", random_state=0)
    for _ in range(3):
        ae.partial_fit(small_unit)
    assert ae.n_iter_ == 3 and len(ae.loss_curve_) == 3
    with pytest.raises(ValueError, match="features"):
        ae.partial_fit(small_unit[:, :5])


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_warm_start_continues_exactly(digits, solver):
    """Two warm-started fits of 3 epochs equal one fit of 6 epochs."""
    X = digits[0][:300]
    params = dict(n_components=6, solver=solver, random_state=0, tol=0.0)
    once = _fit_quietly(SparseAE(max_iter=6, **params), X)
    twice = SparseAE(max_iter=3, warm_start=True, **params)
    _fit_quietly(twice, X)
    _fit_quietly(twice, X)
    assert twice.n_iter_ == 6
    assert_allclose(twice.coefs_[0], once.coefs_[0], rtol=1e-12)
    assert_allclose(twice.loss_curve_, once.loss_curve_, rtol=1e-12)


def test_warm_start_lbfgs_starts_from_previous_solution(digits):
    X = digits[0][:300]
    ae = _fit_quietly(
        SparseAE(n_components=6, max_iter=10, warm_start=True, random_state=0), X
    )
    first = ae.loss_
    _fit_quietly(ae, X)
    assert ae.loss_ < first
    assert ae.loss_curve_[0] < first + 1e-12


# -- bad input -------------------------------------------------------------


@pytest.mark.parametrize(
    "X, message",
    [
        (np.array([[0.1, np.nan], [0.2, 0.3]]), "NaN"),
        (np.array([[0.1, np.inf], [0.2, 0.3]]), "infinity"),
        (np.empty((0, 3)), "0 sample"),
        (np.empty((3, 0)), "0 feature"),
        (np.array([0.1, 0.2, 0.3]), "Expected 2D array"),
        (np.array([[1 + 1j, 0.2], [0.3, 0.4]]), "Complex data not supported"),
        (np.array([["a", "b"], ["c", "d"]]), "could not convert|dtype"),
    ],
)
def test_bad_input_gets_a_clear_error(X, message):
    with pytest.raises(ValueError, match=message):
        SparseAE(n_components=2).fit(X)


def test_wrong_n_features_at_transform(small_unit):
    ae = _fit_quietly(SparseAE(n_components=3, max_iter=5), small_unit)
    for method in (ae.transform, ae.score, ae.score_samples):
        with pytest.raises(ValueError, match="features"):
            method(small_unit[:, :4])
    with pytest.raises(ValueError, match="n_components=3"):
        ae.inverse_transform(np.zeros((2, 4)))


def test_not_fitted():
    for method in ("transform", "inverse_transform", "score", "score_samples"):
        with pytest.raises(NotFittedError):
            getattr(SparseAE(), method)(np.zeros((2, 2)))


def test_sigmoid_decoder_refuses_data_outside_unit_interval(small_unit):
    with pytest.raises(ValueError, match=r'MinMaxScaler.*decoder="linear"'):
        SparseAE(decoder="sigmoid").fit(small_unit * 2)
    with pytest.raises(ValueError, match="MinMaxScaler"):
        SparseAE(decoder="sigmoid").fit(sp.csr_matrix(-small_unit))


@pytest.mark.parametrize(
    "params",
    [
        {"n_components": 0},
        {"sparsity_target": 0.0},
        {"sparsity_target": 1.0},
        {"sparsity_weight": -1},
        {"alpha": -0.1},
        {"decoder": "relu"},
        {"solver": "newton"},
        {"batch_size": 0},
        {"learning_rate_init": 0},
        {"max_iter": 0},
        {"validation_fraction": 1.0},
        {"momentum": 1.5},
    ],
)
def test_parameters_out_of_range(small_unit, params):
    with pytest.raises(InvalidParameterError, match=next(iter(params))):
        SparseAE(**params).fit(small_unit)


def test_failed_fit_leaves_the_estimator_unchanged(small_unit):
    ae = SparseAE(n_components=3, max_iter=5, random_state=0)
    with pytest.raises(ValueError):
        ae.fit(np.full((5, 10), np.nan))
    assert not hasattr(ae, "coefs_")
    _fit_quietly(ae, small_unit)
    before = [w.copy() for w in ae.coefs_]
    ae.set_params(warm_start=True, decoder="sigmoid")
    with pytest.raises(ValueError, match="MinMaxScaler"):
        ae.fit(small_unit * 3)
    for b, w in zip(before, ae.coefs_):
        assert_array_equal(b, w)
    assert ae.n_features_in_ == 10


def test_divergence_raises_instead_of_returning_nan(small_unit):
    ae = SparseAE(
        n_components=3,
        solver="sgd",
        learning_rate_init=1e6,
        decoder="linear",
        n_iter_no_change=200,
        random_state=0,
    )
    with pytest.raises(DivergenceError, match="diverged"), np.errstate(all="ignore"):
        ae.fit(small_unit.astype(np.float32) * 1e3)
    assert not hasattr(ae, "coefs_")


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize(
    "params, scale",
    [
        ({"sparsity_weight": 50.0, "sparsity_target": 0.01}, 1.0),
        ({"decoder": "linear"}, 1e6),
    ],
)
def test_extreme_but_legal_settings(small_unit, solver, params, scale):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        ae = _fit_quietly(
            SparseAE(
                n_components=5, solver=solver, max_iter=20, random_state=0, **params
            ),
            small_unit * scale,
        )
        codes = ae.transform(small_unit * scale)
    for array in ae.coefs_ + ae.intercepts_ + [codes]:
        assert np.all(np.isfinite(array))
    assert np.isfinite(ae.loss_)


def test_failed_refit_keeps_the_previous_model_whole(small_unit):
    """A refit that fails after validation restored n_features_in_ too."""
    ae = _fit_quietly(
        SparseAE(n_components=3, max_iter=5, decoder="sigmoid"), small_unit
    )
    before = ae.coefs_[0].copy()
    with pytest.raises(ValueError, match="MinMaxScaler"):
        ae.fit(small_unit[:, :4] * 5)  # 4 features, outside [0, 1]
    assert ae.n_features_in_ == 10
    assert_array_equal(ae.coefs_[0], before)
    assert ae.transform(small_unit).shape == (60, 3)


def test_keyboard_interrupt_keeps_the_weights_so_far(small_unit, interrupt_on_call):
    """As MLPClassifier: Ctrl-C stops the minibatch solver with a warning."""
    import skl_sparse_ae._autoencoder as module

    interrupt_on_call(module, "sparse_autoencoder_loss_grad", 5)
    ae = SparseAE(n_components=3, solver="adam", batch_size=20, max_iter=50)
    with pytest.warns(UserWarning, match="interrupted"):
        ae.fit(small_unit)
    # one whole epoch of 3 batches, then 1 batch of the next: it counts too
    assert ae.n_iter_ == 2 and len(ae.loss_curve_) == 2
    assert np.isfinite(ae.loss_)
    assert np.all(np.isfinite(ae.coefs_[0]))
    assert ae.transform(small_unit).shape == (60, 3)
