"""StackedSparseAEClassifier: pretraining, softmax, fine-tuning, predictions, errors."""

import pickle
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import train_test_split

from skl_sparse_ae import SparseAutoencoderTransformer, StackedSparseAEClassifier

# Small and fast settings for behaviour tests (the defaults are tested on digits).
FAST = dict(
    hidden_layer_sizes=(16, 8),
    pretrain_max_iter=5,
    softmax_max_iter=50,
    fine_tune_max_iter=5,
    random_state=0,
)


@pytest.fixture(scope="module")
def digits_split():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def small():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]


def _fit(clf, X, y, **kwargs):
    # the fits here are short on purpose: their ConvergenceWarning is expected
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clf.fit(X, y, **kwargs)


def test_defaults_reach_097_on_digits(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    clf = _fit(StackedSparseAEClassifier(random_state=0), X_train, y_train)
    assert clf.score(X_test, y_test) >= 0.97


def test_fine_tuning_improves_held_out_accuracy(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    params = dict(hidden_layer_sizes=(64, 32), random_state=0)
    before = _fit(
        StackedSparseAEClassifier(fine_tune=False, **params), X_train, y_train
    )
    after = _fit(StackedSparseAEClassifier(fine_tune=True, **params), X_train, y_train)
    assert after.score(X_test, y_test) > before.score(X_test, y_test) + 0.01
    # the same pretraining, whether or not fine-tuning follows
    for a, b in zip(before.pretrained_coefs_, after.pretrained_coefs_):
        assert_array_equal(a, b)


def test_pretraining_is_layer_wise(small):
    X, y = small
    clf = _fit(StackedSparseAEClassifier(fine_tune=False, **FAST), X, y)
    first, second = clf.autoencoders_
    assert isinstance(first, SparseAutoencoderTransformer)
    assert (first.n_features_in_, first.n_components) == (64, 16)
    assert (second.n_features_in_, second.n_components) == (16, 8)
    # layer 2 was fitted on layer 1's output: refitting it there reproduces it
    with pytest.warns(ConvergenceWarning, match="maximum iterations"):  # 5 epochs
        refit = SparseAutoencoderTransformer(**second.get_params()).fit(
            first.transform(X)
        )
    assert_allclose(refit.coefs_[0], second.coefs_[0])
    assert second.decoder_ == "sigmoid"
    # without fine-tuning the network's hidden layers are the encoders
    for k, ae in enumerate(clf.autoencoders_):
        assert_array_equal(clf.coefs_[k], ae.coefs_[0])
        assert_array_equal(clf.intercepts_[k], ae.intercepts_[0])
    assert clf.coefs_[-1].shape == (8, 10)
    assert clf.loss_curve_ == [] and clf.n_iter_ == 0
    # the network is sigmoid layers under a softmax, written out
    a = expit(
        expit(X @ clf.coefs_[0] + clf.intercepts_[0]) @ clf.coefs_[1]
        + clf.intercepts_[1]
    )
    assert_allclose(clf.transform(X), a)
    logits = a @ clf.coefs_[2] + clf.intercepts_[2]
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    assert_allclose(clf.predict_proba(X), proba)
    assert clf.pretrain_score_ == pytest.approx(np.mean(clf.predict(X) == y))


def test_per_layer_parameters_reach_each_autoencoder(small):
    X, y = small
    clf = _fit(
        StackedSparseAEClassifier(
            **{**FAST, "fine_tune": False},
            sparsity_target=[0.05, 0.2],
            sparsity_weight=(1.0, 2.0),
            alpha=[1e-3, 1e-4],
        ),
        X,
        y,
    )
    got = [(a.sparsity_target, a.sparsity_weight, a.alpha) for a in clf.autoencoders_]
    assert got == [(0.05, 1.0, 1e-3), (0.2, 2.0, 1e-4)]


@pytest.mark.parametrize(
    "params, match",
    [
        ({"sparsity_target": [0.1, 0.2, 0.3]}, "one value per hidden layer"),
        ({"sparsity_target": [0.1, 1.5]}, "sparsity_target"),
        ({"alpha": [-1.0, 0.1]}, "alpha"),
        ({"hidden_layer_sizes": ()}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": (10, 0)}, "hidden_layer_sizes"),
    ],
)
def test_bad_per_layer_parameters(small, params, match):
    with pytest.raises(ValueError, match=match):
        StackedSparseAEClassifier(**{**FAST, **params}).fit(*small)


def test_predictions_are_consistent(small):
    X, y = small
    clf = _fit(StackedSparseAEClassifier(**FAST), X, y)
    proba = clf.predict_proba(X)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))
    assert_allclose(np.exp(clf.predict_log_proba(X)), proba, rtol=1e-10)
    assert_array_equal(clf.decision_function(X).argmax(axis=1), proba.argmax(axis=1))
    assert clf.transform(X).shape == (300, 8)


def test_string_labels_and_binary(small):
    X, y = small
    names = np.array(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    )
    clf = _fit(StackedSparseAEClassifier(**FAST), X, names[y])
    assert_array_equal(clf.classes_, np.sort(names))
    assert set(clf.predict(X)) <= set(names)
    mask = y < 2
    binary = _fit(StackedSparseAEClassifier(**FAST), X[mask], names[y[mask]])
    assert_array_equal(binary.classes_, ["one", "zero"])
    scores = binary.decision_function(X[mask])
    assert scores.shape == (mask.sum(),)
    assert_array_equal(
        binary.classes_[(scores > 0).astype(int)], binary.predict(X[mask])
    )


@pytest.mark.parametrize("solver", ["lbfgs", "adam", "sgd"])
def test_fine_tune_solvers(small, solver):
    X, y = small
    clf = _fit(
        StackedSparseAEClassifier(
            **{**FAST, "fine_tune_max_iter": 20}, fine_tune_solver=solver
        ),
        X,
        y,
    )
    assert clf.n_iter_ == len(clf.loss_curve_) > 0
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert clf.score(X, y) >= clf.pretrain_score_


def test_float32_and_sparse_input(small):
    X, y = small
    X32 = X.astype(np.float32)
    clf = _fit(StackedSparseAEClassifier(**FAST), X32, y)
    assert all(c.dtype == np.float32 for c in clf.coefs_ + clf.intercepts_)
    assert all(ae.coefs_[0].dtype == np.float32 for ae in clf.autoencoders_)
    assert clf.predict_proba(X32).dtype == np.float32
    dense = _fit(StackedSparseAEClassifier(**FAST), X, y)
    sparse = _fit(StackedSparseAEClassifier(**FAST), sp.csr_matrix(X), y)
    assert_allclose(
        sparse.predict_proba(sp.csr_matrix(X)), dense.predict_proba(X), atol=1e-6
    )


def test_partial_fit(small):
    X, y = small
    clf = StackedSparseAEClassifier(**FAST)
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X[:100], y[:100])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.partial_fit(X[:150], y[:150], classes=np.arange(10))
    assert clf.n_iter_ == 1
    clf.partial_fit(X[150:], y[150:])
    assert clf.n_iter_ == 2 and len(clf.loss_curve_) == 2
    with pytest.raises(ValueError, match="not seen"):
        clf.partial_fit(X[:5], np.array([0, 1, 2, 3, 11]))
    assert not hasattr(
        StackedSparseAEClassifier(fine_tune_solver="lbfgs"), "partial_fit"
    )


