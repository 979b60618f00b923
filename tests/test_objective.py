"""The pure math: each term alone, then the objectives against finite differences."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit, log_softmax

from skl_sparse_ae._objective import (
    decode,
    encode,
    inplace_softmax,
    kl_sparsity,
    mean_activation,
    network_loss_grad,
    reconstruction_error,
    sigmoid_layer,
    sparse_autoencoder_loss_grad,
    weight_decay,
)
from skl_sparse_ae._params import Workspace, init_layer, layer_shapes, pack, unpack


def _central_differences(fun, theta, eps=1e-6):
    grad = np.empty_like(theta)
    for i in range(theta.size):
        step = np.zeros_like(theta)
        step[i] = eps
        grad[i] = (fun(theta + step) - fun(theta - step)) / (2 * eps)
    return grad


def _relative_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a + b), 1e-300)


def _random_autoencoder(n_features, n_components, seed=0, dtype=np.float64):
    rng = np.random.RandomState(seed)
    W1, b1 = init_layer(n_features, n_components, dtype, rng)
    W2, b2 = init_layer(n_components, n_features, dtype, rng)
    # non-zero intercepts so their gradients are exercised too
    b1 += rng.normal(scale=0.1, size=b1.shape)
    b2 += rng.normal(scale=0.1, size=b2.shape)
    return pack([W1, b1, W2, b2])


def test_pack_unpack_round_trip():
    shapes = layer_shapes((5, 3, 5))
    assert shapes == [(5, 3), (3,), (3, 5), (5,)]
    arrays = [np.random.RandomState(i).rand(*s) for i, s in enumerate(shapes)]
    theta = pack(arrays)
    views = unpack(theta, shapes)
    for a, v in zip(arrays, views):
        assert_allclose(a, v)
        assert np.shares_memory(v, theta)
    with pytest.raises(ValueError, match="entries"):
        unpack(theta[:-1], shapes)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix])
def test_sigmoid_layer_matches_expit_without_warnings(dtype, container):
    rng = np.random.RandomState(0)
    X = rng.normal(scale=30, size=(6, 4)).astype(dtype)
    X[X < 0] = 0  # zeros for the sparse container
    W = rng.normal(size=(4, 3)).astype(dtype)
    b = np.array([-1e4, 0.5, 1e4], dtype=dtype)
    out = np.empty((6, 3), dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = sigmoid_layer(container(X), W, b, out)
    assert result is out
    assert_allclose(out, expit(X.astype(np.float64) @ W + b), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mean_activation_over_chunks(dtype):
    rng = np.random.RandomState(0)
    X = rng.rand(23, 5).astype(dtype)
    W, b = init_layer(5, 3, dtype, rng)
    expected = encode(X, W, b).astype(np.float64).mean(axis=0)
    for chunk_size in (1, 4, 23, 100):
        rho_hat = mean_activation(X, W, b, chunk_size=chunk_size)
        assert rho_hat.dtype == dtype
        assert_allclose(rho_hat, expected, rtol=1e-6)


def test_inplace_softmax_is_stable():
    z = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])
    p = inplace_softmax(z.copy())
    assert_allclose(p.sum(axis=1), 1.0)
    assert_allclose(np.log(p[1]), log_softmax(z[1]))


def test_weight_decay_value():
    W1, W2 = np.ones((2, 3)), 2 * np.ones((3, 2))
    assert weight_decay([W1, W2], 0.5) == pytest.approx(0.25 * (6 + 24))
    assert weight_decay([W1, W2], [1.0, 0.0]) == pytest.approx(3.0)


def test_kl_sparsity_value_and_derivative():
    rho = 0.05
    rho_hat = np.array([0.01, 0.05, 0.3, 0.9])
    value, grad = kl_sparsity(rho_hat.copy(), rho)
    expected = np.sum(
        rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))
    )
    assert value == pytest.approx(expected)
    assert grad[1] == pytest.approx(0.0, abs=1e-12)  # KL is flat at rho_hat = rho
    numeric = _central_differences(lambda r: kl_sparsity(r, rho)[0], rho_hat)
    assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("decoder", ["sigmoid", "linear"])
@pytest.mark.parametrize("sparsity_weight", [0.0, 3.0])
@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix])
def test_sparse_autoencoder_gradient(decoder, sparsity_weight, container):
    """Eqs. (6)-(9) against central differences of eq. (5), in float64."""
    rng = np.random.RandomState(0)
    X = rng.rand(12, 7)
    X[X < 0.3] = 0.0
    if decoder == "linear":
        X = 4 * X - 1
    X = container(X)
    theta = _random_autoencoder(7, 4)
    hyper = dict(
        alpha=1e-3,
        sparsity_target=0.1,
        sparsity_weight=sparsity_weight,
        decoder=decoder,
    )
    loss, grad = sparse_autoencoder_loss_grad(theta, X, 4, **hyper)

    def value(t):
        return sparse_autoencoder_loss_grad(t, X, 4, **hyper)[0]

    numeric = _central_differences(value, theta)
    assert _relative_error(grad, numeric) < 1e-6
    assert loss == pytest.approx(value(theta))


def test_sparse_autoencoder_loss_is_equation_5():
    """The value is eq. (5) written out independently, term by term."""
    rng = np.random.RandomState(1)
    X = rng.rand(20, 6)
    theta = _random_autoencoder(6, 3)
    W1, b1, W2, b2 = unpack(theta, layer_shapes((6, 3, 6)))
    alpha, rho, beta = 0.01, 0.05, 3.0
    a2 = expit(X @ W1 + b1)
    h = expit(a2 @ W2 + b2)
    rho_hat = a2.mean(axis=0)
    expected = (
        np.mean(0.5 * np.sum((h - X) ** 2, axis=1))
        + alpha / 2 * (np.sum(W1**2) + np.sum(W2**2))
        + beta
        * np.sum(
            rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))
        )
    )
    loss, _ = sparse_autoencoder_loss_grad(
        theta,
        X,
        3,
        alpha=alpha,
        sparsity_target=rho,
        sparsity_weight=beta,
        decoder="sigmoid",
    )
    assert loss == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("decoder", ["sigmoid", "linear"])
@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix])
def test_row_blocks_give_the_full_batch_result(decoder, container):
    """The backward pass computed a block of rows at a time: same J, same gradient."""
    rng = np.random.RandomState(5)
    X = rng.rand(23, 6)
    X[X < 0.3] = 0
    X = container(X)
    theta = _random_autoencoder(6, 4)
    hyper = dict(alpha=1e-3, sparsity_target=0.1, sparsity_weight=3.0, decoder=decoder)
    whole = sparse_autoencoder_loss_grad(theta, X, 4, **hyper)
    for row_block in (1, 5, 22):
        blocks = sparse_autoencoder_loss_grad(theta, X, 4, row_block=row_block, **hyper)
        assert blocks[0] == pytest.approx(whole[0], rel=1e-12)
        assert_allclose(blocks[1], whole[1], rtol=1e-10, atol=1e-14)
    numeric = _central_differences(
        lambda t: sparse_autoencoder_loss_grad(t, X, 4, row_block=5, **hyper)[0], theta
    )
    assert _relative_error(blocks[1], numeric) < 1e-6


def test_workspace_reuse_gives_identical_results():
    rng = np.random.RandomState(2)
    X1, X2 = rng.rand(10, 5), rng.rand(7, 5)
    theta = _random_autoencoder(5, 3)
    hyper = dict(
        alpha=1e-3, sparsity_target=0.05, sparsity_weight=3.0, decoder="sigmoid"
    )
    ws = Workspace()
    for X in (X1, X2, X1):
        fresh = sparse_autoencoder_loss_grad(theta, X, 3, **hyper)
        reused = sparse_autoencoder_loss_grad(theta, X, 3, workspace=ws, **hyper)
        assert fresh[0] == reused[0]
        assert_allclose(fresh[1], reused[1], rtol=0, atol=0)


def test_sparse_autoencoder_float32_stays_float32():
    rng = np.random.RandomState(3)
    X = rng.rand(16, 5).astype(np.float32)
    theta = _random_autoencoder(5, 3, dtype=np.float32)
    assert theta.dtype == np.float32
    loss64, grad64 = sparse_autoencoder_loss_grad(
        theta.astype(np.float64),
        X.astype(np.float64),
        3,
        alpha=1e-3,
        sparsity_target=0.05,
        sparsity_weight=3.0,
        decoder="sigmoid",
    )
    loss, grad = sparse_autoencoder_loss_grad(
        theta,
        X,
        3,
        alpha=1e-3,
        sparsity_target=0.05,
        sparsity_weight=3.0,
        decoder="sigmoid",
    )
    assert grad.dtype == np.float32
    assert loss == pytest.approx(loss64, rel=1e-5)
    assert_allclose(grad, grad64, rtol=1e-3, atol=1e-6)


def test_extreme_activations_stay_finite():
    """Saturated hidden units: rho_hat at 0 or 1 must not give inf or NaN."""
    X = np.full((4, 3), 1e6)
    theta = _random_autoencoder(3, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, grad = sparse_autoencoder_loss_grad(
            theta,
            X,
            2,
            alpha=0.0,
            sparsity_target=0.01,
            sparsity_weight=50.0,
            decoder="linear",
        )
    assert np.isfinite(loss)
    assert np.all(np.isfinite(grad))


def test_reconstruction_error_chunks():
    rng = np.random.RandomState(4)
    X = rng.rand(50, 4)
    theta = _random_autoencoder(4, 2)
    W1, b1, W2, b2 = unpack(theta, layer_shapes((4, 2, 4)))
    h = decode(encode(X, W1, b1), W2, b2, "sigmoid")
    expected = np.mean(0.5 * np.sum((h - X) ** 2, axis=1))
    for chunk_size in (7, 50, 1000):
        got = reconstruction_error(
            X, [W1, W2], [b1, b2], "sigmoid", chunk_size=chunk_size
        )
        assert got == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("hidden", [(), (5,), (6, 4)])
@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix])
def test_network_gradient(hidden, container):
    """Softmax cross-entropy + weight decay of every layer vs finite differences."""
    rng = np.random.RandomState(0)
    n_features, n_classes, m = 7, 3, 15
    X = rng.rand(m, n_features)
    X[X < 0.3] = 0
    X = container(X)
    Y = np.eye(n_classes)[rng.randint(n_classes, size=m)]
    sizes = (n_features, *hidden, n_classes)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        W, b = init_layer(n_in, n_out, np.float64, rng)
        params += [W, b + rng.normal(scale=0.1, size=n_out)]
    theta = pack(params)
    alpha = [1e-2 * (k + 1) for k in range(len(sizes) - 1)]
    loss, grad = network_loss_grad(theta, X, Y, sizes, alpha=alpha)
    numeric = _central_differences(
        lambda t: network_loss_grad(t, X, Y, sizes, alpha=alpha)[0], theta
    )
    assert _relative_error(grad, numeric) < 1e-6

    # the value, written out independently
    a = X.toarray() if sp.issparse(X) else X
    coefs = unpack(theta, layer_shapes(sizes))
    for W, b in zip(coefs[0:-2:2], coefs[1:-2:2]):
        a = expit(a @ W + b)
    logp = log_softmax(a @ coefs[-2] + coefs[-1], axis=1)
    expected = -np.mean(np.sum(Y * logp, axis=1)) + sum(
        0.5 * al * np.sum(W**2) for al, W in zip(alpha, coefs[0::2])
    )
    assert loss == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("decoder", ["sigmoid", "linear"])
@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix])
def test_sparse_autoencoder_sample_weight(decoder, container):
    """Integer weights are repeated rows; ones are no weights, bit for bit."""
    rng = np.random.RandomState(7)
    X = rng.rand(9, 6)
    X[X < 0.3] = 0
    sw = np.array([0, 1, 2, 3, 1, 0, 4, 1, 2])
    theta = _random_autoencoder(6, 4)
    hyper = dict(alpha=1e-3, sparsity_target=0.1, sparsity_weight=3.0, decoder=decoder)
    weighted = sparse_autoencoder_loss_grad(
        theta, container(X), 4, sample_weight=sw, row_block=4, **hyper
    )
    repeated = sparse_autoencoder_loss_grad(
        theta, container(np.repeat(X, sw, axis=0)), 4, **hyper
    )
    assert weighted[0] == pytest.approx(repeated[0], rel=1e-12)
    assert_allclose(weighted[1], repeated[1], rtol=1e-10, atol=1e-14)

    numeric = _central_differences(
        lambda t: sparse_autoencoder_loss_grad(
            t, container(X), 4, sample_weight=sw * 0.5, **hyper
        )[0],
        theta,
    )
    analytic = sparse_autoencoder_loss_grad(
        theta, container(X), 4, sample_weight=sw * 0.5, **hyper
    )[1]
    assert _relative_error(analytic, numeric) < 1e-6

    for dtype in (np.float32, np.float64):
        t, Xd = theta.astype(dtype), container(X.astype(dtype))
        none = sparse_autoencoder_loss_grad(t, Xd, 4, **hyper)
        ones = sparse_autoencoder_loss_grad(t, Xd, 4, sample_weight=np.ones(9), **hyper)
        assert none[0] == ones[0]
        assert_array_equal(none[1], ones[1])


@pytest.mark.parametrize("hidden", [(), (5,)])
def test_network_sample_weight(hidden):
    rng = np.random.RandomState(8)
    X = rng.rand(10, 7)
    Y = np.eye(3)[rng.randint(3, size=10)]
    sw = np.array([1, 0, 3, 2, 1, 1, 0, 2, 5, 1])
    sizes = (7, *hidden, 3)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        W, b = init_layer(n_in, n_out, np.float64, rng)
        params += [W, b + rng.normal(scale=0.1, size=n_out)]
    theta = pack(params)
    weighted = network_loss_grad(theta, X, Y, sizes, alpha=1e-2, sample_weight=sw)
    repeated = network_loss_grad(
        theta, np.repeat(X, sw, axis=0), np.repeat(Y, sw, axis=0), sizes, alpha=1e-2
    )
    assert weighted[0] == pytest.approx(repeated[0], rel=1e-12)
    assert_allclose(weighted[1], repeated[1], rtol=1e-10, atol=1e-14)
    numeric = _central_differences(
        lambda t: network_loss_grad(t, X, Y, sizes, alpha=1e-2, sample_weight=sw)[0],
        theta,
    )
    assert _relative_error(weighted[1], numeric) < 1e-6
    ones = network_loss_grad(theta, X, Y, sizes, alpha=1e-2, sample_weight=np.ones(10))
    none = network_loss_grad(theta, X, Y, sizes, alpha=1e-2)
    assert ones[0] == none[0]
    assert_array_equal(ones[1], none[1])


def test_weighted_means():
    rng = np.random.RandomState(9)
    X = rng.rand(30, 4)
    sw = rng.randint(0, 3, size=30)
    theta = _random_autoencoder(4, 3)
    W1, b1, W2, b2 = unpack(theta, layer_shapes((4, 3, 4)))
    Xr = np.repeat(X, sw, axis=0)
    assert_allclose(
        mean_activation(X, W1, b1, chunk_size=7, sample_weight=sw),
        mean_activation(Xr, W1, b1),
        rtol=1e-12,
    )
    assert reconstruction_error(
        X, [W1, W2], [b1, b2], "sigmoid", chunk_size=7, sample_weight=sw
    ) == pytest.approx(reconstruction_error(Xr, [W1, W2], [b1, b2], "sigmoid"))
