"""TopKSparseAutoencoder and its objective: math, invariants, inputs, persistence."""

import copy
import io
import pickle
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from scipy.optimize import check_grad
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

import skl_sparse_ae._topk_objective as topk_objective
from skl_sparse_ae import TopKSAE, TopKSparseAutoencoder
from skl_sparse_ae._params import pack, unpack
from skl_sparse_ae._topk_objective import (
    SPARSITY,
    LatentStats,
    SparsitySettings,
    _auxk_term,
    batch_topk_codes,
    geometric_median,
    init_parameters,
    inplace_remove_parallel_component,
    parameter_shapes,
    pre_activations,
    topk_codes,
    topk_loss_grad,
)

SPARSITIES = ["topk", "batch_topk", "l1"]


@pytest.fixture(scope="module")
def digits():
    return (load_digits().data / 16).astype(np.float32)


def _fit_quietly(estimator, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X)


def _small(**params):
    defaults = dict(n_components=32, k=4, max_iter=5, batch_size=64, random_state=0)
    return TopKSAE(**{**defaults, **params})


def _theta(X, n_components, seed=0):
    rng = np.random.RandomState(seed)
    theta = pack(init_parameters(X, n_components, rng, "geometric_median"))
    return theta + 0.1 * rng.standard_normal(theta.size)


def test_alias_is_the_same_class():
    assert TopKSAE is TopKSparseAutoencoder


# ---------------------------------------------------------------------------
# The objective


@pytest.mark.parametrize("sparsity", SPARSITIES)
@pytest.mark.parametrize("sparse_input", [False, True])
def test_gradient_with_the_active_set_fixed(sparsity, sparse_input):
    """The datafit and penalty's gradient against finite differences.

    The active set is piecewise constant in theta: at a generic point, steps
    of 1e-6 do not change it, so the loss is smooth there.
    """
    rng = np.random.RandomState(0)
    X = rng.standard_normal((20, 7))
    if sparse_input:
        X = sp.csr_matrix(X * (rng.rand(20, 7) < 0.5))
    h = 12
    rule = SPARSITY[sparsity](SparsitySettings(k=3, l1_weight=0.1))
    kwargs = dict(sparsity=rule, loss_scale=2.0, penalty_scale=1.5)
    theta = _theta(X, h)

    def loss(t):
        return topk_loss_grad(t, X, h, **kwargs)[0]

    def grad(t):
        return topk_loss_grad(t, X, h, **kwargs)[1]

    codes_before = topk_loss_grad(theta, X, h, **kwargs)[2]
    assert (
        check_grad(loss, grad, theta, epsilon=1e-6)
        < 1e-6 * np.linalg.norm(grad(theta)) + 1e-7
    )
    # the check did not cross a change of active set
    perturbed = theta + 1e-6 * rng.standard_normal(theta.size)
    codes_after = topk_loss_grad(perturbed, X, h, **kwargs)[2]
    assert_array_equal(codes_before.indices, codes_after.indices)


def test_auxk_gradient_with_its_residual_fixed():
    """AuxK's gradient: the residual e is a constant (no gradient through it)."""
    rng = np.random.RandomState(1)
    X = rng.standard_normal((30, 6))
    h = 16
    shapes = parameter_shapes(6, h)
    theta = _theta(X, h, seed=1)
    dead = np.zeros(h, dtype=bool)
    dead[[0, 3, 5, 9, 10, 14]] = True
    rule = SPARSITY["topk"](SparsitySettings(k=3))
    W_enc, b_enc, W_dec, b_dec = unpack(theta, shapes)
    codes = rule.train_codes(pre_activations(X, W_enc, b_enc, b_dec))
    residual = np.asarray(codes @ W_dec) + b_dec - X

    def aux_loss(t):
        We, be, Wd, bd = unpack(t, shapes)
        return _auxk_term(pre_activations(X, We, be, bd), residual, dead, 2, 0.5, Wd)[0]

    def aux_grad(t):
        with_aux = topk_loss_grad(
            t, X, h, sparsity=rule, dead=dead, k_aux=2, aux_weight=0.5
        )[1]
        return with_aux - topk_loss_grad(t, X, h, sparsity=rule)[1]

    assert aux_loss(theta) > 0
    assert check_grad(aux_loss, aux_grad, theta, epsilon=1e-6) < 1e-6


