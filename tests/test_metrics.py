"""skl_sparse_ae.metrics: each metric against its numpy formula, the scorers."""

import math
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import metrics as sk_metrics
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skl_sparse_ae import SparseAE, StackedSparseAEClassifier, TopKSAE
from skl_sparse_ae import metrics as M

DTYPES = [np.float64, np.float32]
CONTAINERS = {"dense": np.asarray, "csr": sp.csr_matrix}

# TopK fits that stop on tol well before max_iter (no ConvergenceWarning)
CONVERGING = dict(tol=1e-2, n_iter_no_change=3, random_state=0)


@pytest.fixture(scope="module")
def digits():
    return load_digits().data[:300] / 16


@pytest.fixture(scope="module")
def topk(digits):
    return TopKSAE(n_components=32, k=4, **CONVERGING).fit(digits)


def _pair(dtype, seed=0, n=40, d=7):
    """Un-centred data with zeros (so CSR differs from dense) and a reconstruction."""
    rng = np.random.RandomState(seed)
    X = rng.rand(n, d) + 3.0
    X[rng.rand(n, d) < 0.3] = 0.0
    X_hat = X + 0.5 * rng.standard_normal((n, d))
    return X.astype(dtype), X_hat.astype(dtype)


def _codes(seed=0, n=50, h=9):
    rng = np.random.RandomState(seed)
    codes = rng.standard_normal((n, h))
    codes[rng.rand(n, h) < 0.6] = 0.0
    codes[:, 3] = 0.0  # a dead latent
    return codes


# ---------------------------------------------------------------------------
# Reconstruction metrics against their numpy formulas


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("container", CONTAINERS.values(), ids=CONTAINERS.keys())
def test_reconstruction_metrics_match_numpy(dtype, container):
    X, X_hat = _pair(dtype)
    x, x_hat = X.astype(np.float64), X_hat.astype(np.float64)  # the oracle's data
    errors = ((x - x_hat) ** 2).sum(axis=1)
    deviation = ((x - x.mean(axis=0)) ** 2).sum()
    fvu = errors.sum() / deviation
    cosines = (x * x_hat).sum(axis=1) / (
        np.linalg.norm(x, axis=1) * np.linalg.norm(x_hat, axis=1)
    )
    Xc = container(X)
    for X_hat_in in (X_hat, container(X_hat)):
        assert_allclose(M.squared_error_per_row(Xc, X_hat_in), errors, rtol=1e-12)
        assert_allclose(
            M.mean_squared_error(Xc, X_hat_in), np.mean((x - x_hat) ** 2), rtol=1e-12
        )
        assert_allclose(M.fraction_of_variance_unexplained(Xc, X_hat_in), fvu, 1e-12)
        assert_allclose(M.explained_variance(Xc, X_hat_in), 1 - fvu, rtol=1e-12)
        assert_allclose(
            M.explained_variance(Xc, X_hat_in, definition="about_zero"),
            1 - errors.sum() / (x**2).sum(),
            rtol=1e-12,
        )
        assert_allclose(
            M.explained_variance(Xc, X_hat_in, definition="mean_of_rows"),
            np.mean(1 - errors / ((x - x.mean(axis=0)) ** 2).sum(axis=1)),
            rtol=1e-12,
        )
        assert_allclose(M.cosine_similarity_per_row(Xc, X_hat_in), cosines, 1e-12)
        assert_allclose(M.cosine_similarity(Xc, X_hat_in), cosines.mean(), 1e-12)


def test_reconstruction_metrics_match_scikit_learn():
    X, X_hat = _pair(np.float64)
    assert_allclose(
        M.mean_squared_error(X, X_hat), sk_metrics.mean_squared_error(X, X_hat)
    )
    r2 = sk_metrics.r2_score(X, X_hat, multioutput="variance_weighted")
    assert_allclose(M.explained_variance(X, X_hat), r2)
    assert_allclose(M.fraction_of_variance_unexplained(X, X_hat), 1 - r2)