def test_warm_start_continues_fine_tuning(small):
    X, y = small
    clf = _fit(StackedSparseAEClassifier(**FAST, warm_start=True), X, y)
    encoders = [ae.coefs_[0].copy() for ae in clf.autoencoders_]
    _fit(clf, X, y)
    assert clf.n_iter_ == 10
    for before, ae in zip(encoders, clf.autoencoders_):
        assert_array_equal(before, ae.coefs_[0])  # no new pretraining


def _three_classes(small):
    X, y = small
    mask = y < 3
    return X[mask], y[mask]


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_partial_fit_classes_cannot_change(small, solver):
    X, y = _three_classes(small)
    clf = StackedSparseAEClassifier(**FAST, fine_tune_solver=solver)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.partial_fit(X, y, classes=[0, 1, 2])
    # the same classes again, in any order, are fine
    clf.partial_fit(X, y, classes=[2, 0, 1])
    assert clf.n_iter_ == 2
    before = pickle.dumps(clf)
    for classes in ([1, 2, 3], [0, 1], [0, 1, 2, 3]):
        new = re.escape(str(sorted(classes)))
        with pytest.raises(ValueError, match=rf"classes={new} .*\[0, 1, 2\]"):
            clf.partial_fit(X, y, classes=classes)
        assert pickle.dumps(clf) == before
    # a chunk may hold only some of the classes, but none that is new
    clf.partial_fit(X[y < 2], y[y < 2])
    assert clf.n_iter_ == 3
    before = pickle.dumps(clf)
    with pytest.raises(ValueError, match=r"classes \[3\] not seen.*\[0, 1, 2\]"):
        clf.partial_fit(X, np.where(y == 2, 3, y))
    assert pickle.dumps(clf) == before


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_partial_fit_after_fit_keeps_the_classes(small, solver):
    X, y = _three_classes(small)
    clf = _fit(StackedSparseAEClassifier(**FAST, fine_tune_solver=solver), X, y)
    clf.partial_fit(X, y, classes=[0, 1, 2])
    before = pickle.dumps(clf)
    with pytest.raises(ValueError, match=r"classes=\[0, 1, 2, 5\] .*\[0, 1, 2\]"):
        clf.partial_fit(X, y, classes=[0, 1, 2, 5])
    assert pickle.dumps(clf) == before


