"""Figures for sparse autoencoders: samples, filters, loss curves, reconstructions.

The functions in this module reproduce the figures of the classic sparse
autoencoder experiment on MNIST: a grid of input samples (Fig. 1), the
first-layer filters (Fig. 2), the second-layer filters projected into input
space (Fig. 3) and the training loss curves; and they show inputs above their
reconstructions.

matplotlib is an optional dependency (``pip install "skl_sparse_ae[plot]"``).
This module imports without it; matplotlib is only imported when one of the
plotting functions is called. The backend is never changed here: select one
yourself (for example ``matplotlib.use("Agg")`` on a headless machine).

Image tiles (filters and samples) are composed into one mosaic array with a
1-pixel padding between tiles and drawn with a single ``imshow`` call, which
stays fast even for hundreds of filters. The mosaic array is available as
``fig.axes[0].get_images()[0].get_array()``; tile ``i`` (row-major order,
``ncols`` tiles per row) occupies rows ``r * (h + 1) : r * (h + 1) + h`` and
columns ``c * (w + 1) : c * (w + 1) + w`` with ``r, c = divmod(i, ncols)``,
and the padding pixels are NaN (masked).
"""

import math
import numbers

import numpy as np
from scipy import sparse
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state

__all__ = [
    "plot_filters",
    "plot_loss_curves",
    "plot_reconstructions",
    "plot_samples",
    "save_figure",
]

_MISSING_MATPLOTLIB_MSG = 'plotting needs matplotlib: pip install "skl_sparse_ae[plot]"'

_NOT_FITTED_MSG = (
    "This {name} instance is not fitted yet. Call 'fit' with appropriate "
    "arguments before using this estimator."
)

_NORMALIZE_OPTIONS = ("unit", "minmax", None)


