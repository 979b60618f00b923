"""Denoising and tied autoencoders, dropout, max-norm and learning-rate schedules.

Each piece alone against its formula (gradient checks with the noise fixed),
then through the estimators: the noise never reaches ``transform`` or
``predict``, the schedule reaches its final rate, the options reach every
layer, and bad combinations are refused without changing the estimator.
"""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from scipy.optimize import check_grad
from scipy.special import expit
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from skl_sparse_ae import SparseAutoencoderTransformer, StackedSparseAEClassifier
from skl_sparse_ae._objective import (
    autoencoder_params,
    autoencoder_shapes,
    clip_column_norms,
    dropout_mask,
    masked_copy,
    network_forward,
    network_loss_grad,
    sparse_autoencoder_loss_grad,
)
from skl_sparse_ae._params import layer_shapes, pack, unpack
from skl_sparse_ae._solvers import LearningRateSchedule

AE_TERMS = dict(alpha=0.05, sparsity_target=0.1, sparsity_weight=2.0)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]


def _quiet_fit(estimator, *args, **kwargs):
    # the fits here are short on purpose: their ConvergenceWarning is expected
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(*args, **kwargs)


def _theta(shapes, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    return rng.normal(scale=scale, size=sum(int(np.prod(s)) for s in shapes))


# ---------------------------------------------------------------------------
# The noise


@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_masked_copy_zeroes_a_fraction_and_leaves_x_alone(container, dtype):
    rng = np.random.default_rng(0)
    dense = (rng.random((200, 50)) + 0.5).astype(dtype)
    X = container(dense)
    before = dense.copy()
    masked = masked_copy(X, 0.3, np.random.default_rng(1))
    masked = masked.toarray() if sp.issparse(masked) else masked
    assert masked.dtype == dtype
    kept = masked != 0
    assert kept.mean() == pytest.approx(0.7, abs=0.02)
    assert_array_equal(masked[kept], dense[kept])  # kept entries unchanged
    assert_array_equal(X.toarray() if sp.issparse(X) else X, before)


def test_masked_copy_rescaled_keeps_the_expectation():
    X = np.ones((400, 400))
    masked = masked_copy(X, 0.25, np.random.default_rng(0), rescale=True)
    assert set(np.unique(masked)) == {0.0, 1 / 0.75}
    assert masked.mean() == pytest.approx(1.0, abs=0.01)


def test_masked_copy_of_sparse_keeps_the_pattern():
    X = sp.random(50, 40, density=0.1, random_state=0, format="csr") + 0
    masked = masked_copy(X, 0.5, np.random.default_rng(0))
    assert sp.issparse(masked)
    # nothing appears where X is 0
    assert np.all((masked.toarray() != 0) <= (X.toarray() != 0))


def test_dropout_mask_values():
    mask = dropout_mask((300, 300), 0.4, np.random.default_rng(0), np.float32)
    assert mask.dtype == np.float32
    assert_allclose(np.unique(mask), [0.0, 1 / 0.6], rtol=1e-6)
    assert (mask == 0).mean() == pytest.approx(0.4, abs=0.01)


def test_clip_column_norms_matches_the_formula():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(20, 6)) * np.array([0.1, 1, 2, 3, 0.2, 5])
    expected = W.copy()
    for j in range(W.shape[1]):
        norm = np.linalg.norm(W[:, j])
        if norm > 2.0:
            expected[:, j] *= 2.0 / norm
    assert_allclose(clip_column_norms(W, 2.0), expected)
    assert np.all(np.linalg.norm(W, axis=0) <= 2.0 + 1e-12)


# ---------------------------------------------------------------------------
# The objectives with tied weights, corruption and dropout


@pytest.mark.parametrize("tied_weights", [False, True])
@pytest.mark.parametrize("decoder", ["sigmoid", "linear"])
@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix])
def test_autoencoder_gradient_with_tied_weights_and_corruption(
    tied_weights, decoder, container
):
    rng = np.random.default_rng(0)
    X = container(rng.random((9, 6)))
    inputs = masked_copy(X, 0.3, np.random.default_rng(1))  # the noise, fixed
    shapes = autoencoder_shapes(6, 4, tied_weights)

    def fun(theta):
        return sparse_autoencoder_loss_grad(
            theta,
            X,
            4,
            decoder=decoder,
            tied_weights=tied_weights,
            inputs=inputs,
            **AE_TERMS,
        )

    theta = _theta(shapes)
    assert check_grad(lambda t: fun(t)[0], lambda t: fun(t)[1], theta) < 1e-6