def test_topk_codes_keep_the_k_largest_of_each_row():
    rng = np.random.RandomState(0)
    pre = rng.standard_normal((50, 20)).astype(np.float32)
    codes = topk_codes(pre, 5)
    assert codes.dtype == np.float32
    assert_array_equal(np.diff(codes.indptr), 5)
    dense = codes.toarray()
    expected = np.where(pre >= np.sort(pre, axis=1)[:, [-5]], np.maximum(pre, 0), 0)
    assert_allclose(dense, expected)


def test_batch_topk_codes_keep_the_largest_of_the_batch():
    rng = np.random.RandomState(0)
    pre = np.abs(rng.standard_normal((10, 8)))
    codes = batch_topk_codes(pre, 20)
    assert codes.nnz == 20
    dense = codes.toarray()
    cutoff = np.sort(pre.ravel())[-20]
    assert_allclose(dense, np.where(pre >= cutoff, pre, 0))
    assert len(set(np.diff(codes.indptr))) > 1  # rows share the budget


def test_parallel_component_is_removed():
    rng = np.random.RandomState(0)
    W = rng.standard_normal((6, 4))
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    grad = rng.standard_normal((6, 4))
    inplace_remove_parallel_component(grad, W)
    assert_allclose(np.einsum("ij,ij->i", grad, W), 0, atol=1e-12)


def test_geometric_median():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((200, 3))
    X[:10] += 1000  # outliers move the mean, hardly the median
    median = geometric_median(X)

    def total(y):
        return np.linalg.norm(X - y, axis=1).sum()

    assert np.linalg.norm(median) < 0.5 < np.linalg.norm(X.mean(axis=0))
    for step in 1e-3 * np.eye(3):
        assert total(median) <= min(total(median + step), total(median - step))


def test_latent_stats_count_rows_since_active():
    stats = LatentStats(4, np.float32)
    codes = sp.csr_matrix(np.array([[1.0, 0, 0, 0], [0, 2.0, 0, 0]]))
    stats.observe_active(codes)
    stats.observe_active(sp.csr_matrix(np.array([[1.0, 0, 0, 0]])))
    assert_array_equal(stats.samples_since_active, [0, 1, 3, 3])
    assert_array_equal(stats.dead(3), [False, False, True, True])


# ---------------------------------------------------------------------------
# The estimator's invariants


@pytest.mark.parametrize("sparse_output", [False, True])
def test_exactly_k_non_zeros_per_row(digits, sparse_output):
    sae = _fit_quietly(_small(k=6, sparse_output=sparse_output), digits)
    codes = sae.transform(digits)
    assert sp.issparse(codes) == sparse_output
    if sparse_output:
        assert codes.format == "csr"
        codes = codes.toarray()
    assert_array_equal((codes != 0).sum(axis=1), 6)
    assert (codes >= 0).all()


def test_unit_norm_decoder_rows_after_every_step(digits, monkeypatch):
    """Every step starts from unit-norm decoder rows, and the fit ends with them."""
    norms = []
    original = topk_objective.topk_loss_grad

    def recording(theta, X, n_components, **kwargs):
        W_dec = unpack(theta, parameter_shapes(X.shape[1], n_components))[2]
        norms.append(np.linalg.norm(W_dec, axis=1))
        return original(theta, X, n_components, **kwargs)

    monkeypatch.setattr(topk_objective, "topk_loss_grad", recording)
    sae = _fit_quietly(_small(max_iter=3, solver="sgd"), digits[:500])
    assert len(norms) == 3 * 8
    assert_allclose(np.array(norms), 1, rtol=1e-5)
    assert_allclose(np.linalg.norm(sae.components_, axis=1), 1, rtol=1e-5)
    assert sae.components_ is sae.coefs_[1]