# ---------------------------------------------------------------------------
# private helpers
# ---------------------------------------------------------------------------
def _import_pyplot():
    """Import and return ``matplotlib.pyplot``, with a helpful error if missing."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(_MISSING_MATPLOTLIB_MSG) from exc
    return plt


def _get_cmap(cmap, bad_color):
    """Return a copy of ``cmap`` whose "bad" (NaN) colour is ``bad_color``."""
    import matplotlib as mpl

    if isinstance(cmap, str):
        cmap = mpl.colormaps[cmap]
    elif cmap is None:
        cmap = mpl.colormaps[mpl.rcParams["image.cmap"]]
    return cmap.with_extremes(bad=bad_color)


def _check_not_fitted(obj, attribute):
    """Raise NotFittedError for an estimator object that lacks ``attribute``."""
    if hasattr(obj, "fit") and not hasattr(obj, attribute):
        raise NotFittedError(_NOT_FITTED_MSG.format(name=type(obj).__name__))


def _is_stacked(obj):
    return hasattr(obj, "autoencoders_")


def _as_weight_matrix(W, what):
    W = np.asarray(W, dtype=float)
    if W.ndim != 2:
        raise ValueError(
            f"{what} must be a 2-D weight matrix of shape (n_inputs, n_units), "
            f"got an array with shape {W.shape}."
        )
    return W


def _resolve_filters(obj, layer):
    """Return the filters to draw as an array of shape (n_inputs, n_units)."""
    if not isinstance(layer, numbers.Integral) or isinstance(layer, bool):
        raise TypeError(f"layer must be an integer, got {layer!r}.")

    if _is_stacked(obj):
        n_hidden = len(obj.autoencoders_)
        if n_hidden == 0:
            raise ValueError("The stacked estimator has no hidden layers.")
        if not 0 <= layer < n_hidden:
            raise ValueError(
                f"layer={layer} is out of range for a stacked estimator with "
                f"{n_hidden} hidden layer(s); expected 0 <= layer < {n_hidden}."
            )
        if hasattr(obj, "coefs_"):
            weights = list(obj.coefs_)[:n_hidden]
        else:
            weights = [ae.coefs_[0] for ae in obj.autoencoders_]
        W = _as_weight_matrix(weights[0], "coefs_[0]")
        for k in range(1, layer + 1):
            Wk = _as_weight_matrix(weights[k], f"coefs_[{k}]")
            if Wk.shape[0] != W.shape[1]:
                raise ValueError(
                    f"coefs_[{k}] has shape {Wk.shape}, which does not chain with "
                    f"the previous layer's {W.shape[1]} units."
                )
            W = W @ Wk
        return W

    if hasattr(obj, "coefs_"):
        if layer != 0:
            raise ValueError(
                f"layer must be 0 for a single autoencoder, got layer={layer}. "
                "Use a stacked estimator to visualise deeper layers."
            )
        return _as_weight_matrix(obj.coefs_[0], "coefs_[0]")

    _check_not_fitted(obj, "coefs_")

    if layer != 0:
        raise ValueError(
            f"layer must be 0 when a weight matrix is given, got layer={layer}."
        )
    return _as_weight_matrix(obj, "The weight matrix")


def _resolve_image_shape(n_pixels, image_shape):
    """Validate ``image_shape`` (or infer a square one) for ``n_pixels`` values."""
    if image_shape is None:
        side = math.isqrt(n_pixels)
        if side * side != n_pixels:
            raise ValueError(
                f"Cannot infer a square image shape from {n_pixels} input "
                "features (not a perfect square); pass image_shape=(height, width)."
            )
        return side, side
    try:
        shape = tuple(int(s) for s in image_shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"image_shape must be a (height, width) pair, got {image_shape!r}."
        ) from None
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(
            f"image_shape must be a (height, width) pair of positive integers, "
            f"got {image_shape!r}."
        )
    if shape[0] * shape[1] != n_pixels:
        raise ValueError(
            f"image_shape={shape} holds {shape[0] * shape[1]} pixels but the "
            f"data have {n_pixels} features per image."
        )
    return shape


def _normalize_tiles(tiles, normalize):
    """Normalise each row of ``tiles`` (n_tiles, n_pixels) independently."""
    if normalize not in _NORMALIZE_OPTIONS:
        raise ValueError(
            f"normalize must be one of {_NORMALIZE_OPTIONS}, got {normalize!r}."
        )
    if normalize is None:
        return tiles, None, None
    if normalize == "unit":
        scale = np.max(np.abs(tiles), axis=1, keepdims=True)
        scale[scale == 0] = 1.0
        return tiles / scale, -1.0, 1.0
    # "minmax"
    lo = np.min(tiles, axis=1, keepdims=True)
    span = np.max(tiles, axis=1, keepdims=True) - lo
    span[span == 0] = 1.0
    return (tiles - lo) / span, 0.0, 1.0


def _resolve_ncols(n_tiles, ncols):
    if ncols is None:
        return max(1, math.ceil(math.sqrt(n_tiles)))
    if not isinstance(ncols, numbers.Integral) or ncols < 1:
        raise ValueError(f"ncols must be a positive integer, got {ncols!r}.")
    return int(ncols)


def _make_mosaic(tiles, image_shape, ncols, pad=1):
    """Compose tiles (n_tiles, h * w) into a padded 2-D mosaic (NaN padding)."""
    n_tiles = tiles.shape[0]
    h, w = image_shape
    nrows = math.ceil(n_tiles / ncols)
    grid = np.full((nrows * ncols, h + pad, w + pad), np.nan)
    grid[:n_tiles, :h, :w] = tiles.reshape(n_tiles, h, w)
    mosaic = (
        grid.reshape(nrows, ncols, h + pad, w + pad)
        .transpose(0, 2, 1, 3)
        .reshape(nrows * (h + pad), ncols * (w + pad))
    )
    # drop the trailing padding on the bottom and right edges
    return mosaic[: mosaic.shape[0] - pad, : mosaic.shape[1] - pad], nrows


def _mosaic_figsize(nrows, ncols, mosaic_shape):
    """A figure size that keeps tiles readable without growing unboundedly."""
    long_side = min(10.0, max(3.0, 0.5 * max(nrows, ncols)))
    height, width = mosaic_shape
    scale = long_side / max(height, width)
    return max(1.5, width * scale), max(1.5, height * scale) + 0.4


def _draw_mosaic(
    mosaic, nrows, ncols, *, cmap, pad_color, vmin, vmax, ax, figsize, title
):
    plt = _import_pyplot()
    own_figure = ax is None
    if own_figure:
        if figsize is None:
            figsize = _mosaic_figsize(nrows, ncols, mosaic.shape)
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure
    if vmin is None and np.isfinite(mosaic).any():
        vmin, vmax = np.nanmin(mosaic), np.nanmax(mosaic)
    ax.imshow(
        mosaic,
        cmap=_get_cmap(cmap, pad_color),
        vmin=vmin,
        vmax=vmax,
        interpolation="nearest",
    )
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_axis_off()
    if title is not None:
        ax.set_title(title)
    if own_figure:
        fig.tight_layout()
    return fig, ax


# ---------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------
def plot_filters(
    estimator_or_weights,
    *,
    layer=0,
    image_shape=None,
    n_filters=None,
    ncols=None,
    normalize="unit",
    cmap="gray",
    pad_color="black",
    ax=None,
    figsize=None,
    title=None,
):
    """Draw the incoming weights of each hidden unit as a grid of image tiles.

    Each hidden unit's filter (its vector of incoming weights) is reshaped to
    ``image_shape`` and shown as one tile of a mosaic, reproducing the filter
    figures of the sparse autoencoder experiment (Fig. 2 for the first layer,
    Fig. 3 for the second).

    Parameters
    ----------
    estimator_or_weights : estimator or array-like of shape (n_inputs, n_units)
        What to draw, detected by duck typing:

        - a fitted stacked estimator (it has ``autoencoders_``, e.g.
          :class:`~skl_sparse_ae.StackedSparseAEClassifier`): the filters of
          hidden layer
          ``layer`` taken from its ``coefs_`` (the fine-tuned weights if
          fine-tuning ran; pass ``est.autoencoders_[0]`` for the pretrained
          first-layer filters);
        - a fitted single autoencoder (it has ``coefs_``, e.g.
          :class:`~skl_sparse_ae.SparseAutoencoderTransformer`): its encoder weights
          ``coefs_[0]``;
        - a weight matrix of shape (n_inputs, n_units) whose columns are the
          filters.

        An estimator (an object with ``fit``) lacking ``coefs_`` is unfitted
        and raises :class:`~sklearn.exceptions.NotFittedError`.

    layer : int, default=0
        0-based index of the hidden layer to draw. Must be 0 for a single
        autoencoder or a weight matrix. For a stacked estimator, ``layer=0``
        draws ``coefs_[0]`` and a deeper ``layer=k`` draws the units' filters
        projected into input space by the product of the weight matrices
        ``coefs_[0] @ coefs_[1] @ ... @ coefs_[k]``. This projection is the
        linear approximation used by UFLDL-style visualisations: it ignores
        the biases and the sigmoid nonlinearities, so it shows which input
        pattern each deep unit is (linearly) tuned to, not an exact
        preferred stimulus.
    image_shape : tuple of (int, int), default=None
        ``(height, width)`` of one image; ``height * width`` must equal
        ``n_inputs``. ``None`` assumes square images and requires
        ``sqrt(n_inputs)`` to be an integer (28x28 for MNIST).
    n_filters : int, default=None
        Draw only the first ``n_filters`` units (all units if ``None`` or
        larger than the number of units).
    ncols : int, default=None
        Number of tiles per row; ``ceil(sqrt(n_filters))`` if ``None``.
    normalize : {"unit", "minmax"} or None, default="unit"
        Per-filter scaling. ``"unit"`` divides each filter by its maximum
        absolute value and shows it with symmetric colour limits ``[-1, 1]``
        (so zero weights are mid-grey with ``cmap="gray"``); ``"minmax"``
        rescales each filter to ``[0, 1]``; ``None`` shows the raw weights
        with one colour scale shared by all tiles.
    cmap : str or matplotlib Colormap, default="gray"
        Colour map of the tiles.
    pad_color : color, default="black"
        Colour of the 1-pixel padding between tiles.
    ax : matplotlib Axes, default=None
        Axes to draw into. A new figure is created if ``None``.
    figsize : tuple of (float, float), default=None
        Size of the new figure in inches; chosen from the grid size if
        ``None``. Ignored when ``ax`` is given.
    title : str, default=None
        Title of the axes.

    Returns
    -------
    fig : matplotlib Figure
        The figure holding the mosaic (``ax.figure`` if ``ax`` was given).

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    NotFittedError
        If an unfitted estimator is passed.
    ValueError
        If ``layer`` is out of range, the weights are not 2-D, or
        ``image_shape`` does not match the number of inputs.

    See Also
    --------
    plot_samples : Draw input samples in the same mosaic layout.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from skl_sparse_ae.plotting import plot_filters
    >>> W1 = np.random.default_rng(0).normal(size=(64, 25))  # 25 filters, 8x8
    >>> fig = plot_filters(W1, title="first-layer filters")
    >>> fig.axes[0].get_images()[0].get_array().shape  # 5x5 tiles of 8x8 + pad
    (44, 44)
    >>> plt.close(fig)

    A stacked estimator's second layer is projected into input space:

    >>> class Stacked:  # stand-in for a fitted StackedSparseAEClassifier
    ...     autoencoders_ = [None, None]
    ...     coefs_ = [W1, np.ones((25, 9)), np.ones((9, 10))]
    >>> fig = plot_filters(Stacked(), layer=1, n_filters=4, ncols=4)
    >>> fig.axes[0].get_images()[0].get_array().shape
    (8, 35)
    >>> plt.close(fig)
    """
    W = _resolve_filters(estimator_or_weights, layer)
    n_inputs, n_units = W.shape
    if n_units == 0:
        raise ValueError("There are no filters to draw (0 hidden units).")
    image_shape = _resolve_image_shape(n_inputs, image_shape)
    if n_filters is not None:
        if not isinstance(n_filters, numbers.Integral) or n_filters < 1:
            raise ValueError(
                f"n_filters must be a positive integer, got {n_filters!r}."
            )
        n_units = min(n_units, int(n_filters))
    tiles, vmin, vmax = _normalize_tiles(W[:, :n_units].T, normalize)
    ncols = _resolve_ncols(n_units, ncols)
    mosaic, nrows = _make_mosaic(tiles, image_shape, ncols)
    fig, _ = _draw_mosaic(
        mosaic,
        nrows,
        ncols,
        cmap=cmap,
        pad_color=pad_color,
        vmin=vmin,
        vmax=vmax,
        ax=ax,
        figsize=figsize,
        title=title,
    )
    return fig


def plot_samples(
    X,
    *,
    image_shape=None,
    n_samples=100,
    ncols=None,
    labels=None,
    random_state=None,
    normalize=None,
    cmap="gray",
    pad_color="white",
    label_color="yellow",
    ax=None,
    figsize=None,
    title=None,
):
    """Draw input samples as a grid of image tiles: figure 1 of the experiment.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features) or \