def test_tied_objective_is_the_untied_one_at_w2_equal_w1_transposed():
    rng = np.random.default_rng(0)
    X = rng.random((10, 6))
    W1, b1, b2 = unpack(_theta(autoencoder_shapes(6, 4, True)), [(6, 4), (4,), (6,)])
    terms = dict(decoder="sigmoid", **AE_TERMS)
    loss_tied, grad_tied = sparse_autoencoder_loss_grad(
        pack([W1, b1, b2]), X, 4, tied_weights=True, **terms
    )
    loss, grad = sparse_autoencoder_loss_grad(pack([W1, b1, W1.T, b2]), X, 4, **terms)
    assert loss_tied == pytest.approx(loss)
    dW1, db1, dW2, db2 = unpack(grad, layer_shapes((6, 4, 6)))
    # the chain rule through the shared matrix
    assert_allclose(pack([dW1 + dW2.T, db1, db2]), grad_tied)
    # the views of the tied vector: W2 is W1.T
    views = autoencoder_params(pack([W1, b1, b2]), 6, 4, tied_weights=True)
    assert_array_equal(views[2], W1.T)


def test_corrupted_inputs_change_only_the_encoder_side():
    rng = np.random.default_rng(0)
    X = rng.random((10, 6))
    theta = _theta(autoencoder_shapes(6, 4))
    terms = dict(decoder="sigmoid", **AE_TERMS)
    clean = sparse_autoencoder_loss_grad(theta, X, 4, inputs=X, **terms)
    plain = sparse_autoencoder_loss_grad(theta, X, 4, **terms)
    assert clean[0] == plain[0]
    assert_array_equal(clean[1], plain[1])
    noisy = sparse_autoencoder_loss_grad(
        theta, X, 4, inputs=masked_copy(X, 0.5, np.random.default_rng(0)), **terms
    )
    assert noisy[0] != plain[0]
    with pytest.raises(ValueError, match="inputs has shape"):
        sparse_autoencoder_loss_grad(theta, X, 4, inputs=X[:3], **terms)


@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix])
def test_network_gradient_with_dropout_masks(container):
    rng = np.random.default_rng(0)
    sizes = (6, 5, 4, 3)
    X = container(rng.random((8, 6)))
    Y = np.eye(3)[rng.integers(0, 3, 8)]
    masks = [
        dropout_mask((8, 5), 0.5, np.random.default_rng(1), np.float64),
        dropout_mask((8, 4), 0.25, np.random.default_rng(2), np.float64),
    ]

    def fun(theta):
        return network_loss_grad(theta, X, Y, sizes, alpha=0.01, dropout_masks=masks)

    theta = _theta(layer_shapes(sizes))
    assert check_grad(lambda t: fun(t)[0], lambda t: fun(t)[1], theta) < 1e-6
    # masks of ones are no dropout
    ones = [np.ones((8, 5)), None]
    with_ones = network_loss_grad(theta, X, Y, sizes, alpha=0.01, dropout_masks=ones)
    without = network_loss_grad(theta, X, Y, sizes, alpha=0.01)
    assert with_ones[0] == pytest.approx(without[0])
    assert_allclose(with_ones[1], without[1])
    with pytest.raises(ValueError, match="2 hidden layers"):
        network_loss_grad(theta, X, Y, sizes, alpha=0.01, dropout_masks=[None])


# ---------------------------------------------------------------------------
# Learning-rate schedules


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_schedule_decays_to_its_final_rate(kind):
    schedule = LearningRateSchedule(kind, 0.1, 11, 0.01)
    rates = [schedule(e) for e in range(15)]
    assert rates[0] == pytest.approx(0.1)
    assert rates[10] == pytest.approx(0.001)
    assert rates[14] == pytest.approx(0.001)  # stays there after max_iter
    assert np.all(np.diff(rates) <= 1e-15)
    middle = 0.001 + (0.1 - 0.001) / 2  # both pass the mean halfway
    assert rates[5] == pytest.approx(middle)
    if kind == "cosine":  # slow at both ends
        assert rates[0] - rates[1] < rates[4] - rates[5]