def test_results_are_python_floats_in_float64():
    X, X_hat = _pair(np.float32)
    for metric in (
        M.mean_squared_error,
        M.fraction_of_variance_unexplained,
        M.explained_variance,
        M.cosine_similarity,
    ):
        assert type(metric(X, X_hat)) is float
    assert M.squared_error_per_row(X, X_hat).dtype == np.float64
    assert M.cosine_similarity_per_row(X, X_hat).dtype == np.float64


def test_metrics_work_across_chunks(monkeypatch):
    X, X_hat = _pair(np.float64, n=50)
    expected = [
        M.fraction_of_variance_unexplained(X, X_hat),
        M.cosine_similarity(X, X_hat),
        M.explained_variance(X, X_hat, definition="mean_of_rows"),
    ]
    monkeypatch.setattr(M, "_CHUNK_SIZE", 7)
    got = [
        M.fraction_of_variance_unexplained(sp.csr_matrix(X), X_hat),
        M.cosine_similarity(X, X_hat),
        M.explained_variance(X, X_hat, definition="mean_of_rows"),
    ]
    assert_allclose(got, expected, rtol=1e-12)


# ---------------------------------------------------------------------------
# The explained-variance definitions


def test_explained_variance_definitions_differ_on_uncentred_data():
    X, X_hat = _pair(np.float64)
    centred = M.explained_variance(X, X_hat)
    about_zero = M.explained_variance(X, X_hat, definition="about_zero")
    mean_of_rows = M.explained_variance(X, X_hat, definition="mean_of_rows")
    assert about_zero > centred + 0.05
    assert not np.isclose(mean_of_rows, centred)
    # the mean row explains nothing, except about zero
    mean_only = np.tile(X.mean(axis=0), (X.shape[0], 1))
    assert M.explained_variance(X, mean_only) == pytest.approx(0.0, abs=1e-12)
    assert M.explained_variance(X, mean_only, definition="about_zero") > 0.5


def test_centred_and_about_zero_agree_on_centred_data():
    X, X_hat = _pair(np.float64)
    mean = X.mean(axis=0)
    X, X_hat = X - mean, X_hat - mean
    assert_allclose(
        M.explained_variance(X, X_hat, definition="about_zero"),
        M.explained_variance(X, X_hat),
        rtol=1e-12,
    )


def test_explained_variance_refuses_unknown_definition():
    X, X_hat = _pair(np.float64)
    with pytest.raises(ValueError, match="definition must be one of"):
        M.explained_variance(X, X_hat, definition="legacy")


# ---------------------------------------------------------------------------
# Edge cases


def test_constant_data_fvu_is_zero_or_inf():
    X = np.full((5, 3), 2.0)
    assert M.fraction_of_variance_unexplained(X, X) == 0.0
    assert M.explained_variance(X, X) == 1.0
    assert M.fraction_of_variance_unexplained(X, X + 1) == math.inf
    assert M.explained_variance(X, X + 1) == -math.inf
    # a row equal to the mean, not reconstructed: -inf for the mean of rows
    X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    X_hat = X + [[0.0, 0.0], [0.1, 0.0], [0.0, 0.0]]
    assert M.explained_variance(X, X_hat, definition="mean_of_rows") == -math.inf
    assert np.isfinite(M.explained_variance(X, X_hat))


def test_cosine_similarity_of_zero_rows():
    X = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    X_hat = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0], [-2.0, 0.0]])
    assert_array_equal(M.cosine_similarity_per_row(X, X_hat), [1.0, 0.0, 0.0, -1.0])


def test_all_zero_codes():
    codes = np.zeros((10, 6))
    for container in (np.asarray, sp.csr_matrix):
        assert M.l0(container(codes)) == 0.0
        assert M.dead_fraction(container(codes)) == 1.0
        assert_array_equal(M.feature_density(container(codes)), np.zeros(6))
        hist, edges, n_dead = M.feature_density_histogram(container(codes))
        assert hist.sum() == 0 and n_dead == 6
        assert edges[0] == -1.0 and edges[-1] == 0.0