(n_samples, height, width)
        Images, one per row (flattened in C order) or as a 3-D stack.
    image_shape : tuple of (int, int), default=None
        ``(height, width)`` of one image. ``None`` uses the last two
        dimensions of a 3-D ``X``, or assumes square images for a 2-D ``X``
        (``sqrt(n_features)`` must be an integer).
    n_samples : int, default=100
        Number of samples to draw (at most ``len(X)``).
    ncols : int, default=None
        Number of tiles per row; ``ceil(sqrt(n_samples))`` if ``None``.
    labels : array-like of shape (len(X),), default=None
        Optional labels (e.g. digit classes), written in the top-left corner
        of each tile.
    random_state : int, RandomState instance or None, default=None
        ``None`` draws the first ``n_samples`` samples; otherwise a random
        subset (without replacement) is drawn with this seed.
    normalize : {"unit", "minmax"} or None, default=None
        Per-sample scaling as in :func:`plot_filters`. ``None`` shows the raw
        pixel values with one colour scale shared by all tiles.
    cmap : str or matplotlib Colormap, default="gray"
        Colour map of the tiles.
    pad_color : color, default="white"
        Colour of the 1-pixel padding between tiles.
    label_color : color, default="yellow"
        Colour of the label text.
    ax : matplotlib Axes, default=None
        Axes to draw into. A new figure is created if ``None``.
    figsize : tuple of (float, float), default=None
        Size of the new figure in inches; chosen from the grid size if
        ``None``. Ignored when ``ax`` is given.
    title : str, default=None
        Title of the axes.

    Returns
    -------
    fig : matplotlib Figure
        The figure holding the mosaic (``ax.figure`` if ``ax`` was given).

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    ValueError
        If ``X`` has the wrong number of dimensions, ``image_shape`` does not
        match the number of features, or ``labels`` has the wrong length.

    See Also
    --------
    plot_filters : Draw learned filters in the same mosaic layout.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from skl_sparse_ae.plotting import plot_samples
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(size=(50, 12 * 10))
    >>> y = rng.integers(0, 10, size=50)
    >>> fig = plot_samples(X, image_shape=(12, 10), n_samples=6, ncols=3, labels=y)
    >>> fig.axes[0].get_images()[0].get_array().shape  # 2 rows x 3 columns
    (25, 32)
    >>> plt.close(fig)
    """
    n_total = X.shape[0] if sparse.issparse(X) else len(X)
    if not isinstance(n_samples, numbers.Integral) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
    n_show = min(int(n_samples), n_total)
    if n_show == 0:
        raise ValueError("X contains no samples to draw.")
    if random_state is None:
        idx = np.arange(n_show)
    else:
        idx = check_random_state(random_state).choice(n_total, n_show, replace=False)

    if sparse.issparse(X):
        tiles = sparse.csr_matrix(X)[idx].toarray().astype(float)
    else:
        tiles = np.asarray(X)[idx].astype(float)
    if tiles.ndim == 3:
        if image_shape is None:
            image_shape = tiles.shape[1:]
        tiles = tiles.reshape(n_show, -1)
    elif tiles.ndim != 2:
        raise ValueError(
            "X must be 2-D (n_samples, n_features) or 3-D (n_samples, height, "
            f"width), got {tiles.ndim} dimension(s)."
        )
    image_shape = _resolve_image_shape(tiles.shape[1], image_shape)

    if labels is not None:
        labels = np.asarray(labels)
        if labels.ndim != 1 or labels.shape[0] != n_total:
            raise ValueError(
                f"labels must be 1-D with one entry per sample ({n_total}), got "
                f"shape {labels.shape}."
            )
        labels = labels[idx]

    tiles, vmin, vmax = _normalize_tiles(tiles, normalize)
    ncols = _resolve_ncols(n_show, ncols)
    mosaic, nrows = _make_mosaic(tiles, image_shape, ncols)
    fig, ax = _draw_mosaic(
        mosaic,
        nrows,
        ncols,
        cmap=cmap,
        pad_color=pad_color,
        vmin=vmin,
        vmax=vmax,
        ax=ax,
        figsize=figsize,
        title=title,
    )
    if labels is not None:
        h, w = image_shape
        for i, label in enumerate(labels):
            r, c = divmod(i, ncols)
            ax.text(
                c * (w + 1),
                r * (h + 1),
                str(label),
                color=label_color,
                fontsize="x-small",
                ha="left",
                va="top",
            )
    return fig


def _reconstruction_rows(estimator, X):
    """(label, images) of the inputs and of each depth's reconstruction."""
    if _is_stacked(estimator):
        autoencoders = list(estimator.autoencoders_)
        if not autoencoders:
            raise ValueError("The stacked estimator has no hidden layers.")
    else:
        _check_not_fitted(estimator, "coefs_")
        if not (
            hasattr(estimator, "transform") and hasattr(estimator, "inverse_transform")
        ):
            raise TypeError(
                "estimator must be a fitted autoencoder (with transform and "
                "inverse_transform) or a stacked estimator (with autoencoders_), "
                f"got {type(estimator).__name__}."
            )
        autoencoders = [estimator]
    rows = []
    for depth in range(1, len(autoencoders) + 1):
        codes = X
        for ae in autoencoders[:depth]:
            codes = ae.transform(codes)
        for ae in reversed(autoencoders[:depth]):
            codes = ae.inverse_transform(codes)
        if len(autoencoders) == 1:
            label = "reconstruction"
        elif depth == 1:
            label = "autoencoder 1"
        else:
            label = f"autoencoders 1-{depth}"
        rows.append((label, np.asarray(codes, dtype=float)))
    return rows