def test_constant_schedule_and_unknown_kind():
    assert LearningRateSchedule("constant", 0.1, 5, 0.01)(100) == 0.1
    with pytest.raises(ValueError, match="Unknown"):
        LearningRateSchedule("step", 0.1, 5, 0.01)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_fit_ends_at_the_final_rate(digits, solver, kind):
    X, _ = digits
    ae = SparseAutoencoderTransformer(
        n_components=8,
        solver=solver,
        learning_rate=kind,
        learning_rate_init=0.01,
        learning_rate_final_ratio=0.05,
        max_iter=4,
        random_state=0,
    )
    _quiet_fit(ae, X)
    assert ae._solver_state.optimizer.learning_rate == pytest.approx(5e-4)
    # the schedule changes the fit
    constant = _quiet_fit(
        SparseAutoencoderTransformer(
            **{**ae.get_params(), "learning_rate": "constant"}
        ),
        X,
    )
    assert not np.allclose(constant.coefs_[0], ae.coefs_[0])


def test_partial_fit_calls_are_the_epochs_of_the_decay(digits):
    X, _ = digits
    ae = SparseAutoencoderTransformer(
        n_components=8,
        solver="adam",
        learning_rate="linear",
        learning_rate_init=0.01,
        learning_rate_final_ratio=0.0,
        max_iter=3,
        random_state=0,
    )
    rates = []
    for _ in range(4):
        ae.partial_fit(X)
        rates.append(ae._solver_state.optimizer.learning_rate)
    assert_allclose(rates, [0.01, 0.005, 0.0, 0.0], atol=1e-15)


# ---------------------------------------------------------------------------
# SparseAutoencoderTransformer


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix])
def test_masked_input_never_reaches_transform(digits, solver, container):
    X = container(digits[0])
    ae = SparseAutoencoderTransformer(
        n_components=10,
        corruption_level=0.5,
        solver=solver,
        max_iter=5,
        random_state=0,
    )
    codes = _quiet_fit(ae, X).transform(X)
    dense = X.toarray() if sp.issparse(X) else X
    assert_allclose(codes, expit(dense @ ae.coefs_[0] + ae.intercepts_[0]))
    assert_array_equal(codes, ae.transform(X))  # no noise, no randomness
    assert_allclose(ae.mean_activation_, codes.mean(axis=0), rtol=1e-6)
    # the noise changed the training
    clean = _quiet_fit(
        SparseAutoencoderTransformer(**{**ae.get_params(), "corruption_level": 0.0}),
        X,
    )
    assert not np.allclose(clean.coefs_[0], ae.coefs_[0])


def test_corruption_is_reproducible(digits):
    X, _ = digits
    params = dict(n_components=8, corruption_level=0.3, solver="adam", max_iter=3)
    a = _quiet_fit(SparseAutoencoderTransformer(random_state=1, **params), X)
    b = _quiet_fit(SparseAutoencoderTransformer(random_state=1, **params), X)
    assert_array_equal(a.coefs_[0], b.coefs_[0])


def test_denoising_autoencoder_reconstructs_corrupted_inputs_better(digits):
    """What the denoising criterion is for: clean outputs from masked inputs."""
    X, _ = digits
    params = dict(n_components=32, solver="lbfgs", max_iter=200, random_state=0)
    plain = _quiet_fit(SparseAutoencoderTransformer(**params), X)
    denoising = _quiet_fit(
        SparseAutoencoderTransformer(corruption_level=0.4, **params), X
    )
    noisy = masked_copy(X, 0.4, np.random.default_rng(5))

    def error(ae):
        return np.mean((ae.inverse_transform(ae.transform(noisy)) - X) ** 2)

    assert error(denoising) < error(plain)