@pytest.mark.parametrize(
    "metric",
    [
        M.squared_error_per_row,
        M.mean_squared_error,
        M.fraction_of_variance_unexplained,
        M.explained_variance,
        M.cosine_similarity,
        M.cosine_similarity_per_row,
    ],
)
def test_mismatched_shapes_raise(metric):
    X, X_hat = _pair(np.float64)
    with pytest.raises(ValueError, match=r"same shape, got \(40, 7\) and \(40, 6\)"):
        metric(X, X_hat[:, :6])
    with pytest.raises(ValueError, match="same shape"):
        metric(X, X_hat[:5])


def test_invalid_sample_weight_raises():
    X, X_hat = _pair(np.float64)
    with pytest.raises(ValueError, match="sample_weight"):
        M.fraction_of_variance_unexplained(X, X_hat, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="sample_weight"):
        M.l0(_codes(), sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="at least one non-zero"):
        M.feature_density(_codes(), sample_weight=np.zeros(50))
    with pytest.raises(ValueError, match="Negative values"):
        M.mean_squared_error(X, X_hat, sample_weight=-np.ones(40))


def test_integer_and_boolean_codes():
    codes = np.array([[0, 2, 1], [0, 0, 3]])
    assert M.l0(codes) == 1.5
    assert_array_equal(M.feature_density(codes != 0), [0.0, 0.5, 1.0])
    assert M.dead_fraction(sp.csr_matrix(codes != 0)) == pytest.approx(1 / 3)


# ---------------------------------------------------------------------------
# Sparsity metrics against their numpy formulas

CODE_CONTAINERS = {
    "dense": np.asarray,
    "csr": sp.csr_matrix,
    "csc": sp.csc_matrix,
    "coo": sp.coo_matrix,
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "container", CODE_CONTAINERS.values(), ids=CODE_CONTAINERS.keys()
)
@pytest.mark.parametrize("threshold", [0.0, 0.5])
def test_sparsity_metrics_match_numpy(dtype, container, threshold):
    codes = _codes().astype(dtype)
    active = np.abs(codes) > threshold
    density = active.mean(axis=0)
    c = container(codes)
    assert_array_equal(M.l0_per_row(c, threshold=threshold), active.sum(axis=1))
    assert_allclose(M.l0(c, threshold=threshold), active.sum(axis=1).mean())
    assert_allclose(M.feature_density(c, threshold=threshold), density)
    assert M.dead_fraction(c, threshold=threshold) == np.mean(density == 0)
    hist, edges, n_dead = M.feature_density_histogram(c, bins=5, threshold=threshold)
    expected, expected_edges = np.histogram(
        np.log10(density[density > 0]), bins=5, range=(-2, 0)
    )
    assert_array_equal(hist, expected)
    assert_allclose(edges, expected_edges)
    assert n_dead == np.sum(density == 0)
    assert hist.sum() + n_dead == codes.shape[1]


def test_explicit_zeros_of_sparse_codes_are_not_active():
    codes = sp.csr_matrix(np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]]))
    codes.data[0] = 0.0  # stored, but zero
    assert codes.nnz == 3
    assert_array_equal(M.l0_per_row(codes), [1, 1])
    assert_array_equal(M.feature_density(codes), [0.0, 0.5, 0.5])
    assert M.dead_fraction(codes) == pytest.approx(1 / 3)


def test_histogram_bins_and_range():
    codes = _codes()
    density = M.feature_density(codes)
    edges = [-3.0, -1.0, -0.5, 0.0]
    hist, got_edges, _ = M.feature_density_histogram(codes, bins=edges)
    assert_array_equal(hist, np.histogram(np.log10(density[density > 0]), edges)[0])
    assert_array_equal(got_edges, edges)
    _, got_edges, _ = M.feature_density_histogram(codes, bins=4, range=(-1, 0))
    assert_allclose(got_edges, [-1, -0.75, -0.5, -0.25, 0])