def plot_reconstructions(
    estimator,
    X,
    *,
    image_shape=None,
    n_samples=10,
    random_state=None,
    cmap="gray",
    pad_color="white",
    figsize=None,
    title=None,
):
    """Draw input images above their reconstructions by the autoencoders.

    The first row shows the inputs, each following row the same images
    reconstructed: by a single autoencoder, ``inverse_transform(transform(X))``;
    by a stacked estimator, one row per depth ``k``: encoded through the
    first ``k`` autoencoders of ``autoencoders_`` and decoded back through
    their decoders in reverse order (``k = 1`` is the first autoencoder, the
    last row the whole stack). Each row's label gives the mean reconstruction
    error ``(1/2) ||x_hat - x||^2`` of the images shown.

    Parameters
    ----------
    estimator : estimator
        A fitted :class:`~skl_sparse_ae.SparseAutoencoderTransformer` (or any
        fitted transformer with ``transform`` and ``inverse_transform``), or
        a fitted stacked estimator (it has ``autoencoders_``, e.g.
        :class:`~skl_sparse_ae.StackedSparseAEClassifier`). A stack's
        autoencoders are the pretrained ones: fine-tuning changes the
        network's encoders but trains no decoder.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Images, one per row (flattened in C order).
    image_shape : tuple of (int, int), default=None
        ``(height, width)`` of one image. ``None`` assumes square images
        (``sqrt(n_features)`` must be an integer).
    n_samples : int, default=10
        Number of images to draw (at most ``len(X)``), one per column.
    random_state : int, RandomState instance or None, default=None
        ``None`` draws the first ``n_samples`` rows of ``X``; otherwise a
        random subset (without replacement) drawn with this seed.
    cmap : str or matplotlib Colormap, default="gray"
        Colour map of the tiles.
    pad_color : color, default="white"
        Colour of the 1-pixel padding between tiles.
    figsize : tuple of (float, float), default=None
        Size of the figure in inches; chosen from the numbers of rows and
        images if ``None``.
    title : str, default=None
        Title of the figure.

    Returns
    -------
    fig : matplotlib Figure
        The figure: one axes per row, inputs first; each axes holds one
        mosaic image with the tiles in a row (see the module's docstring).

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    NotFittedError
        If an unfitted estimator is passed.
    ValueError
        If ``X`` is not 2-D, does not match the estimator, or ``image_shape``
        does not match the number of features.

    See Also
    --------
    plot_samples : Draw input samples as a grid.
    skl_sparse_ae.SparseAutoencoderTransformer.score_samples : Minus each
        sample's reconstruction error.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from sklearn.datasets import load_digits
    >>> from skl_sparse_ae import SparseAE
    >>> from skl_sparse_ae.plotting import plot_reconstructions
    >>> X = load_digits().data / 16
    >>> ae = SparseAE(n_components=16, tol=1e-3, max_iter=500, random_state=0)
    >>> fig = plot_reconstructions(ae.fit(X), X, n_samples=8)
    >>> [ax.get_ylabel().split("\\n")[0] for ax in fig.axes]
    ['input', 'reconstruction']
    >>> fig.axes[1].get_images()[0].get_array().shape  # 8 tiles of 8x8 + pad
    (8, 71)
    >>> plt.close(fig)
    """
    if not isinstance(n_samples, numbers.Integral) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
    n_total = X.shape[0] if sparse.issparse(X) else len(X)
    n_show = min(int(n_samples), n_total)
    if n_show == 0:
        raise ValueError("X contains no samples to draw.")
    if random_state is None:
        idx = np.arange(n_show)
    else:
        idx = check_random_state(random_state).choice(n_total, n_show, replace=False)
    X = sparse.csr_matrix(X)[idx] if sparse.issparse(X) else np.asarray(X)[idx]
    if X.ndim != 2:
        raise ValueError(
            f"X must be 2-D (n_samples, n_features), got {X.ndim} dimension(s)."
        )
    rows = _reconstruction_rows(estimator, X)
    inputs = X.toarray() if sparse.issparse(X) else X
    inputs = np.asarray(inputs, dtype=float)
    image_shape = _resolve_image_shape(inputs.shape[1], image_shape)

    plt = _import_pyplot()
    n_rows = 1 + len(rows)
    if figsize is None:
        figsize = (1.6 + 0.75 * n_show, 0.2 + 0.85 * n_rows + (0.35 if title else 0))
    fig, axes = plt.subplots(n_rows, 1, figsize=figsize, squeeze=False)
    axes = axes.ravel()
    # one colour scale for all rows: the inputs' range
    vmin, vmax = float(inputs.min()), float(inputs.max())
    if vmin == vmax:
        vmin, vmax = vmin - 0.5, vmax + 0.5
    labelled = [("input", inputs, None)] + [
        (label, images, 0.5 * np.mean(np.sum((images - inputs) ** 2, axis=1)))
        for label, images in rows
    ]
    for ax, (label, images, error) in zip(axes, labelled, strict=True):
        mosaic, _ = _make_mosaic(images, image_shape, n_show)
        ax.imshow(
            mosaic,
            cmap=_get_cmap(cmap, pad_color),
            vmin=vmin,
            vmax=vmax,
            interpolation="nearest",
        )
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        text = label if error is None else f"{label}\nmean error {error:#.3g}"
        ax.set_ylabel(text, rotation=0, ha="right", va="center", fontsize="small")
    if title is not None:
        fig.suptitle(title, fontsize="medium")
    fig.tight_layout()
    return fig