@pytest.mark.parametrize("solver", ["lbfgs", "adam", "sgd"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tied_weights_fit_keeps_the_shape_contract(digits, solver, dtype):
    X = digits[0].astype(dtype)
    ae = _quiet_fit(
        SparseAutoencoderTransformer(
            n_components=12,
            tied_weights=True,
            solver=solver,
            max_iter=5,
            random_state=0,
        ),
        X,
    )
    W1, W2 = ae.coefs_
    assert W1.shape == (64, 12) and W2.shape == (12, 64)
    assert W1.dtype == W2.dtype == dtype
    assert_array_equal(W2, W1.T)
    assert W2.flags.c_contiguous
    if solver != "lbfgs":  # one matrix: the optimiser's state has no W2
        assert ae._solver_state.optimizer.size == 64 * 12 + 12 + 64
    restored = pickle.loads(pickle.dumps(ae))
    assert_array_equal(restored.transform(X), ae.transform(X))


def test_warm_start_may_switch_to_tied_weights(digits):
    X, _ = digits
    ae = _quiet_fit(
        SparseAutoencoderTransformer(
            n_components=8, solver="adam", max_iter=3, warm_start=True, random_state=0
        ),
        X,
    )
    W1 = ae.coefs_[0].copy()
    _quiet_fit(ae.set_params(tied_weights=True, max_iter=1), X)
    assert_array_equal(ae.coefs_[1], ae.coefs_[0].T)
    assert np.abs(ae.coefs_[0] - W1).max() < 0.1  # continued, not restarted


def test_bad_corruption_level_leaves_the_estimator_unchanged(digits):
    X, _ = digits
    ae = SparseAutoencoderTransformer(n_components=4, max_iter=5, random_state=0)
    _quiet_fit(ae, X)
    saved = pickle.dumps(ae)
    for bad in (1.0, -0.1):
        with pytest.raises(ValueError, match="corruption_level"):
            ae.set_params(corruption_level=bad).fit(X)
    ae.set_params(corruption_level=0.0)
    assert pickle.dumps(ae) == saved


# ---------------------------------------------------------------------------
# StackedSparseAEClassifier

STACK = dict(
    hidden_layer_sizes=(16, 8),
    pretrain_max_iter=3,
    softmax_max_iter=30,
    fine_tune_max_iter=4,
    random_state=0,
)


def test_corruption_and_tied_weights_reach_each_autoencoder(digits):
    clf = _quiet_fit(
        StackedSparseAEClassifier(
            **STACK,
            fine_tune=False,
            corruption_level=[0.1, 0.3],
            tied_weights=[True, False],
        ),
        *digits,
    )
    got = [(ae.corruption_level, ae.tied_weights) for ae in clf.autoencoders_]
    assert got == [(0.1, True), (0.3, False)]
    assert_array_equal(clf.autoencoders_[0].coefs_[1], clf.autoencoders_[0].coefs_[0].T)
    scalar = _quiet_fit(
        StackedSparseAEClassifier(**STACK, corruption_level=0.2, tied_weights=True),
        *digits,
    )
    assert [ae.corruption_level for ae in scalar.autoencoders_] == [0.2, 0.2]
    assert all(ae.tied_weights for ae in scalar.autoencoders_)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"corruption_level": [0.1, 1.0]}, "corruption_level"),
        ({"corruption_level": [0.1, 0.2, 0.3]}, "one value per hidden layer"),
        ({"tied_weights": [True, "yes"]}, "tied_weights"),
        ({"fine_tune_dropout": [0.5, 1.0]}, "fine_tune_dropout"),
        ({"fine_tune_dropout": 1.0}, "fine_tune_dropout"),
        ({"fine_tune_input_dropout": -0.1}, "fine_tune_input_dropout"),
        ({"fine_tune_max_norm": 0.0}, "fine_tune_max_norm"),
        ({"fine_tune_learning_rate": "step"}, "fine_tune_learning_rate"),
        ({"pretrain_learning_rate": "step"}, "pretrain_learning_rate"),
        ({"learning_rate_final_ratio": 2.0}, "learning_rate_final_ratio"),
        (
            {"fine_tune_solver": "lbfgs", "fine_tune_dropout": 0.5},
            "need a minibatch fine_tune_solver",
        ),
        (
            {"fine_tune_solver": "lbfgs", "fine_tune_max_norm": 3.0},
            "need a minibatch fine_tune_solver",
        ),
    ],
)
def test_bad_regularisation_parameters_leave_the_classifier_unchanged(
    digits, params, match
):
    clf = _quiet_fit(StackedSparseAEClassifier(**STACK), *digits)
    saved = pickle.dumps(clf)
    with pytest.raises(ValueError, match=match):
        clf.set_params(**params).fit(*digits)
    clf.set_params(**StackedSparseAEClassifier(**STACK).get_params())
    assert pickle.dumps(clf) == saved