# ---------------------------------------------------------------------------
# Sample weights: an integer weight is a repeated row

RECONSTRUCTION_METRICS = [
    M.mean_squared_error,
    M.fraction_of_variance_unexplained,
    M.explained_variance,
    lambda X, X_hat, **kw: M.explained_variance(
        X, X_hat, definition="about_zero", **kw
    ),
    lambda X, X_hat, **kw: M.explained_variance(
        X, X_hat, definition="mean_of_rows", **kw
    ),
    M.cosine_similarity,
]
CODES_METRICS = [
    M.l0,
    M.dead_fraction,
    M.feature_density,
    lambda codes, **kw: M.l0(codes, threshold=0.5, **kw),
    lambda codes, **kw: M.feature_density_histogram(codes, bins=7, **kw)[0],
    lambda codes, **kw: M.feature_density_histogram(codes, bins=7, **kw)[2],
]


@pytest.mark.parametrize("metric", RECONSTRUCTION_METRICS)
@pytest.mark.parametrize("container", CONTAINERS.values(), ids=CONTAINERS.keys())
def test_sample_weight_equals_repeated_rows(metric, container):
    X, X_hat = _pair(np.float64)
    weights = np.random.RandomState(1).randint(0, 4, X.shape[0])
    weights[0] = 0  # a row of weight 0 is a row left out
    repeated = np.repeat(np.arange(X.shape[0]), weights)
    assert_allclose(
        metric(container(X), X_hat, sample_weight=weights),
        metric(container(X[repeated]), X_hat[repeated]),
        rtol=1e-12,
    )
    assert_allclose(
        metric(X, X_hat, sample_weight=np.ones(X.shape[0])), metric(X, X_hat)
    )


@pytest.mark.parametrize("metric", CODES_METRICS)
@pytest.mark.parametrize("container", CONTAINERS.values(), ids=CONTAINERS.keys())
def test_sample_weight_equals_repeated_rows_for_codes(metric, container):
    codes = _codes()
    codes[0, 3] = 1.0  # latent 3 only alive on a row of weight 0
    weights = np.random.RandomState(1).randint(1, 4, codes.shape[0])
    weights[0] = 0
    repeated = np.repeat(np.arange(codes.shape[0]), weights)
    got = metric(container(codes), sample_weight=weights)
    expected = metric(container(codes[repeated]))
    assert np.shape(got) == np.shape(expected)
    assert_allclose(got, expected, rtol=1e-12)


# ---------------------------------------------------------------------------
# The estimators' score against these metrics


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("container", CONTAINERS.values(), ids=CONTAINERS.keys())
def test_topk_score_is_minus_fvu(topk, digits, dtype, container):
    X = container(digits.astype(dtype))
    X_hat = topk.inverse_transform(topk.transform(X))
    rtol = 1e-5 if dtype == np.float32 else 1e-10
    assert_allclose(
        topk.score(X), -M.fraction_of_variance_unexplained(X, X_hat), rtol=rtol
    )
    assert_allclose(topk.score(X), M.get_scorer("neg_fvu")(topk, X), rtol=rtol)


def test_topk_codes_have_l0_at_most_k(topk, digits):
    codes = topk.transform(digits)
    assert M.l0(codes) <= 4
    assert_array_equal(M.l0_per_row(codes), (codes != 0).sum(axis=1))
    assert_allclose(M.feature_density(codes).sum(), M.l0(codes))
    # activation_frequency_ is the feature density on the training data
    assert_allclose(M.feature_density(codes), topk.activation_frequency_)


