"""Each compiled kernel against its plain numpy formula (the oracle).

float32 and float64, odd shapes (one row, one column, blocks of unequal
size), extreme values with no warning, and several threads: the same thread
count gives the same bits, different counts agree to rounding.
"""

import os
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit, log_softmax, softmax
from threadpoolctl import threadpool_limits

from skl_sparse_ae import _kernels

DTYPES = [np.float32, np.float64]
# (1, 1) and one row; one column; 1031 x 37 has 38147 entries: two blocks of
# unequal size on two threads
SHAPES = [(1, 1), (1, 9), (7, 1), (5, 13), (1031, 37)]
RTOL = {np.float32: 2e-6, np.float64: 1e-13}
ATOL = {np.float32: 1e-7, np.float64: 1e-15}


def _data(shape, dtype, seed=0, scale=4.0):
    rng = np.random.RandomState(seed)
    z = (scale * rng.randn(*shape)).astype(dtype)
    b = rng.randn(shape[1]).astype(dtype)
    x = rng.rand(*shape).astype(dtype)
    return z, b, x


def _no_warnings(fun, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fun(*args)


def test_openmp_is_built():
    """The kernels run on threads: fails when the build silently lost OpenMP.

    A build without OpenMP works (on one thread); set
    SKL_SPARSE_AE_SKIP_OPENMP_TEST=1 to accept one knowingly.
    """
    if os.environ.get("SKL_SPARSE_AE_SKIP_OPENMP_TEST", "0") not in ("", "0"):
        pytest.skip("SKL_SPARSE_AE_SKIP_OPENMP_TEST is set")
    assert _kernels.OPENMP_ENABLED, (
        "skl_sparse_ae._kernels was built without OpenMP; rebuild with a "
        "compiler that supports it (see setup.py)."
    )
    # the suite runs BLAS on one thread: the kernels may use both cores
    with threadpool_limits(limits=2, user_api="openmp"):
        assert _kernels.effective_n_threads() == 2
    with threadpool_limits(limits=1, user_api="openmp"):
        assert _kernels.effective_n_threads() == 1


def test_kernels_leave_the_cores_of_a_multithreaded_blas():
    """BLAS on 2 threads and OpenMP on 2: the kernels take 2 // 2 = 1."""
    with threadpool_limits(limits=2, user_api="openmp"):
        with threadpool_limits(limits=2, user_api="blas"):
            assert _kernels.effective_n_threads() == 1
        with threadpool_limits(limits=1, user_api="blas"):
            assert _kernels.effective_n_threads() == 2


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("with_sums", [False, True])
def test_sigmoid_bias(dtype, shape, with_sums):
    z, b, _ = _data(shape, dtype)
    expected = expit(z.astype(np.float64) + b)
    sums = np.zeros(shape[1]) if with_sums else None
    out = z.copy()
    _kernels.sigmoid_bias(out, b, sums)
    assert out.dtype == dtype
    assert_allclose(out, expected, rtol=RTOL[dtype], atol=ATOL[dtype])
    if with_sums:
        assert_allclose(sums, out.sum(axis=0, dtype=np.float64), rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_bias_extreme_values(dtype):
    """Saturates at exactly 0 and 1 with no overflow warning, as expit."""
    z = np.array([[-1e4, -100.0, -50.0, -1.0, 0.0, 1.0, 50.0, 100.0, 1e4]], dtype)
    out = z.copy()
    _no_warnings(_kernels.sigmoid_bias, out, np.zeros(z.shape[1], dtype))
    assert_allclose(out, expit(z.astype(np.float64)), rtol=1e-6, atol=1e-30)
    assert out[0, 0] == 0 and out[0, -1] == 1
    nan = np.array([[np.nan]], dtype)
    _kernels.sigmoid_bias(nan, np.zeros(1, dtype))
    assert np.isnan(nan[0, 0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("sigmoid", [True, False])
def test_output_delta(dtype, shape, sigmoid):
    z, b, x = _data(shape, dtype)
    z64 = z.astype(np.float64) + b
    h = expit(z64) if sigmoid else z64
    r = h - x
    fprime = h * (1 - h) if sigmoid else 1.0
    scale = 1.0 / 3
    expected_delta = scale * r * fprime
    sums = np.full(shape[1], 0.5)  # added to, not overwritten
    out = z.copy()
    squared = _kernels.output_delta(out, b, x, sigmoid, scale, sums)
    assert isinstance(squared, float)
    assert squared == pytest.approx(np.sum(r**2), rel=10 * RTOL[dtype])
    assert_allclose(out, expected_delta, rtol=10 * RTOL[dtype], atol=ATOL[dtype])
    assert_allclose(sums, 0.5 + out.sum(axis=0, dtype=np.float64), rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_output_delta_extreme_values(dtype):
    z = np.array([[-1e4, -90.0, 0.0, 90.0, 1e4]], dtype)
    x = np.array([[0.0, 1.0, 0.5, 0.0, 1.0]], dtype)
    out = z.copy()
    squared = _no_warnings(
        _kernels.output_delta, out, np.zeros(5, dtype), x, True, 1.0, np.zeros(5)
    )
    h = expit(z.astype(np.float64))
    assert squared == pytest.approx(np.sum((h - x) ** 2), rel=1e-6)
    assert np.all(np.isfinite(out))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("with_add", [False, True])
def test_hidden_delta(dtype, shape, with_add):
    d, add, a = _data(shape, dtype)
    add = add if with_add else None
    expected = (d.astype(np.float64) + (0 if add is None else add)) * a * (1 - a)
    sums = np.zeros(shape[1])
    out = d.copy()
    _kernels.hidden_delta(out, a, add, sums)
    assert_allclose(out, expected, rtol=10 * RTOL[dtype], atol=ATOL[dtype])
    assert_allclose(sums, out.sum(axis=0, dtype=np.float64), rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_softmax_cross_entropy(dtype, shape):
    z, b, _ = _data(shape, dtype, scale=10.0)
    rng = np.random.RandomState(1)
    y = np.eye(shape[1], dtype=dtype)[rng.randint(shape[1], size=shape[0])]
    logits = z.astype(np.float64) + b
    expected_loss = -np.sum(y * log_softmax(logits, axis=1))
    scale = 1.0 / shape[0]
    sums = np.zeros(shape[1])
    out = z.copy()
    loss = _kernels.softmax_cross_entropy(out, b, y, scale, sums)
    assert loss == pytest.approx(expected_loss, rel=10 * RTOL[dtype], abs=1e-6)
    expected = scale * (softmax(logits, axis=1) - y)
    assert_allclose(out, expected, rtol=10 * RTOL[dtype], atol=10 * ATOL[dtype])
    assert_allclose(sums, out.sum(axis=0, dtype=np.float64), rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_cross_entropy_extreme_logits(dtype):
    """A true class far below the others: the exact log-sum-exp, no warning."""
    z = np.array([[-1e4, 0.0, 1e4], [500.0, -500.0, 0.0]], dtype)
    y = np.array([[1, 0, 0], [0, 1, 0]], dtype)
    out = z.copy()
    loss = _no_warnings(
        _kernels.softmax_cross_entropy, out, np.zeros(3, dtype), y, 1.0, np.zeros(3)
    )
    assert loss == pytest.approx(2e4 + 1000.0, rel=1e-6)
    assert_allclose(out, softmax(z.astype(np.float64), axis=1) - y, atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 7, 40001])
def test_axpy(dtype, n):
    rng = np.random.RandomState(0)
    y, x = rng.randn(2, n).astype(dtype)
    out = y.copy()
    _kernels.axpy(out, x, 0.3)
    assert_allclose(out, y + dtype(0.3) * x, rtol=RTOL[dtype], atol=ATOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 7, 40001])
def test_adam_step(dtype, n):
    rng = np.random.RandomState(0)
    theta, g, m = rng.randn(3, n).astype(dtype)
    v = rng.rand(n).astype(dtype)
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 1e-3
    m_new = b1 * m.astype(np.float64) + (1 - b1) * g
    v_new = b2 * v.astype(np.float64) + (1 - b2) * g.astype(np.float64) ** 2
    expected = theta - lr * m_new / (np.sqrt(v_new) + eps)
    got = [a.copy() for a in (theta, m, v)]
    _kernels.adam_step(got[0], g, got[1], got[2], lr, b1, b2, eps)
    for a, e in zip(got, (expected, m_new, v_new)):
        assert a.dtype == dtype
        assert_allclose(a, e, rtol=10 * RTOL[dtype], atol=ATOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nesterov", [True, False])
def test_sgd_step(dtype, nesterov):
    rng = np.random.RandomState(0)
    theta, g, vel = rng.randn(3, 40001).astype(dtype)
    lr, mu = 0.1, 0.9
    vel_new = mu * vel.astype(np.float64) - lr * g
    step = mu * vel_new - lr * g if nesterov else vel_new
    got_theta, got_vel = theta.copy(), vel.copy()
    _kernels.sgd_step(got_theta, g, got_vel, lr, mu, nesterov)
    assert_allclose(got_vel, vel_new, rtol=10 * RTOL[dtype], atol=ATOL[dtype])
    assert_allclose(
        got_theta, theta + step, rtol=10 * RTOL[dtype], atol=10 * ATOL[dtype]
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_rows", [1, 5, 3000])
def test_take_rows(dtype, n_rows):
    rng = np.random.RandomState(0)
    src = rng.randn(3000, 11).astype(dtype)
    rows = rng.permutation(3000)[:n_rows]
    out = np.empty((n_rows, 11), dtype)
    _kernels.take_rows(src, rows, out)
    assert_array_equal(out, src[rows])


def test_shape_and_dtype_errors():
    z, b, x = _data((4, 3), np.float64)
    with pytest.raises(ValueError, match="b must have 3 entries"):
        _kernels.sigmoid_bias(z, b[:2])
    with pytest.raises(ValueError, match="x must have the shape of z"):
        _kernels.output_delta(z, b, x[:2], True, 1.0, np.zeros(3))
    with pytest.raises(ValueError, match="col_sums must have 3 entries"):
        _kernels.hidden_delta(z, x, None, np.zeros(4))
    with pytest.raises(ValueError, match="out must have shape"):
        _kernels.take_rows(z, np.arange(2), np.empty((3, 3)))
    # one dtype per call: a float32 intercept with float64 activations is refused
    with pytest.raises((TypeError, ValueError)):
        _kernels.sigmoid_bias(z, b.astype(np.float32))


def _all_kernels(dtype):
    """Run every kernel on one set of inputs; return all the outputs."""
    z, b, x = _data((1031, 37), dtype)
    y = np.eye(37, dtype=dtype)[np.arange(1031) % 37]
    results = []
    out, sums = z.copy(), np.zeros(37)
    _kernels.sigmoid_bias(out, b, sums)
    results += [out, sums]
    out, sums = z.copy(), np.zeros(37)
    results += [np.array(_kernels.output_delta(out, b, x, True, 0.5, sums)), out, sums]
    out, sums = z.copy(), np.zeros(37)
    _kernels.hidden_delta(out, x, b, sums)
    results += [out, sums]
    out, sums = z.copy(), np.zeros(37)
    results += [np.array(_kernels.softmax_cross_entropy(out, b, y, 0.5, sums)), sums]
    theta, m, v = z.ravel().copy(), x.ravel().copy(), x.ravel().copy()
    _kernels.adam_step(theta, z.ravel(), m, v, 1e-3, 0.9, 0.999, 1e-8)
    results += [theta, m, v]
    return results


@pytest.mark.parametrize("dtype", DTYPES)
def test_threads_same_bits_for_same_count_and_rounding_across_counts(dtype):
    runs = {}
    for n_threads in (1, 2, 2):
        with threadpool_limits(limits=n_threads, user_api="openmp"):
            runs.setdefault(n_threads, []).append(_all_kernels(dtype))
    for a, b in zip(*runs[2]):
        assert_array_equal(a, b)
    for a, b in zip(runs[1][0], runs[2][0]):
        assert_allclose(a, b, rtol=1e-5 if dtype == np.float32 else 1e-12)


def _dropout_oracle(shape, keep, scale, seed, src=None):
    """The kernel's mask in numpy: lowbias32 of (index * golden + seed)."""
    index = np.arange(int(np.prod(shape)), dtype=np.uint64)
    x = (index * 0x9E3779B9 + seed) & 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x7FEB352D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x846CA68B) & 0xFFFFFFFF
    x ^= x >> 16
    threshold = min(int(keep * 2**32), 2**32 - 1)
    kept = (x < threshold).reshape(shape)
    values = np.ones(shape) if src is None else src.astype(np.float64)
    return np.where(kept, values * scale, 0.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("with_src", [False, True])
def test_dropout(dtype, shape, with_src):
    _, _, x = _data(shape, dtype)
    out = np.full(shape, np.nan, dtype=dtype)
    src = x if with_src else None
    _kernels.dropout(out, 0.7, 1 / 0.7, 12345, src)
    expected = _dropout_oracle(shape, 0.7, 1 / 0.7, 12345, src)
    assert_allclose(out, expected.astype(dtype), rtol=RTOL[dtype])
    if shape == (1031, 37):
        assert (out != 0).mean() == pytest.approx(0.7, abs=0.01)
        other = np.empty_like(out)
        _kernels.dropout(other, 0.7, 1 / 0.7, 12346, src)
        # another seed, another mask, as likely to keep as to drop together
        assert ((out != 0) == (other != 0)).mean() == pytest.approx(0.58, abs=0.01)


def test_dropout_keeps_all_or_nothing_and_checks_its_arguments():
    out = np.empty((50, 40), dtype=np.float32)
    _kernels.dropout(out, 1.0, 1.0, 7)
    assert (out == 1).mean() > 0.999
    _kernels.dropout(out, 0.0, 1.0, 7)
    assert np.all(out == 0)
    with pytest.raises(ValueError, match="keep"):
        _kernels.dropout(out, 1.5, 1.0, 7)
    with pytest.raises(ValueError, match="shape"):
        _kernels.dropout(out, 0.5, 1.0, 7, np.ones((50, 41), dtype=np.float32))


def test_dropout_mask_does_not_depend_on_the_threads():
    masks = []
    for n_threads in (1, 2):
        out = np.empty((1031, 37))
        with threadpool_limits(limits=n_threads, user_api="openmp"):
            _kernels.dropout(out, 0.5, 2.0, 99)
        masks.append(out)
    assert_array_equal(*masks)