@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix])
def test_dropout_is_off_at_predict(digits, container):
    X, y = container(digits[0]), digits[1]
    clf = _quiet_fit(
        StackedSparseAEClassifier(
            **STACK, fine_tune_dropout=[0.5, 0.2], fine_tune_input_dropout=0.2
        ),
        X,
        y,
    )
    proba = clf.predict_proba(X)
    assert_array_equal(proba, clf.predict_proba(X))  # no randomness
    # the whole network, unscaled: inverted dropout needs no correction
    dense = X.toarray() if sp.issparse(X) else X
    expected = network_forward(dense, clf.coefs_, clf.intercepts_)[-1]
    assert_allclose(proba, expected, rtol=1e-6)
    # and dropout changed the training
    plain = _quiet_fit(
        StackedSparseAEClassifier(**STACK, fine_tune_input_dropout=0.0), X, y
    )
    assert_array_equal(plain.pretrained_coefs_[0], clf.pretrained_coefs_[0])
    assert not np.allclose(plain.coefs_[0], clf.coefs_[0])


def test_max_norm_holds_after_fine_tuning(digits):
    clf = _quiet_fit(
        StackedSparseAEClassifier(
            **STACK, fine_tune_max_norm=0.5, fine_tune_learning_rate_init=0.05
        ),
        *digits,
    )
    for coef in clf.coefs_:
        assert np.linalg.norm(coef, axis=0).max() <= 0.5 * (1 + 1e-5)
    # the pretrained weights were longer: the constraint did something
    assert max(np.linalg.norm(c, axis=0).max() for c in clf.pretrained_coefs_) > 0.5


def test_early_stopping_with_dropout_max_norm_and_schedule(digits):
    clf = _quiet_fit(
        StackedSparseAEClassifier(
            **{**STACK, "fine_tune_max_iter": 30, "hidden_layer_sizes": (32, 16)},
            pretrain_learning_rate_init=0.01,
            fine_tune_learning_rate_init=0.01,
            fine_tune_dropout=0.1,
            fine_tune_max_norm=50.0,
            fine_tune_learning_rate="cosine",
            fine_tune_early_stopping=True,
            n_iter_no_change=3,
        ),
        *digits,
    )
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.n_iter_ < 30  # stopped early
    assert clf.score(*digits) > 0.7


def test_fine_tuning_schedule_ends_at_its_final_rate(digits):
    clf = _quiet_fit(
        StackedSparseAEClassifier(
            **{**STACK, "tol": 0.0, "n_iter_no_change": 100},
            pretrain_learning_rate="linear",
            fine_tune_learning_rate="cosine",
            learning_rate_final_ratio=0.1,
            fine_tune_learning_rate_init=0.02,
        ),
        *digits,
    )
    assert clf.n_iter_ == STACK["fine_tune_max_iter"]
    assert clf._solver_state.optimizer.learning_rate == pytest.approx(0.002)
    assert all(ae.learning_rate == "linear" for ae in clf.autoencoders_)
    assert all(ae.learning_rate_final_ratio == 0.1 for ae in clf.autoencoders_)


def test_topk_autoencoder_follows_the_schedule_too(digits):
    from skl_sparse_ae import TopKSparseAutoencoder

    topk = TopKSparseAutoencoder(
        n_components=16,
        k=4,
        learning_rate="linear",
        learning_rate_init=0.01,
        learning_rate_final_ratio=0.1,
        max_iter=3,
        random_state=0,
    )
    _quiet_fit(topk, digits[0])
    assert topk._solver_state.optimizer.learning_rate == pytest.approx(1e-3)