@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize(
    "relabel, got",
    [
        ({2: 1}, "[0, 1]"),  # a class fewer
        ({2: 3}, "[0, 1, 3]"),  # one class replaced
        ({}, "[0, 1, 2, 3]"),  # a class more (the last rows become class 3)
    ],
)
def test_warm_start_needs_the_same_classes(small, solver, relabel, got):
    X, y = _three_classes(small)
    clf = _fit(
        StackedSparseAEClassifier(**FAST, fine_tune_solver=solver, warm_start=True),
        X,
        y,
    )
    y_new = np.array([relabel.get(c, c) for c in y])
    if not relabel:
        y_new[-5:] = 3
    before = pickle.dumps(clf)
    message = (
        r"warm_start can only be used where y has the same classes as in the "
        rf"previous fit. Previously got \[0, 1, 2\], y has {re.escape(got)}"
    )
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y_new)
    assert pickle.dumps(clf) == before
    # the same classes (in any order of the rows) continue the fine-tuning
    _fit(clf, X[::-1], y[::-1])
    assert clf.n_iter_ == 2 * FAST["fine_tune_max_iter"]
    # without warm_start, a fit on other classes is a new fit
    clf.set_params(warm_start=False)
    _fit(clf, X, y_new)
    assert_array_equal(clf.classes_, np.unique(y_new))


def test_early_stopping_on_validation_accuracy(digits_split):
    X_train, _, y_train, _ = digits_split
    clf = _fit(
        StackedSparseAEClassifier(
            **{**FAST, "fine_tune_max_iter": 15}, fine_tune_early_stopping=True
        ),
        X_train,
        y_train,
    )
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)


def test_same_random_state_same_result_and_pickle(small):
    X, y = small
    a = _fit(StackedSparseAEClassifier(**FAST), X, y)
    b = _fit(StackedSparseAEClassifier(**FAST), X, y)
    for wa, wb in zip(a.coefs_, b.coefs_):
        assert_array_equal(wa, wb)
    restored = pickle.loads(pickle.dumps(a))
    assert_array_equal(restored.predict_proba(X), a.predict_proba(X))


@pytest.mark.parametrize(
    "y, match",
    [
        (np.zeros(300), "one class"),
        (np.linspace(0, 1, 300), "Unknown label type"),
        (None, "requires y"),
    ],
)
def test_bad_targets(small, y, match):
    with pytest.raises(ValueError, match=match):
        StackedSparseAEClassifier(**FAST).fit(small[0], y)


def test_bad_input_and_not_fitted(small):
    X, y = small
    with pytest.raises(ValueError, match="NaN"):
        StackedSparseAEClassifier(**FAST).fit(np.where(X > 0.5, np.nan, X), y)
    with pytest.raises(NotFittedError):
        StackedSparseAEClassifier().predict(X)
    clf = _fit(StackedSparseAEClassifier(**FAST), X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :10])
    with pytest.raises(ValueError, match="MinMaxScaler"):
        StackedSparseAEClassifier(**FAST, decoder="sigmoid").fit(X * 16, y)


def test_pretrained_score_is_the_score_without_fine_tuning(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    tuned = _fit(StackedSparseAEClassifier(**FAST), X_train, y_train)
    plain = _fit(StackedSparseAEClassifier(**FAST, fine_tune=False), X_train, y_train)
    assert tuned.pretrained_score(X_test, y_test) == plain.score(X_test, y_test)
    assert plain.pretrained_score(X_test, y_test) == plain.score(X_test, y_test)


def test_interrupt_during_pretraining_abandons_the_fit(small, interrupt_on_call):
    import skl_sparse_ae._autoencoder as module

    interrupt_on_call(module, "sparse_autoencoder_loss_grad", 3)
    clf = StackedSparseAEClassifier(**FAST)
    with pytest.raises(KeyboardInterrupt), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        clf.fit(*small)
    assert not hasattr(clf, "coefs_")


def test_interrupt_during_fine_tuning_keeps_a_usable_model(small, interrupt_on_call):
    X, y = small
    # pretraining uses adam, fine-tuning sgd: interrupt the 5th sgd step
    from skl_sparse_ae._solvers import SGDOptimizer

    interrupt_on_call(SGDOptimizer, "update", 5)
    clf = StackedSparseAEClassifier(
        **{**FAST, "fine_tune_max_iter": 50}, fine_tune_solver="sgd"
    )
    with pytest.warns(UserWarning, match="interrupted"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert 0 < clf.n_iter_ < 50
    assert clf.predict(X).shape == (300,)
