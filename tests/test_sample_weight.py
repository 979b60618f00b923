"""sample_weight in fit and partial_fit of both estimators.

Integer weights are repeated rows (full-batch L-BFGS, to rounding); None and
all-ones weights give the same bits as no weights; bad weights get
scikit-learn's own errors and leave a fitted estimator as it was.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from skl_sparse_ae import SparseAutoencoderTransformer, StackedSparseAEClassifier

pytestmark = pytest.mark.filterwarnings(
    # the fits here are short on purpose
    "ignore::sklearn.exceptions.ConvergenceWarning"
)


def _data(n=40, d=12, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.rand(n, d)
    X[X < 0.3] = 0
    y = rng.randint(0, 3, size=n)
    sw = rng.randint(0, 4, size=n)
    sw[:3] = [1, 2, 3]  # every class keeps a positive weight
    y[:3] = [0, 1, 2]
    return X, y, sw


def _autoencoder(**params):
    return SparseAutoencoderTransformer(
        n_components=5, max_iter=15, random_state=0, **params
    )


def _stacked(**params):
    defaults = dict(
        hidden_layer_sizes=(6,),
        pretrain_solver="lbfgs",
        pretrain_max_iter=8,
        softmax_max_iter=8,
        fine_tune_solver="lbfgs",
        fine_tune_max_iter=8,
        random_state=0,
    )
    return StackedSparseAEClassifier(**{**defaults, **params})


@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix])
def test_integer_weights_are_repeated_rows_lbfgs(container):
    X, y, sw = _data()
    Xr, yr = np.repeat(X, sw, axis=0), np.repeat(y, sw)

    weighted = _autoencoder().fit(container(X), sample_weight=sw)
    repeated = _autoencoder().fit(container(Xr))
    assert weighted.loss_ == pytest.approx(repeated.loss_, rel=1e-9)
    assert_allclose(weighted.transform(X), repeated.transform(X), rtol=1e-7)
    assert_allclose(weighted.mean_activation_, repeated.mean_activation_, rtol=1e-7)

    weighted = _stacked().fit(container(X), y, sample_weight=sw)
    repeated = _stacked().fit(container(Xr), yr)
    assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), rtol=1e-7)
    assert weighted.pretrain_score_ == pytest.approx(repeated.pretrain_score_)


@pytest.mark.parametrize("solver", ["lbfgs", "adam", "sgd"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unit_weights_are_no_weights_bit_for_bit(solver, dtype):
    X, y, _ = _data()
    X = X.astype(dtype)
    ones = np.ones(X.shape[0])
    fits = [
        _autoencoder(solver=solver).fit(X),
        _autoencoder(solver=solver).fit(X, sample_weight=None),
        _autoencoder(solver=solver).fit(X, sample_weight=ones),
    ]
    for fit in fits[1:]:
        for a, b in zip(
            fits[0].coefs_ + fits[0].intercepts_, fit.coefs_ + fit.intercepts_
        ):
            assert_array_equal(a, b)
        assert fit.loss_ == fits[0].loss_

    stacked = [
        _stacked(pretrain_solver=solver, fine_tune_solver=solver).fit(X, y, **kw)
        for kw in ({}, {"sample_weight": None}, {"sample_weight": ones})
    ]
    for fit in stacked[1:]:
        assert_array_equal(fit.predict_proba(X), stacked[0].predict_proba(X))
        assert fit.loss_ == stacked[0].loss_


def test_unit_weights_in_partial_fit_bit_for_bit():
    X, y, _ = _data()
    ones = np.ones(X.shape[0])
    a = _autoencoder(solver="adam").partial_fit(X).partial_fit(X)
    b = _autoencoder(solver="adam").partial_fit(X, sample_weight=ones)
    b.partial_fit(X, sample_weight=ones)
    assert_array_equal(a.coefs_[0], b.coefs_[0])
    c = _stacked(fine_tune_solver="adam").partial_fit(X, y, classes=[0, 1, 2])
    d = _stacked(fine_tune_solver="adam").partial_fit(
        X, y, classes=[0, 1, 2], sample_weight=ones
    )
    assert_array_equal(c.predict_proba(X), d.predict_proba(X))


def test_weights_change_the_model():
    """A test that weights are used at all: heavy rows pull the fit."""
    X, y, _ = _data()
    sw = np.ones(X.shape[0])
    sw[:10] = 20
    plain = _autoencoder().fit(X)
    weighted = _autoencoder().fit(X, sample_weight=sw)
    assert not np.allclose(plain.coefs_[0], weighted.coefs_[0])
    # the heavy rows are reconstructed better than without weights
    error = [-m.score(X[:10]) for m in (plain, weighted)]
    assert error[1] < error[0]


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_minibatch_and_early_stopping_accept_weights(solver):
    X, y, sw = _data(n=120)
    ae = _autoencoder(solver=solver, early_stopping=True).fit(X, sample_weight=sw)
    assert len(ae.validation_scores_) == ae.n_iter_
    clf = _stacked(
        pretrain_solver=solver, fine_tune_solver=solver, fine_tune_early_stopping=True
    ).fit(X, y, sample_weight=sw)
    assert len(clf.validation_scores_) == clf.n_iter_
    assert 0 <= clf.best_validation_score_ <= 1


@pytest.mark.parametrize("make", [_autoencoder, _stacked])
@pytest.mark.parametrize(
    "weights, error, match",
    [
        (-np.ones(40), ValueError, "Negative values in data passed to"),
        (np.ones(39), ValueError, r"sample_weight.shape == \(39,\), expected \(40,\)"),
        (np.ones((40, 2)), ValueError, "Sample weights must be 1D"),
        (np.zeros(40), ValueError, "non-zero|sums to zero"),
        (np.full(40, np.nan), ValueError, "NaN"),
    ],
)
def test_bad_weights_raise_and_leave_the_estimator_unchanged(
    make, weights, error, match
):
    X, y, _ = _data()
    est = make()
    args = (X,) if isinstance(est, SparseAutoencoderTransformer) else (X, y)
    est.fit(*args)
    before = {
        k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in vars(est).items()
    }
    coefs = [c.copy() for c in est.coefs_]
    with pytest.raises(error, match=match):
        clone(est).fit(*args, sample_weight=weights)
    with pytest.raises(error, match=match):
        est.fit(*args, sample_weight=weights)
    assert set(vars(est)) == set(before)
    for a, b in zip(coefs, est.coefs_):
        assert_array_equal(a, b)


@pytest.mark.parametrize("rule", ["topk", "l1", "jumprelu"])
def test_topk_objective_weights_equal_repeated_rows(rule):
    """Integer weights give the TopK objective of repeated rows: datafit,
    the L1 and L0 penalties, JumpReLU's pseudo-gradients and AuxK, value and
    gradient."""
    from skl_sparse_ae._params import pack
    from skl_sparse_ae._topk_objective import (
        SPARSITY,
        SparsitySettings,
        init_parameters,
        topk_loss_grad,
    )

    rng = np.random.RandomState(0)
    X = rng.normal(size=(12, 5))
    weights = rng.randint(0, 4, size=12).astype(float)
    weights[0] = 2.0
    n_components = 7
    sparsity = SPARSITY[rule](
        SparsitySettings(k=2, l1_weight=0.3, l0_weight=0.2, jumprelu_bandwidth=0.5)
    )
    own = sparsity.init_parameters(n_components, X.dtype)
    theta = pack(list(init_parameters(X, n_components, rng, "mean")) + own)
    theta += 0.1 * rng.normal(size=theta.shape)
    dead = np.zeros(n_components, dtype=bool)
    dead[[1, 4, 5]] = True
    options = dict(
        sparsity=sparsity,
        loss_scale=1.7,
        penalty_scale=0.4,
        dead=dead,
        k_aux=2,
        aux_weight=0.5,
    )
    loss_w, grad_w, _ = topk_loss_grad(
        theta, X, n_components, sample_weight=weights, **options
    )
    repeated = np.repeat(X, weights.astype(int), axis=0)
    loss_r, grad_r, _ = topk_loss_grad(theta, repeated, n_components, **options)
    assert loss_w == pytest.approx(loss_r, rel=1e-12)
    assert_allclose(grad_w, grad_r, rtol=1e-10, atol=1e-12)


def test_topk_fit_takes_sample_weight_and_checks_it():
    from skl_sparse_ae import TopKSparseAutoencoder

    X = np.random.RandomState(0).uniform(size=(40, 6))
    sae = TopKSparseAutoencoder(n_components=8, k=2, max_iter=2, random_state=0)
    with pytest.raises(ValueError, match="sample_weight"):
        sae.fit(X, sample_weight=np.ones(3))
    assert not hasattr(sae, "coefs_")
    with pytest.raises(ValueError, match="[Nn]egative"):
        sae.fit(X, sample_weight=-np.ones(40))
    zero = np.ones(40)
    zero[:20] = 0
    with pytest.warns(ConvergenceWarning):
        sae.fit(X, sample_weight=zero)
    sae.partial_fit(X, sample_weight=np.ones(40))  # one epoch: no warning
    assert sae.n_iter_ == 3
    assert sae.transform(X).shape == (40, 8)