def test_l1_does_not_normalise_the_decoder(digits):
    sae = _fit_quietly(_small(sparsity="l1", max_iter=3), digits)
    norms = np.linalg.norm(sae.components_, axis=1)
    assert np.abs(norms - 1).max() > 1e-2
    assert sae.threshold_ is None


def test_auxk_lowers_the_dead_fraction(digits):
    """A problem built to have dead latents: half the encoder shrunk to 5 %.

    Those latents never reach the top k again, so without AuxK they get no
    gradient and stay dead; AuxK makes them reconstruct the residual.
    """
    params = dict(n_components=64, k=8, dead_after=500, batch_size=100)
    base = _fit_quietly(TopKSAE(max_iter=10, random_state=0, **params), digits)
    assert base.n_dead_components_ == 0
    dead_counts, scores = {}, {}
    for aux_weight in [0, 1 / 32]:
        model = copy.deepcopy(base)
        model.coefs_[0][:, :32] *= 0.05
        model.set_params(warm_start=True, aux_weight=aux_weight)
        _fit_quietly(model, digits)
        dead_counts[aux_weight] = model.n_dead_components_
        scores[aux_weight] = model.score(digits)
    assert dead_counts[0] == 32
    assert dead_counts[1 / 32] <= 0.75 * dead_counts[0]
    # the auxiliary loss does not cost reconstruction
    assert scores[1 / 32] > scores[0] - 0.01


def test_batch_topk_transform_is_row_independent(digits):
    sae = _fit_quietly(_small(sparsity="batch_topk", k=6, max_iter=10), digits)
    codes = sae.transform(digits)
    # the same codes (up to the last bits of a matrix-vector product)
    one_by_one = np.vstack([sae.transform(digits[i : i + 1]) for i in range(50)])
    assert_array_equal(codes[:50] != 0, one_by_one != 0)
    assert_allclose(codes[:50], one_by_one, rtol=1e-5)
    reversed_codes = sae.transform(digits[::-1])
    assert_array_equal(reversed_codes != 0, codes[::-1] != 0)
    assert_allclose(reversed_codes, codes[::-1], rtol=1e-5)
    # the thresholds keep about k latents a row on the training data
    assert 3 < (codes != 0).sum(axis=1).mean() <= 9
    active = sae.activation_frequency_ > 0
    assert np.isfinite(sae.threshold_[active]).all()


def test_activation_frequency_and_dead_components(digits):
    sae = _fit_quietly(_small(k=4), digits)
    codes = sae.transform(digits)
    assert_allclose(sae.activation_frequency_, (codes != 0).mean(axis=0))
    assert_allclose(sae.activation_frequency_.sum(), 4)
    assert 0 <= sae.n_dead_components_ <= sae.n_components


def test_score_is_minus_the_fvu(digits):
    sae = _fit_quietly(_small(), digits)
    X_hat = sae.inverse_transform(sae.transform(digits))
    fvu = ((digits - X_hat) ** 2).sum() / ((digits - digits.mean(axis=0)) ** 2).sum()
    assert_allclose(sae.score(digits), -fvu, rtol=1e-4)
    # codes as CSR reconstruct the same
    sparse_codes = sp.csr_matrix(sae.transform(digits))
    assert_allclose(sae.inverse_transform(sparse_codes), X_hat, rtol=1e-5, atol=1e-6)
    # the fit explains more than the mean does
    assert -1 < sae.score(digits) < 0


def test_mse_loss_and_mean_init_fit(digits):
    sae = _fit_quietly(_small(loss="mse", decoder_bias_init="mean"), digits)
    fvu_model = _fit_quietly(_small(), digits)
    # the MSE's loss curve is the FVU's times the mean variance, roughly
    assert sae.loss_curve_[-1] < fvu_model.loss_curve_[-1]
    assert sae.score(digits) > -1


def test_k_above_n_components_means_every_latent():
    X = np.random.RandomState(0).rand(40, 3)
    sae = _fit_quietly(TopKSAE(n_components=2, k=5, max_iter=2, random_state=0), X)
    assert sae.transform(X).shape == (40, 2)