# lbfgs stops at max_iter here: the relation holds for any weights
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("container", CONTAINERS.values(), ids=CONTAINERS.keys())
def test_sparse_ae_score_is_minus_half_n_features_times_mse(digits, container):
    ae = SparseAE(n_components=16, max_iter=20, random_state=0).fit(digits)
    X = container(digits)
    X_hat = ae.inverse_transform(ae.transform(X))
    n_features = digits.shape[1]
    assert_allclose(
        ae.score(X), -(n_features / 2) * M.mean_squared_error(X, X_hat), rtol=1e-10
    )
    assert_allclose(
        ae.score_samples(X), -0.5 * M.squared_error_per_row(X, X_hat), rtol=1e-10
    )
    assert_allclose(
        M.get_scorer("neg_mse")(ae, X), ae.score(X) * 2 / n_features, rtol=1e-10
    )


# ---------------------------------------------------------------------------
# Scorers


class _Counting(TransformerMixin, BaseEstimator):
    """A fitted-looking transformer counting its calls: codes X, reconstruction X/2."""

    def __init__(self):
        self.calls = []

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        self.calls.append("transform")
        return np.asarray(X) * 2

    def inverse_transform(self, codes):
        self.calls.append("inverse_transform")
        return np.asarray(codes) / 4


def test_scorers_compute_their_metric_from_one_transform():
    X, _ = _pair(np.float64)
    X_hat = X / 2
    expected = {
        "explained_variance": M.explained_variance(X, X_hat),
        "neg_fvu": -M.fraction_of_variance_unexplained(X, X_hat),
        "neg_mse": -M.mean_squared_error(X, X_hat),
        "cosine_similarity": M.cosine_similarity(X, X_hat),
        "l0": M.l0(2 * X),
        "dead_fraction": M.dead_fraction(2 * X),
    }
    assert set(expected) == set(M.get_scorer_names())
    for name, value in expected.items():
        est = _Counting()
        assert M.get_scorer(name)(est, X) == pytest.approx(value, rel=1e-12)
        on_codes = name in {"l0", "dead_fraction"}
        assert est.calls == (
            ["transform"] if on_codes else ["transform", "inverse_transform"]
        )
    est = _Counting()
    assert M.make_multimetric_scorer()(est, X) == pytest.approx(expected, rel=1e-12)
    assert est.calls == ["transform", "inverse_transform"]
    est = _Counting()
    assert M.make_multimetric_scorer(["l0"])(est, X) == {"l0": expected["l0"]}
    assert est.calls == ["transform"]


def test_scorers_pass_sample_weight():
    X, _ = _pair(np.float64)
    weights = np.arange(X.shape[0]) % 3
    assert M.get_scorer("neg_fvu")(
        _Counting(), X, sample_weight=weights
    ) == pytest.approx(
        -M.fraction_of_variance_unexplained(X, X / 2, sample_weight=weights)
    )
    scores = M.make_multimetric_scorer(["l0"])(_Counting(), X, sample_weight=weights)
    assert scores["l0"] == pytest.approx(M.l0(2 * X, sample_weight=weights))


def test_make_sae_scorer_options_and_repr():
    X, _ = _pair(np.float64)
    scorer = M.make_sae_scorer(M.explained_variance, definition="about_zero")
    assert scorer(_Counting(), X) == pytest.approx(
        M.explained_variance(X, X / 2, definition="about_zero")
    )
    assert repr(scorer) == (
        "make_sae_scorer(explained_variance, on='reconstruction', "
        "definition='about_zero')"
    )
    neg = M.make_sae_scorer(M.l0, on="codes", greater_is_better=False, threshold=1)
    assert neg(_Counting(), X) == pytest.approx(-M.l0(2 * X, threshold=1))
    assert "greater_is_better=False" in repr(neg)
    assert "make_multimetric_scorer" in repr(M.make_multimetric_scorer(["l0"]))
    custom = M.make_multimetric_scorer({"az": scorer, "fvu": "neg_fvu"})
    assert set(custom(_Counting(), X)) == {"az", "fvu"}


