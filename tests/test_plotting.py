"""Tests for skl_sparse_ae.plotting (figures of the sparse autoencoder experiment)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402

from skl_sparse_ae.plotting import (  # noqa: E402
    plot_filters,
    plot_loss_curves,
    plot_reconstructions,
    plot_samples,
    save_figure,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# ---------------------------------------------------------------------------
# stand-ins for the fitted estimators (duck typing)
# ---------------------------------------------------------------------------
class FakeTransformer:
    """Stand-in for a fitted SparseAutoencoderTransformer."""

    def __init__(self, W1, loss_curve=(3.0, 2.0, 1.5)):
        n_features, n_components = W1.shape
        self.coefs_ = [W1, W1.T.copy()]
        self.intercepts_ = [np.zeros(n_components), np.zeros(n_features)]
        self.loss_curve_ = list(loss_curve)
        self.n_features_in_ = n_features

    def fit(self, X, y=None):  # pragma: no cover - never called
        return self


class FakeStacked:
    """Stand-in for a fitted StackedSparseAEClassifier."""

    def __init__(self, hidden_weights, n_classes=3, fine_tune_curve=(2.3, 1.0)):
        self.autoencoders_ = [
            FakeTransformer(W, loss_curve=np.linspace(5 - k, 1, 10 + k))
            for k, W in enumerate(hidden_weights)
        ]
        out = np.ones((hidden_weights[-1].shape[1], n_classes))
        self.coefs_ = [*hidden_weights, out]
        self.intercepts_ = [np.zeros(W.shape[1]) for W in self.coefs_]
        self.loss_curve_ = list(fine_tune_curve)
        self.n_features_in_ = hidden_weights[0].shape[0]

    def fit(self, X, y=None):  # pragma: no cover - never called
        return self


class UnfittedEstimator:
    def fit(self, X, y=None):  # pragma: no cover - never called
        return self


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def _mosaic(fig):
    images = fig.axes[0].get_images()
    assert len(images) == 1  # one imshow for the whole grid
    return np.ma.getdata(images[0].get_array()), np.ma.getmaskarray(
        images[0].get_array()
    )


def _tiles(mosaic, n_tiles, image_shape, ncols):
    h, w = image_shape
    out = []
    for i in range(n_tiles):
        r, c = divmod(i, ncols)
        out.append(mosaic[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w])
    return np.array(out)


def _check_png(path):
    path = Path(path)
    assert path.is_file()
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > 1000
    return data


# ---------------------------------------------------------------------------
# plot_filters
# ---------------------------------------------------------------------------
def test_plot_filters_weight_matrix(tmp_path, rng):
    W = rng.normal(size=(64, 10))  # 10 filters of 8x8
    fig = plot_filters(W, title="filters")
    assert isinstance(fig, matplotlib.figure.Figure)
    ax = fig.axes[0]
    assert ax.get_title() == "filters"
    assert list(ax.get_xticks()) == [] and list(ax.get_yticks()) == []

    mosaic, mask = _mosaic(fig)
    ncols = 4  # ceil(sqrt(10))
    nrows = 3
    assert mosaic.shape == (nrows * 9 - 1, ncols * 9 - 1)
    tiles = _tiles(mosaic, 10, (8, 8), ncols)
    # normalize="unit": each tile is its filter divided by its max abs value
    expected = (W / np.abs(W).max(axis=0)).T.reshape(10, 8, 8)
    np.testing.assert_allclose(tiles, expected)
    np.testing.assert_allclose(np.abs(tiles).max(axis=(1, 2)), 1.0)
    assert fig.axes[0].get_images()[0].get_clim() == (-1.0, 1.0)
    # padding is masked (NaN): the separating rows/columns and the 2 empty slots
    assert mask[8, :].all() and mask[:, 8].all()
    assert mask.sum() == mosaic.size - 10 * 64

    out = save_figure(fig, tmp_path / "filters.png")
    _check_png(out)


def test_plot_filters_raw_and_minmax(rng):
    W = rng.normal(size=(16, 3)) * 5
    mosaic, _ = _mosaic(plot_filters(W, normalize=None, ncols=3))
    np.testing.assert_allclose(_tiles(mosaic, 3, (4, 4), 3), W.T.reshape(3, 4, 4))

    mosaic, _ = _mosaic(plot_filters(W, normalize="minmax", ncols=3))
    tiles = _tiles(mosaic, 3, (4, 4), 3)
    np.testing.assert_allclose(tiles.min(axis=(1, 2)), 0.0)
    np.testing.assert_allclose(tiles.max(axis=(1, 2)), 1.0)

    with pytest.raises(ValueError, match="normalize"):
        plot_filters(W, normalize="max")


def test_plot_filters_zero_filter_does_not_divide_by_zero():
    W = np.zeros((9, 2))
    W[:, 1] = np.arange(9)
    mosaic, _ = _mosaic(plot_filters(W, ncols=2))
    tiles = _tiles(mosaic, 2, (3, 3), 2)
    assert np.all(tiles[0] == 0)
    assert np.isfinite(tiles).all()


def test_plot_filters_non_square_with_image_shape(tmp_path, rng):
    W = rng.normal(size=(12 * 7, 5))  # not a perfect square
    with pytest.raises(ValueError, match="image_shape"):
        plot_filters(W)
    fig = plot_filters(W, image_shape=(12, 7), ncols=5)
    mosaic, _ = _mosaic(fig)
    assert mosaic.shape == (12, 5 * 8 - 1)
    tiles = _tiles(mosaic, 5, (12, 7), 5)
    np.testing.assert_allclose(tiles[2], W[:, 2].reshape(12, 7) / np.abs(W[:, 2]).max())
    _check_png(save_figure(fig, tmp_path / "nonsquare.png"))


@pytest.mark.parametrize(
    "image_shape, match",
    [((8, 8), "pixels"), ((10,), "pair"), ((0, 84), "positive"), ("ab", "pair")],
)
def test_plot_filters_bad_image_shape(rng, image_shape, match):
    W = rng.normal(size=(84, 4))
    with pytest.raises(ValueError, match=match):
        plot_filters(W, image_shape=image_shape)


def test_plot_filters_bad_inputs(rng):
    with pytest.raises(ValueError, match="2-D"):
        plot_filters(rng.normal(size=16))
    with pytest.raises(ValueError, match="layer must be 0"):
        plot_filters(rng.normal(size=(16, 4)), layer=1)
    with pytest.raises(ValueError, match="n_filters"):
        plot_filters(rng.normal(size=(16, 4)), n_filters=0)
    with pytest.raises(ValueError, match="ncols"):
        plot_filters(rng.normal(size=(16, 4)), ncols=0)


def test_plot_filters_n_filters_and_ncols(rng):
    W = rng.normal(size=(25, 30))
    mosaic, _ = _mosaic(plot_filters(W, n_filters=7, ncols=7))
    assert mosaic.shape == (5, 7 * 6 - 1)
    # n_filters larger than the number of units draws all of them
    mosaic, _ = _mosaic(plot_filters(W[:, :4], n_filters=100))
    assert mosaic.shape == (2 * 6 - 1, 2 * 6 - 1)


def test_plot_filters_unfitted_estimator():
    with pytest.raises(NotFittedError, match="UnfittedEstimator"):
        plot_filters(UnfittedEstimator())
    with pytest.raises(NotFittedError):
        plot_loss_curves(UnfittedEstimator())


def test_plot_filters_single_transformer(rng):
    W1 = rng.normal(size=(36, 4))
    est = FakeTransformer(W1)
    mosaic, _ = _mosaic(plot_filters(est, normalize=None, ncols=4))
    np.testing.assert_allclose(_tiles(mosaic, 4, (6, 6), 4), W1.T.reshape(4, 6, 6))
    with pytest.raises(ValueError, match="layer must be 0"):
        plot_filters(est, layer=1)


def test_plot_filters_stacked_layers(tmp_path, rng):
    W1 = rng.normal(size=(49, 6))
    W2 = rng.normal(size=(6, 5))
    est = FakeStacked([W1, W2])

    # layer 0: the first-layer weights
    mosaic, _ = _mosaic(plot_filters(est, layer=0, normalize=None, ncols=6))
    np.testing.assert_allclose(_tiles(mosaic, 6, (7, 7), 6), W1.T.reshape(6, 7, 7))

    # layer 1: second-layer units projected into input space by W1 @ W2
    fig = plot_filters(est, layer=1, normalize=None, ncols=5)
    mosaic, _ = _mosaic(fig)
    assert mosaic.shape == (7, 5 * 8 - 1)
    np.testing.assert_allclose(
        _tiles(mosaic, 5, (7, 7), 5), (W1 @ W2).T.reshape(5, 7, 7)
    )
    _check_png(save_figure(fig, tmp_path / "layer1.png"))

    # normalised projection: each tile has max abs 1
    mosaic, _ = _mosaic(plot_filters(est, layer=1, ncols=5))
    tiles = _tiles(mosaic, 5, (7, 7), 5)
    np.testing.assert_allclose(np.abs(tiles).max(axis=(1, 2)), 1.0)

    for bad in (2, -1, 10):
        with pytest.raises(ValueError, match="out of range"):
            plot_filters(est, layer=bad)


def test_plot_filters_stacked_three_layers_and_fallback(rng):
    Ws = [rng.normal(size=(16, 8)), rng.normal(size=(8, 6)), rng.normal(size=(6, 3))]
    est = FakeStacked(Ws)
    mosaic, _ = _mosaic(plot_filters(est, layer=2, normalize=None, ncols=3))
    np.testing.assert_allclose(
        _tiles(mosaic, 3, (4, 4), 3), (Ws[0] @ Ws[1] @ Ws[2]).T.reshape(3, 4, 4)
    )
    # without coefs_ the autoencoders' encoder weights are chained instead
    del est.coefs_
    mosaic2, _ = _mosaic(plot_filters(est, layer=2, normalize=None, ncols=3))
    np.testing.assert_allclose(mosaic2, mosaic)


def test_plot_filters_into_existing_axes(rng):
    fig, (ax1, ax2) = plt.subplots(1, 2)
    out = plot_filters(rng.normal(size=(16, 4)), ax=ax2, title="right")
    assert out is fig
    assert ax2.get_title() == "right"
    assert len(ax2.get_images()) == 1 and len(ax1.get_images()) == 0


def test_plot_filters_784_filters_is_single_image(rng):
    W = rng.normal(size=(784, 784))
    fig = plot_filters(W)
    mosaic, _ = _mosaic(fig)
    assert mosaic.shape == (28 * 29 - 1, 28 * 29 - 1)
    assert len(fig.axes) == 1


# ---------------------------------------------------------------------------
# plot_samples
# ---------------------------------------------------------------------------
def test_plot_samples_grid_and_labels(tmp_path, rng):
    X = rng.uniform(size=(40, 25))
    y = np.arange(40) % 10
    fig = plot_samples(X, n_samples=12, ncols=4, labels=y, title="inputs")
    mosaic, _ = _mosaic(fig)
    assert mosaic.shape == (3 * 6 - 1, 4 * 6 - 1)
    np.testing.assert_allclose(_tiles(mosaic, 12, (5, 5), 4), X[:12].reshape(12, 5, 5))
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == [str(v) for v in y[:12]]
    assert fig.axes[0].get_title() == "inputs"
    _check_png(save_figure(fig, tmp_path / "samples.png"))


def test_plot_samples_default_100_and_3d_input(rng):
    X = rng.uniform(size=(150, 6, 4))
    mosaic, _ = _mosaic(plot_samples(X))  # 100 samples, 10x10 grid
    assert mosaic.shape == (10 * 7 - 1, 10 * 5 - 1)
    np.testing.assert_allclose(_tiles(mosaic, 100, (6, 4), 10), X[:100])


def test_plot_samples_random_subset_and_fewer_samples(rng):
    X = rng.uniform(size=(20, 9))
    labels = np.arange(20)
    fig = plot_samples(X, n_samples=5, ncols=5, labels=labels, random_state=0)
    mosaic, _ = _mosaic(fig)
    shown = [int(t.get_text()) for t in fig.axes[0].texts]
    assert len(set(shown)) == 5
    np.testing.assert_allclose(_tiles(mosaic, 5, (3, 3), 5), X[shown].reshape(5, 3, 3))
    # more samples requested than available: draw them all
    mosaic, _ = _mosaic(plot_samples(X[:3], ncols=3))
    assert mosaic.shape == (3, 3 * 4 - 1)


def test_plot_samples_sparse_input(rng):
    from scipy import sparse

    X = rng.uniform(size=(8, 16))
    X[X < 0.5] = 0
    mosaic, _ = _mosaic(plot_samples(sparse.csr_matrix(X), ncols=8))
    np.testing.assert_allclose(_tiles(mosaic, 8, (4, 4), 8), X.reshape(8, 4, 4))


def test_plot_samples_errors(rng):
    X = rng.uniform(size=(10, 20))
    with pytest.raises(ValueError, match="image_shape"):
        plot_samples(X)
    with pytest.raises(ValueError, match="pixels"):
        plot_samples(X, image_shape=(4, 4))
    with pytest.raises(ValueError, match="labels"):
        plot_samples(X, image_shape=(4, 5), labels=[1, 2, 3])
    with pytest.raises(ValueError, match="n_samples"):
        plot_samples(X, image_shape=(4, 5), n_samples=0)


# ---------------------------------------------------------------------------
# plot_loss_curves
# ---------------------------------------------------------------------------
def _line_data(ax):
    return {line.get_label(): line.get_ydata() for line in ax.get_lines()}


def test_plot_loss_curves_dict(tmp_path):
    curves = {"a": [3.0, 2.0, 1.0], "b": np.array([4.0, 1.0])}
    fig = plot_loss_curves(curves, logy=True, title="losses")
    ax = fig.axes[0]
    assert len(fig.axes) == 1
    data = _line_data(ax)
    assert list(data) == ["a", "b"]
    np.testing.assert_allclose(data["a"], [3.0, 2.0, 1.0])
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), [1, 2, 3])
    assert ax.get_xlabel() == "iteration / epoch"
    assert ax.get_ylabel() == "loss"
    assert ax.get_yscale() == "log"
    assert ax.get_legend() is not None
    assert ax.get_title() == "losses"
    _check_png(save_figure(fig, tmp_path / "loss.png"))


def test_plot_loss_curves_list_and_labels():
    fig = plot_loss_curves([[1.0, 0.5], [2.0, 1.0, 0.1]])
    assert list(_line_data(fig.axes[0])) == ["curve 0", "curve 1"]
    fig = plot_loss_curves([[1.0, 0.5], [2.0, 1.0]], labels=["x", "y"])
    assert list(_line_data(fig.axes[0])) == ["x", "y"]
    fig = plot_loss_curves(np.array([[1.0, 0.5], [2.0, 1.0]]))
    assert len(fig.axes[0].get_lines()) == 2
    # a single curve
    fig = plot_loss_curves([3.0, 2.0, 1.0])
    assert len(fig.axes[0].get_lines()) == 1
    assert fig.axes[0].get_legend() is None
    with pytest.raises(ValueError, match="labels"):
        plot_loss_curves([[1.0], [2.0]], labels=["only one"])
    with pytest.raises(ValueError, match="empty"):
        plot_loss_curves([])
    with pytest.raises(ValueError, match="1-D"):
        plot_loss_curves({"bad": [[1.0, 2.0], [3.0, 4.0]]})
    with pytest.raises(TypeError):
        plot_loss_curves(3.0)


def test_plot_loss_curves_single_transformer(rng):
    est = FakeTransformer(rng.normal(size=(16, 4)), loss_curve=[5.0, 3.0, 2.0])
    fig = plot_loss_curves(est)
    (line,) = fig.axes[0].get_lines()
    np.testing.assert_allclose(line.get_ydata(), [5.0, 3.0, 2.0])


def test_plot_loss_curves_stacked(tmp_path, rng):
    est = FakeStacked([rng.normal(size=(16, 4)), rng.normal(size=(4, 3))])
    fig = plot_loss_curves(est)
    # separate subplots by default: pretraining and fine-tuning scales differ
    assert [ax.get_title() for ax in fig.axes] == [
        "layer 1 pretraining",
        "layer 2 pretraining",
        "fine-tuning",
    ]
    np.testing.assert_allclose(fig.axes[2].get_lines()[0].get_ydata(), [2.3, 1.0])
    np.testing.assert_allclose(
        fig.axes[0].get_lines()[0].get_ydata(), est.autoencoders_[0].loss_curve_
    )
    _check_png(save_figure(fig, tmp_path / "stacked_loss.png"))

    # one axes on request
    fig = plot_loss_curves(est, subplots=False)
    assert len(fig.axes) == 1
    assert list(_line_data(fig.axes[0])) == [
        "layer 1 pretraining",
        "layer 2 pretraining",
        "fine-tuning",
    ]

    # no fine-tuning curve when fine_tune=False (empty loss_curve_)
    est.loss_curve_ = []
    fig = plot_loss_curves(est)
    assert [ax.get_title() for ax in fig.axes] == [
        "layer 1 pretraining",
        "layer 2 pretraining",
    ]

    # estimators inside a dict get prefixed labels
    fig = plot_loss_curves({"net": est, "ae": est.autoencoders_[0]})
    assert list(_line_data(fig.axes[0])) == [
        "net: layer 1 pretraining",
        "net: layer 2 pretraining",
        "ae",
    ]

    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="subplots"):
        plot_loss_curves(est, ax=ax, subplots=True)
    assert plot_loss_curves(est, ax=ax) is ax.figure
    assert len(ax.get_lines()) == 2


# ---------------------------------------------------------------------------
# plot_reconstructions
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits01():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X / 16, y


def _fit_unconverged(estimator, X, y=None):
    """Fit with too few iterations to converge, as the warning says."""
    with pytest.warns(ConvergenceWarning):
        return estimator.fit(X, y)


def _row_tiles(ax, n, image_shape=(8, 8)):
    """The n tiles of a one-row mosaic, as an array (n, h, w)."""
    mosaic = np.asarray(ax.get_images()[0].get_array())
    h, w = image_shape
    return np.stack([mosaic[:h, i * (w + 1) : i * (w + 1) + w] for i in range(n)])


def test_plot_reconstructions_single_autoencoder(tmp_path, digits01):
    from skl_sparse_ae import SparseAE

    X, _ = digits01
    ae = _fit_unconverged(SparseAE(n_components=16, max_iter=30, random_state=0), X)
    fig = plot_reconstructions(ae, X, n_samples=6, title="digits")
    assert len(fig.axes) == 2
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert labels[0] == "input"
    assert labels[1].startswith("reconstruction\nmean error ")
    # the tiles are the inputs and ae's reconstructions, in order
    assert np.allclose(_row_tiles(fig.axes[0], 6), X[:6].reshape(6, 8, 8))
    recon = ae.inverse_transform(ae.transform(X[:6]))
    assert np.allclose(_row_tiles(fig.axes[1], 6), recon.reshape(6, 8, 8))
    # the row label's error is the mean (1/2)||x_hat - x||^2 of the shown images
    error = float(labels[1].split()[-1])
    assert error == pytest.approx(-ae.score(X[:6]), rel=1e-2)
    # one colour scale, the inputs' range, for every row
    for ax in fig.axes:
        assert ax.get_images()[0].get_clim() == (0.0, 1.0)
    assert fig._suptitle.get_text() == "digits"
    save_figure(fig, tmp_path / "reconstructions.png")
    assert (tmp_path / "reconstructions.png").read_bytes().startswith(PNG_MAGIC)


def test_plot_reconstructions_stack_goes_through_every_depth(digits01):
    from skl_sparse_ae import StackedSparseAEClassifier

    X, y = digits01
    clf = _fit_unconverged(
        StackedSparseAEClassifier(
            hidden_layer_sizes=(12, 6, 4),
            pretrain_max_iter=3,
            fine_tune=False,
            random_state=0,
        ),
        X[:200],
        y[:200],
    )
    fig = plot_reconstructions(clf, X[:5])
    labels = [ax.get_ylabel().split("\n")[0] for ax in fig.axes]
    assert labels == ["input", "autoencoder 1", "autoencoders 1-2", "autoencoders 1-3"]
    ae1, ae2, ae3 = clf.autoencoders_
    codes = ae3.transform(ae2.transform(ae1.transform(X[:5])))
    whole = ae1.inverse_transform(ae2.inverse_transform(ae3.inverse_transform(codes)))
    assert np.allclose(_row_tiles(fig.axes[-1], 5), whole.reshape(5, 8, 8))
    first = ae1.inverse_transform(ae1.transform(X[:5]))
    assert np.allclose(_row_tiles(fig.axes[1], 5), first.reshape(5, 8, 8))


def test_plot_reconstructions_samples_and_sparse_input(digits01):
    import scipy.sparse as sp

    from skl_sparse_ae import SparseAE

    X, _ = digits01
    ae = _fit_unconverged(SparseAE(n_components=8, max_iter=5, random_state=0), X)
    dense = plot_reconstructions(ae, X, n_samples=4, random_state=0)
    sparse = plot_reconstructions(ae, sp.csr_matrix(X), n_samples=4, random_state=0)
    for a, b in zip(dense.axes, sparse.axes):
        assert np.allclose(_row_tiles(a, 4), _row_tiles(b, 4))
    picked = np.random.RandomState(0).choice(len(X), 4, replace=False)
    assert np.allclose(_row_tiles(dense.axes[0], 4), X[picked].reshape(4, 8, 8))
    # default: the first 10 samples; fewer if X has fewer
    assert _row_tiles(plot_reconstructions(ae, X).axes[0], 10).shape == (10, 8, 8)
    fig = plot_reconstructions(ae, X[:3])
    assert np.asarray(fig.axes[0].get_images()[0].get_array()).shape == (8, 26)


def test_plot_reconstructions_errors(digits01):
    from skl_sparse_ae import SparseAE

    X, _ = digits01
    with pytest.raises(NotFittedError):
        plot_reconstructions(SparseAE(), X)
    ae = _fit_unconverged(SparseAE(n_components=8, max_iter=5, random_state=0), X)
    with pytest.raises(ValueError, match="n_samples"):
        plot_reconstructions(ae, X, n_samples=0)
    with pytest.raises(ValueError, match="image_shape"):
        plot_reconstructions(ae, X, image_shape=(4, 4))
    with pytest.raises(ValueError, match="features"):
        plot_reconstructions(ae, X[:, :16])
    with pytest.raises(TypeError, match="autoencoder"):
        plot_reconstructions(np.eye(4), X)


# ---------------------------------------------------------------------------
# optional matplotlib
# ---------------------------------------------------------------------------
class FakeIdentity:
    """A fitted autoencoder that reconstructs its input exactly."""

    coefs_ = []

    def fit(self, X, y=None):  # pragma: no cover - never called
        return self

    def transform(self, X):
        return X

    def inverse_transform(self, X):
        return X


def test_missing_matplotlib_raises_helpful_import_error(monkeypatch, rng):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    W = rng.normal(size=(16, 4))
    for call in (
        lambda: plot_filters(W),
        lambda: plot_samples(W.T),
        lambda: plot_loss_curves([1.0, 0.5]),
        lambda: plot_reconstructions(FakeIdentity(), W.T),
    ):
        with pytest.raises(ImportError, match=r"skl_sparse_ae\[plot\]") as excinfo:
            call()
        assert isinstance(excinfo.value.__cause__, ImportError)


def test_module_imports_without_matplotlib():
    code = (
        "import sys\n"
        "sys.modules['matplotlib'] = None\n"
        "sys.modules['matplotlib.pyplot'] = None\n"
        "import skl_sparse_ae.plotting as p\n"
        "try:\n"
        "    p.plot_filters([[1.0], [2.0], [3.0], [4.0]])\n"
        "except ImportError as exc:\n"
        "    assert 'skl_sparse_ae[plot]' in str(exc), exc\n"
        "else:\n"
        "    raise AssertionError('no ImportError')\n"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])]
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