def test_early_stopping_and_partial_fit(digits):
    sae = _fit_quietly(_small(early_stopping=True, max_iter=30), digits)
    assert len(sae.validation_scores_) == sae.n_iter_
    assert sae.best_validation_score_ == max(sae.validation_scores_)

    online = _small()
    for chunk in np.array_split(digits, 3):
        online.partial_fit(chunk)
    assert online.n_iter_ == 3
    assert len(online.loss_curve_) == 3
    assert_allclose(np.linalg.norm(online.components_, axis=1), 1, rtol=1e-5)


def test_pipeline_pandas_output_and_feature_names(digits):
    pd = pytest.importorskip("pandas")
    sae = _fit_quietly(_small(), digits).set_output(transform="pandas")
    frame = sae.transform(digits)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns[:2]) == [
        "topksparseautoencoder0",
        "topksparseautoencoder1",
    ]
    assert_array_equal(sae.get_feature_names_out(), frame.columns)


def test_grid_search_over_k(digits):
    search = GridSearchCV(_small(max_iter=3), {"k": [2, 8]}, cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(digits)
    assert search.best_params_ == {"k": 8}  # more codes, less variance unexplained


# ---------------------------------------------------------------------------
# Inputs: dtypes, sparse matrices, bad input


@pytest.mark.parametrize("sparsity", SPARSITIES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(digits, sparsity, dtype):
    X = digits.astype(dtype)
    sae = _fit_quietly(_small(sparsity=sparsity), X)
    for array in sae.coefs_ + sae.intercepts_:
        assert array.dtype == dtype
    assert sae.transform(X).dtype == dtype
    assert sae.inverse_transform(sae.transform(X)).dtype == dtype
    assert sae.transform(X.astype(np.float64)).dtype == np.float64


@pytest.mark.parametrize("sparsity", SPARSITIES)
def test_sparse_input_fits_as_dense(digits, sparsity):
    X = digits.astype(np.float64)
    dense = _fit_quietly(_small(sparsity=sparsity, max_iter=2), X)
    sparse = _fit_quietly(_small(sparsity=sparsity, max_iter=2), sp.csr_matrix(X))
    for a, b in zip(
        dense.coefs_ + dense.intercepts_, sparse.coefs_ + sparse.intercepts_
    ):
        assert_allclose(a, b, rtol=1e-6, atol=1e-8)
    assert_allclose(sparse.transform(sp.csr_matrix(X)), dense.transform(X), atol=1e-8)
    assert_allclose(sparse.score(sp.csr_matrix(X)), dense.score(X))


def test_bad_input_leaves_the_estimator_unchanged(digits):
    sae = _fit_quietly(_small(), digits)
    before = pickle.dumps(sae)
    with pytest.raises(ValueError, match="features"):
        sae.partial_fit(digits[:, :10])
    X_nan = digits.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        sae.partial_fit(X_nan)
    sae.set_params(warm_start=True)
    with pytest.raises(ValueError, match="NaN"):
        sae.fit(X_nan)
    sae.set_params(warm_start=False)
    assert pickle.dumps(sae) == before
    with pytest.raises(ValueError, match="n_components"):
        sae.inverse_transform(np.zeros((2, 5)))


# ---------------------------------------------------------------------------
# Persistence


@pytest.mark.parametrize("sparsity", SPARSITIES)
@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_round_trip_gives_the_same_model(digits, sparsity, dump):
    sae = _fit_quietly(_small(sparsity=sparsity), digits)
    if dump == "pickle":
        restored = pickle.loads(pickle.dumps(sae))
    else:
        buffer = io.BytesIO()
        joblib.dump(sae, buffer)
        buffer.seek(0)
        restored = joblib.load(buffer)
    assert_array_equal(restored.transform(digits), sae.transform(digits))
    assert restored.score(digits) == sae.score(digits)
    # and it goes on training exactly as the original
    sae.partial_fit(digits[:300])
    restored.partial_fit(digits[:300])
    assert_array_equal(restored.components_, sae.components_)
    assert_array_equal(
        restored._latent_stats.samples_since_active,
        sae._latent_stats.samples_since_active,
    )