def test_make_sae_scorer_of_a_scikit_learn_metric():
    X, _ = _pair(np.float64)
    mae = M.make_sae_scorer(sk_metrics.mean_absolute_error, greater_is_better=False)
    assert mae(_Counting(), X) == pytest.approx(
        -sk_metrics.mean_absolute_error(X, X / 2)
    )
    weights = np.arange(X.shape[0]) % 3
    assert mae(_Counting(), X, sample_weight=weights) == pytest.approx(
        -sk_metrics.mean_absolute_error(X, X / 2, sample_weight=weights)
    )


def test_scorer_errors():
    with pytest.raises(ValueError, match="not a scorer of skl_sparse_ae.metrics"):
        M.get_scorer("r2")
    with pytest.raises(ValueError, match="on must be one of"):
        M.make_sae_scorer(M.l0, on="X")
    with pytest.raises(TypeError, match="metric must be callable"):
        M.make_sae_scorer("l0")
    with pytest.raises(TypeError, match="scorers"):
        M.make_multimetric_scorer({"l0": len})


def test_scorers_pickle():
    X, _ = _pair(np.float64)
    for scorer in [M.get_scorer("neg_fvu"), M.make_multimetric_scorer()]:
        again = pickle.loads(pickle.dumps(scorer))
        assert again(_Counting(), X) == scorer(_Counting(), X)


def test_scorer_on_a_pipeline_compares_in_the_input_units(digits):
    pipe = make_pipeline(StandardScaler(), TopKSAE(n_components=32, k=4, **CONVERGING))
    pipe.fit(digits)
    X_hat = pipe.inverse_transform(pipe.transform(digits))
    assert M.get_scorer("explained_variance")(pipe, digits) == pytest.approx(
        M.explained_variance(digits, X_hat)
    )
    assert M.get_scorer("l0")(pipe, digits) <= 4


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_codes_scorers_on_the_stacked_classifier(digits):
    # the stages stop at their max_iter here: only the codes are looked at
    y = load_digits().target[:300]
    clf = StackedSparseAEClassifier(
        hidden_layer_sizes=(16,),
        pretrain_max_iter=2,
        softmax_max_iter=5,
        fine_tune=False,
        random_state=0,
    ).fit(digits, y)
    # sigmoid features are never exactly 0: count those above one half
    l0 = M.make_sae_scorer(M.l0, on="codes", threshold=0.5)
    assert l0(clf, digits) == pytest.approx(M.l0(clf.transform(digits), threshold=0.5))
    assert M.get_scorer("l0")(clf, digits) == 16
    with pytest.raises(AttributeError, match="inverse_transform"):
        M.get_scorer("neg_fvu")(clf, digits)


def test_grid_search_with_a_dict_of_scorers_refits_on_quality(digits):
    scoring = {name: M.get_scorer(name) for name in M.get_scorer_names()}
    search = GridSearchCV(
        TopKSAE(n_components=32, **CONVERGING),
        {"k": [2, 8]},
        cv=2,
        scoring=scoring,
        refit="explained_variance",
    ).fit(digits)
    results = search.cv_results_
    assert search.best_params_ == {"k": 8}
    assert_array_equal(results["mean_test_l0"], [2.0, 8.0])
    assert_allclose(
        results["mean_test_neg_fvu"], -1 + results["mean_test_explained_variance"]
    )
    assert np.all(results["mean_test_dead_fraction"] >= 0)
    assert search.best_score_ == results["mean_test_explained_variance"][1]


def test_cross_validate_with_the_multimetric_scorer(digits):
    results = cross_validate(
        TopKSAE(n_components=32, k=4, **CONVERGING),
        digits,
        cv=2,
        scoring=M.make_multimetric_scorer(),
        return_train_score=True,
    )
    for name in M.get_scorer_names():
        assert results[f"test_{name}"].shape == (2,)
    assert_array_equal(results["test_l0"], [4.0, 4.0])
    assert np.all(results["train_explained_variance"] > 0)
    assert np.all(results["test_cosine_similarity"] > 0.5)