def _is_curve(obj):
    """True for a 1-D sequence of real numbers (one loss curve)."""
    if isinstance(obj, np.ndarray):
        return obj.ndim == 1 and obj.dtype.kind in "biuf"
    if isinstance(obj, (list, tuple)):
        return all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in obj)
    return False


def _as_curve(curve, label):
    values = np.asarray(curve, dtype=float)
    if values.ndim != 1:
        raise ValueError(
            f"The loss curve {label!r} must be 1-D, got shape {values.shape}."
        )
    return values


def _estimator_curves(est, prefix=None):
    """(label, curve) pairs of a fitted single or stacked estimator."""
    if _is_stacked(est):
        pairs = [
            (f"layer {k + 1} pretraining", ae.loss_curve_)
            for k, ae in enumerate(est.autoencoders_)
        ]
        fine_tuning = getattr(est, "loss_curve_", None)
        if fine_tuning is not None and len(fine_tuning) > 0:
            pairs.append(("fine-tuning", fine_tuning))
        if prefix is not None:
            pairs = [(f"{prefix}: {label}", curve) for label, curve in pairs]
        return pairs
    _check_not_fitted(est, "loss_curve_")
    return [("loss" if prefix is None else prefix, est.loss_curve_)]


def _is_estimator_like(obj):
    return _is_stacked(obj) or hasattr(obj, "loss_curve_") or hasattr(obj, "fit")


