"""JumpReLU and Matryoshka BatchTopK: their math against numpy, and their fits."""

import io
import pickle
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from skl_sparse_ae import TopKSAE
from skl_sparse_ae._params import pack, unpack
from skl_sparse_ae._topk_objective import (
    SPARSITY,
    JumpReLU,
    SparsitySettings,
    init_parameters,
    model_shapes,
    pre_activations,
    topk_loss_grad,
)

NEW_SPARSITIES = ["jumprelu", "matryoshka_batch_topk"]


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


def _central_difference_error(loss, grad, x, step=1e-6):
    """``||central differences of loss - grad||`` at x, coordinate by coordinate."""
    difference = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = step
        difference[i] = (loss(x + e) - loss(x - e)) / (2 * step)
    return np.linalg.norm(difference - grad(x))


def _base_theta(X, n_components, seed=0):
    rng = np.random.RandomState(seed)
    theta = pack(init_parameters(X, n_components, rng, "geometric_median"))
    return theta + 0.1 * rng.standard_normal(theta.size)


# ---------------------------------------------------------------------------
# JumpReLU's objective


def _jumprelu_problem(log_threshold, sparse_input, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((40, 7))
    if sparse_input:
        X = sp.csr_matrix(X * (rng.rand(40, 7) < 0.5))
    h = 12
    rule = JumpReLU(0.3, 0.4, 0.2, log_threshold)
    threshold = 0.05 + 0.5 * rng.rand(h)
    own = rule.init_parameters(h, np.float64, threshold)
    return X, h, rule, _base_theta(X, h, seed), own


@pytest.mark.parametrize("log_threshold", [False, True])
@pytest.mark.parametrize("sparse_input", [False, True])
def test_jumprelu_gradient_in_the_weights(log_threshold, sparse_input):
    """W_enc, b_enc, W_dec, b_dec: the true gradient, the active set fixed."""
    X, h, rule, base, own = _jumprelu_problem(log_threshold, sparse_input)
    kwargs = dict(sparsity=rule, loss_scale=2.0, penalty_scale=1.5)
    n_base = base.size

    def full(b):
        return pack([b] + own)

    def loss(b):
        return topk_loss_grad(full(b), X, h, **kwargs)[0]

    def grad(b):
        return topk_loss_grad(full(b), X, h, **kwargs)[1][:n_base]

    codes = topk_loss_grad(full(base), X, h, **kwargs)[2]
    assert 0 < codes.nnz < codes.shape[0] * h
    assert (
        _central_difference_error(loss, grad, base)
        < 1e-7 * np.linalg.norm(grad(base)) + 1e-8
    )
    perturbed = base + 1e-6 * np.random.RandomState(1).standard_normal(n_base)
    after = topk_loss_grad(full(perturbed), X, h, **kwargs)[2]
    assert_array_equal(codes.indices, after.indices)  # no change of active set


@pytest.mark.parametrize("log_threshold", [False, True])
@pytest.mark.parametrize("sparse_input", [False, True])
def test_jumprelu_threshold_pseudo_gradient(log_threshold, sparse_input):
    """The straight-through estimates in theta, against their formula in numpy.

    ``d loss / d theta_j = sum_i [g_ij (-theta_j / eps) + w (-1 / eps)] K_ij``
    with ``g = d datafit / d z``, ``w`` the L0 weight per row and
    ``K_ij = 1{|pre_ij - theta_j| < eps / 2}``; times theta in log space.
    """
    X, h, rule, base, own = _jumprelu_problem(log_threshold, sparse_input)
    loss_scale, penalty_scale = 2.0, 1.5
    theta_vector = pack([base] + own)
    loss, grad, _ = topk_loss_grad(
        theta_vector,
        X,
        h,
        sparsity=rule,
        loss_scale=loss_scale,
        penalty_scale=penalty_scale,
    )
    W_enc, b_enc, W_dec, b_dec, parameter = unpack(
        theta_vector, model_shapes(7, h, rule)
    )
    dense = X.toarray() if sp.issparse(X) else X
    m, d = dense.shape
    threshold = np.exp(parameter) if log_threshold else parameter
    pre = (dense - b_dec) @ W_enc + b_enc
    active = pre > threshold
    z = pre * active
    residual = z @ W_dec + b_dec - dense
    g = 2 * loss_scale / (m * d) * residual @ W_dec.T
    eps = rule.bandwidth
    kernel = np.abs((pre - threshold) / eps) < 0.5
    assert kernel.sum() > 5  # the window is not empty
    weight = penalty_scale * rule.l0_weight / m
    expected = (g * (-threshold / eps) * kernel).sum(axis=0)
    expected += (weight * (-1 / eps) * kernel).sum(axis=0)
    if log_threshold:
        expected *= threshold
    assert_allclose(grad[base.size :], expected, rtol=1e-10, atol=1e-12)
    # and the loss is the datafit plus the L0
    datafit = loss_scale * (residual**2).mean()
    assert_allclose(loss, datafit + weight * active.sum(), rtol=1e-10)


def test_jumprelu_codes_and_threshold_parametrisation():
    rule_linear = JumpReLU(0.1, 0.1, 0.2, False)
    rule_log = JumpReLU(0.1, 0.1, 0.2, True)
    threshold = np.array([0.1, 0.5, 2.0])
    own_log = rule_log.init_parameters(3, np.float64, threshold)
    assert_allclose(own_log[0], np.log(threshold))
    assert_allclose(rule_log.fitted_threshold(None, own_log), threshold)
    pre = np.array([[0.05, 0.6, 1.0], [0.2, -1.0, 3.0]])
    codes = rule_linear.train_codes(pre, [threshold]).toarray()
    assert_array_equal(codes, pre * (pre > threshold))
    # a linear threshold is kept at least 0
    own = [np.array([-0.1, 0.3, 0.0])]
    rule_linear.project(own)
    assert_array_equal(own[0], [0.0, 0.3, 0.0])


# ---------------------------------------------------------------------------
# JumpReLU's fits


def test_jumprelu_l0_goes_down_as_l0_weight_goes_up(digits):
    """Down to a floor set by how far Adam moves theta in the epochs run."""
    l0 = []
    for l0_weight in [0, 3e-3, 1e-2, 1e-1]:
        sae = _fit_quietly(
            _small(sparsity="jumprelu", l0_weight=l0_weight, max_iter=10), digits
        )
        l0.append((sae.transform(digits) != 0).sum(axis=1).mean())
    assert np.all(np.diff(l0) < 0)
    assert l0[0] > 1.5 * l0[-1] > 0


@pytest.mark.parametrize("space", ["linear", "log"])
def test_jumprelu_transform_uses_the_linear_threshold(digits, space):
    sae = _fit_quietly(
        _small(sparsity="jumprelu", jumprelu_threshold_space=space, max_iter=3),
        digits,
    )
    assert sae.threshold_.shape == (32,)
    assert (sae.threshold_ >= 0).all()
    W_enc, b_enc = sae.coefs_[0], sae.intercepts_[0]
    pre = pre_activations(digits, W_enc, b_enc, sae.intercepts_[1])
    assert_allclose(sae.transform(digits), pre * (pre > sae.threshold_), rtol=1e-6)
    assert_allclose(np.linalg.norm(sae.components_, axis=1), 1, rtol=1e-5)
    assert_allclose(sae.activation_frequency_, (pre > sae.threshold_).mean(axis=0))


def test_jumprelu_threshold_moves_in_linear_space(digits):
    """The measurement behind the default: log space barely moves theta."""
    moved = {}
    for space in ["linear", "log"]:
        sae = _fit_quietly(
            _small(sparsity="jumprelu", jumprelu_threshold_space=space), digits
        )
        init = 0.1 * np.sqrt(np.var(digits, axis=0).mean())
        moved[space] = np.median(np.abs(sae.threshold_ - init))
    assert moved["linear"] > 3 * moved["log"]


# ---------------------------------------------------------------------------
# Both rules: dtypes, sparse input, warm start, persistence


@pytest.mark.parametrize("sparsity", NEW_SPARSITIES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(digits, sparsity, dtype):
    X = digits.astype(dtype)
    sae = _fit_quietly(_small(sparsity=sparsity, matryoshka_prefixes=(8, 16)), X)
    for array in sae.coefs_ + sae.intercepts_ + [sae.threshold_]:
        assert array.dtype == dtype
    assert sae.transform(X).dtype == dtype
    assert sae.inverse_transform(sae.transform(X)).dtype == dtype
    assert sae.transform(X.astype(np.float64)).dtype == np.float64


@pytest.mark.parametrize("sparsity", NEW_SPARSITIES)
def test_sparse_input_fits_as_dense(digits, sparsity):
    X = digits.astype(np.float64)
    params = dict(sparsity=sparsity, max_iter=2, matryoshka_prefixes=(8, 16))
    dense = _fit_quietly(_small(**params), X)
    sparse = _fit_quietly(_small(**params), sp.csr_matrix(X))
    for a, b in zip(
        dense.coefs_ + dense.intercepts_ + [dense.threshold_],
        sparse.coefs_ + sparse.intercepts_ + [sparse.threshold_],
    ):
        assert_allclose(a, b, rtol=1e-6, atol=1e-8)
    assert_allclose(sparse.transform(sp.csr_matrix(X)), dense.transform(X), atol=1e-8)


@pytest.mark.parametrize("sparsity", NEW_SPARSITIES)
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
    sae.partial_fit(digits[:300])
    restored.partial_fit(digits[:300])
    assert_array_equal(restored.components_, sae.components_)
    assert_array_equal(restored.threshold_, sae.threshold_)


def test_jumprelu_partial_fit_continues_from_threshold(digits):
    sae = _fit_quietly(_small(sparsity="jumprelu", l0_weight=0.1), digits)
    before = sae.threshold_.copy()
    sae.partial_fit(digits)
    assert sae.threshold_.shape == before.shape
    # continued from the fitted threshold, not from threshold_init again
    assert np.median(np.abs(sae.threshold_ - before)) < np.median(
        np.abs(before - 0.1 * np.sqrt(np.var(digits, axis=0).mean()))
    )


def test_sparsity_factories_take_the_settings():
    settings = SparsitySettings(k=3, l0_weight=0.5, data_scale=2.0)
    rule = SPARSITY["jumprelu"](settings)
    assert rule.bandwidth == pytest.approx(0.05 * 2.0)
    assert rule.threshold_init == pytest.approx(0.1 * 2.0)
    assert not rule.log_threshold
    for name in SPARSITY:
        assert SPARSITY[name](
            SparsitySettings(k=3, matryoshka_prefixes=(2, 4))
        ).parameter_shapes(4) in ([], [(4,)])


# ---------------------------------------------------------------------------
# Matryoshka BatchTopK


def _matryoshka_problem(sparse_input, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((20, 7))
    if sparse_input:
        X = sp.csr_matrix(X * (rng.rand(20, 7) < 0.5))
    h = 12
    rule = SPARSITY["matryoshka_batch_topk"](
        SparsitySettings(k=3, matryoshka_prefixes=(2, 5, 12))
    )
    return X, h, rule, _base_theta(X, h, seed)


@pytest.mark.parametrize("sparse_input", [False, True])
def test_matryoshka_gradient_with_the_selection_fixed(sparse_input):
    X, h, rule, theta = _matryoshka_problem(sparse_input)
    kwargs = dict(sparsity=rule, loss_scale=2.0)

    def loss(t):
        return topk_loss_grad(t, X, h, **kwargs)[0]

    def grad(t):
        return topk_loss_grad(t, X, h, **kwargs)[1]

    codes = topk_loss_grad(theta, X, h, **kwargs)[2]
    assert (
        _central_difference_error(loss, grad, theta)
        < 1e-7 * np.linalg.norm(grad(theta)) + 1e-8
    )
    perturbed = theta + 1e-6 * np.random.RandomState(1).standard_normal(theta.size)
    assert_array_equal(
        codes.indices, topk_loss_grad(perturbed, X, h, **kwargs)[2].indices
    )


@pytest.mark.parametrize("sparse_input", [False, True])
def test_matryoshka_loss_is_the_mean_over_prefixes(sparse_input):
    X, h, rule, theta = _matryoshka_problem(sparse_input)
    loss = topk_loss_grad(theta, X, h, sparsity=rule, loss_scale=2.0)[0]
    W_enc, b_enc, W_dec, b_dec = unpack(theta, model_shapes(7, h, rule))
    dense = X.toarray() if sp.issparse(X) else X
    pre = (dense - b_dec) @ W_enc + b_enc
    cutoff = np.sort(pre.ravel())[-3 * 20]  # BatchTopK: the 60 largest
    z = np.where(pre >= cutoff, np.maximum(pre, 0), 0)
    errors = [((z[:, :p] @ W_dec[:p] + b_dec - dense) ** 2).mean() for p in (2, 5, 12)]
    assert_allclose(loss, 2.0 * np.mean(errors), rtol=1e-10)


def test_matryoshka_first_prefix_reconstructs_on_its_own(digits):
    """The point of the method: the first latents alone beat BatchTopK's first."""

    def prefix_fvu(sae, p):
        codes = sae.transform(digits)
        codes[:, p:] = 0
        X_hat = sae.inverse_transform(codes)
        return ((digits - X_hat) ** 2).sum() / ((digits - digits.mean(0)) ** 2).sum()

    params = dict(n_components=64, k=8, max_iter=10, matryoshka_prefixes=(8, 16))
    plain = _fit_quietly(_small(sparsity="batch_topk", **params), digits)
    nested = _fit_quietly(_small(sparsity="matryoshka_batch_topk", **params), digits)
    assert prefix_fvu(nested, 8) < 0.8 * prefix_fvu(plain, 8)
    assert prefix_fvu(nested, 16) < 0.8 * prefix_fvu(plain, 16)
    # at a small cost for the whole dictionary
    assert nested.score(digits) > plain.score(digits) - 0.05
    # BatchTopK's thresholds at transform: each row on its own
    one_by_one = np.vstack([nested.transform(digits[i : i + 1]) for i in range(20)])
    assert_allclose(nested.transform(digits[:20]), one_by_one, rtol=1e-5)


@pytest.mark.parametrize(
    "prefixes, n_components, expected",
    [
        (None, 128, (8, 32, 128)),
        (None, 8, (2, 8)),
        ((4, 16), 32, (4, 16, 32)),  # the whole dictionary added
        ([4, 16, 32], 32, (4, 16, 32)),
        (np.array([3]), 3, (3,)),
    ],
)
def test_matryoshka_prefixes(prefixes, n_components, expected):
    from skl_sparse_ae._topk_objective import check_matryoshka_prefixes

    assert check_matryoshka_prefixes(prefixes, n_components) == expected


@pytest.mark.parametrize(
    "prefixes", [(16, 8), (8, 8), (0, 8), (-2, 8), (8, 64), (), (2.5, 8), [[2, 4]]]
)
def test_bad_matryoshka_prefixes_leave_the_estimator_unchanged(digits, prefixes):
    sae = _fit_quietly(_small(sparsity="matryoshka_batch_topk"), digits)
    before = pickle.dumps(sae)
    sae.set_params(matryoshka_prefixes=prefixes, warm_start=True)
    with pytest.raises(ValueError, match="matryoshka_prefixes"):
        sae.fit(digits)
    with pytest.raises(ValueError, match="matryoshka_prefixes"):
        sae.partial_fit(digits)
    sae.set_params(matryoshka_prefixes=None, warm_start=False)
    assert pickle.dumps(sae) == before
    # the other rules ignore the prefixes
    _fit_quietly(_small(sparsity="batch_topk", matryoshka_prefixes=prefixes), digits)