def _collect_curves(obj):
    """Normalise the accepted inputs into a list of (label, curve) pairs."""
    if _is_estimator_like(obj):
        return _estimator_curves(obj)
    if isinstance(obj, dict):
        pairs = []
        for key, value in obj.items():
            if _is_estimator_like(value):
                pairs.extend(_estimator_curves(value, prefix=str(key)))
            else:
                pairs.append((str(key), value))
        return pairs
    if _is_curve(obj):
        return [("loss", obj)]
    if isinstance(obj, np.ndarray) and obj.ndim == 2:
        obj = list(obj)
    if isinstance(obj, (list, tuple)):
        pairs = []
        for i, item in enumerate(obj):
            if _is_estimator_like(item):
                pairs.extend(_estimator_curves(item, prefix=f"estimator {i}"))
            else:
                pairs.append((f"curve {i}", item))
        return pairs
    raise TypeError(
        "estimators_or_curves must be a fitted estimator with loss_curve_, a "
        "dict {label: curve or estimator}, a list of curves or estimators, or "
        f"a single curve; got {type(obj).__name__}."
    )


def plot_loss_curves(
    estimators_or_curves,
    *,
    labels=None,
    ax=None,
    logy=False,
    subplots=None,
    figsize=None,
    title=None,
):
    """Plot training loss curves (loss per iteration / epoch).

    Parameters
    ----------
    estimators_or_curves : estimator, dict, list or array-like
        The curves to plot:

        - a fitted single autoencoder (e.g.
          :class:`~skl_sparse_ae.SparseAutoencoderTransformer`): its ``loss_curve_``;
        - a fitted stacked estimator (it has ``autoencoders_``, e.g.
          :class:`~skl_sparse_ae.StackedSparseAEClassifier`): one curve per
          autoencoder's
          ``loss_curve_``, labelled ``"layer 1 pretraining"``, ``"layer 2
          pretraining"``, ..., plus its own ``loss_curve_`` labelled
          ``"fine-tuning"`` if it is non-empty;
        - a dict ``{label: curve or fitted estimator}`` (labels of a stacked
          estimator's curves are prefixed with ``"label: "``);
        - a list of curves and/or fitted estimators, or a 2-D array with one
          curve per row (labelled ``"curve 0"``, ``"curve 1"``, ... and
          ``"estimator 0: ..."`` for estimators);
        - a single 1-D curve.

        An estimator (an object with ``fit``) lacking ``loss_curve_`` is
        unfitted and raises :class:`~sklearn.exceptions.NotFittedError`.
    labels : list of str, default=None
        Labels replacing the automatic ones, one per curve (in the order
        described above).
    ax : matplotlib Axes, default=None
        Axes to draw into (implies ``subplots=False``). A new figure is
        created if ``None``.
    logy : bool, default=False
        Use a logarithmic y-axis.
    subplots : bool, default=None
        Draw each curve in its own subplot, useful because pretraining
        (reconstruction + sparsity + weight decay) and fine-tuning
        (cross-entropy) losses have different scales. ``None`` means True
        for a stacked estimator with more than one curve and False
        otherwise.
    figsize : tuple of (float, float), default=None
        Size of the new figure in inches. Ignored when ``ax`` is given.
    title : str, default=None
        Figure title (axes title when ``ax`` is given or with one axes).

    Returns
    -------
    fig : matplotlib Figure
        The figure holding the curves (``ax.figure`` if ``ax`` was given).

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    NotFittedError
        If an unfitted estimator is passed.
    ValueError
        If there are no (non-empty) curves, a curve is not 1-D, ``labels``
        has the wrong length, or ``subplots=True`` is combined with ``ax``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from skl_sparse_ae.plotting import plot_loss_curves
    >>> curves = {"rho=0.05": [3.0, 1.5, 1.0, 0.8], "rho=0.1": [3.2, 2.0, 1.2]}
    >>> fig = plot_loss_curves(curves, logy=True)
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['rho=0.05', 'rho=0.1']
    >>> fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()
    ('iteration / epoch', 'loss')
    >>> plt.close(fig)
    """
    stacked_input = _is_stacked(estimators_or_curves)
    pairs = _collect_curves(estimators_or_curves)
    if not pairs:
        raise ValueError("There are no loss curves to plot.")
    if labels is not None:
        labels = [str(label) for label in labels]
        if len(labels) != len(pairs):
            raise ValueError(
                f"Got {len(labels)} labels for {len(pairs)} loss curves "
                f"({[label for label, _ in pairs]})."
            )
        pairs = [
            (label, curve) for label, (_, curve) in zip(labels, pairs, strict=True)
        ]
    pairs = [(label, _as_curve(curve, label)) for label, curve in pairs]
    if not any(curve.size for _, curve in pairs):
        raise ValueError("The loss curves are empty; there is nothing to plot.")

    if subplots is None:
        subplots = ax is None and stacked_input and len(pairs) > 1
    elif subplots and ax is not None:
        raise ValueError("subplots=True cannot be combined with ax.")

    plt = _import_pyplot()
    if ax is not None:
        fig, axes = ax.figure, [ax] * len(pairs)
    elif subplots:
        n = len(pairs)
        if figsize is None:
            figsize = (min(4.0 * n, 16.0), 3.5)
        fig, axs = plt.subplots(1, n, figsize=figsize, squeeze=False)
        axes = list(axs.ravel())
    else:
        fig, single = plt.subplots(figsize=figsize or (6.0, 4.0))
        axes = [single] * len(pairs)

    for target, (label, curve) in zip(axes, pairs, strict=True):
        target.plot(np.arange(1, curve.size + 1), curve, label=label)
        if subplots:
            target.set_title(label)
    for target in dict.fromkeys(axes):  # unique axes, in order
        target.set_xlabel("iteration / epoch")
        target.set_ylabel("loss")
        if logy:
            target.set_yscale("log")
        if not subplots and (len(pairs) > 1 or labels is not None):
            target.legend()

    if title is not None:
        if len(set(map(id, axes))) == 1:
            axes[0].set_title(title)
        else:
            fig.suptitle(title)
    if ax is None:
        fig.tight_layout()
    return fig


def save_figure(fig, path, *, dpi=150, **savefig_kwargs):
    """Save a figure to ``path`` with a tight bounding box.

    Parameters
    ----------
    fig : matplotlib Figure
        The figure to save, e.g. as returned by :func:`plot_filters`.
    path : str or path-like
        Destination file; the format follows the extension (``.png``,
        ``.pdf``, ``.svg``, ...).
    dpi : float, default=150
        Resolution in dots per inch (raster formats).
    **savefig_kwargs : dict
        Further keyword arguments of :meth:`matplotlib.figure.Figure.savefig`.

    Returns
    -------
    path : str or path-like
        The ``path`` argument, for convenience.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import os, tempfile
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from skl_sparse_ae.plotting import plot_filters, save_figure
    >>> fig = plot_filters(np.eye(16))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = save_figure(fig, os.path.join(tmp, "filters.png"))
    ...     os.path.getsize(out) > 0
    True
    >>> plt.close(fig)
    """
    savefig_kwargs.setdefault("bbox_inches", "tight")
    fig.savefig(path, dpi=dpi, **savefig_kwargs)
    return path
