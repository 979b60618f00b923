"""The field's metrics of sparse autoencoders, as functions and as scorers.

Two kinds of metrics, as the sparse-autoencoder literature reports them
(Gao et al. 2024, SAELens, SAEBench):

- **Reconstruction** metrics compare the data ``X`` with its reconstruction
  ``X_hat`` (``inverse_transform(transform(X))``):
  :func:`fraction_of_variance_unexplained` (FVU), :func:`explained_variance`
  (``1 - FVU`` by default), :func:`mean_squared_error` and
  :func:`cosine_similarity`, with the per-row quantities of the last two in
  :func:`squared_error_per_row` and :func:`cosine_similarity_per_row`.
- **Sparsity** metrics look at the codes ``transform(X)`` alone:
  :func:`l0` (and :func:`l0_per_row`), :func:`dead_fraction`,
  :func:`feature_density` and :func:`feature_density_histogram`.

The functions take arrays: X and X_hat dense or CSR, in float32 or float64
(the sums are accumulated in float64, in chunks of rows); codes dense or
``scipy.sparse``. Each takes an optional ``sample_weight``: a weight ``w``
counts a row as if it were repeated ``w`` times.

The scorers are callables ``scorer(estimator, X, y=None)`` that call
``estimator.transform`` once and, for the reconstruction metrics,
``estimator.inverse_transform`` once on its result, so they work for the
package's autoencoders and for a :class:`~sklearn.pipeline.Pipeline` whose
steps all have ``inverse_transform`` (the reconstruction is then compared
with the pipeline's input, in its original units). Get them by name with
:func:`get_scorer` (:func:`get_scorer_names` lists the names), build others
with :func:`make_sae_scorer`, or compute several at once, from one
``transform``, with :func:`make_multimetric_scorer`. Higher is better, as
for scikit-learn's scorers: errors are negated and named ``neg_*``. ``l0``
and ``dead_fraction`` are not better when higher nor when lower (they are
chosen, not optimised), so their scorers return the value itself: use them
to report in :func:`~sklearn.model_selection.cross_validate` or in a search
that refits on a quality scorer (``GridSearchCV(..., scoring={...},
refit="explained_variance")``).
"""

import math

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_array
from sklearn.utils.validation import _check_sample_weight

__all__ = [
    "cosine_similarity",
    "cosine_similarity_per_row",
    "dead_fraction",
    "explained_variance",
    "feature_density",
    "feature_density_histogram",
    "fraction_of_variance_unexplained",
    "get_scorer",
    "get_scorer_names",
    "l0",
    "l0_per_row",
    "make_multimetric_scorer",
    "make_sae_scorer",
    "mean_squared_error",
    "squared_error_per_row",
]

# rows densified (in float64) at a time
_CHUNK_SIZE = 4096

_EXPLAINED_VARIANCE_DEFINITIONS = ("centred", "about_zero", "mean_of_rows")

# ---------------------------------------------------------------------------
# Validation


def _check_pair(X, X_hat, sample_weight):
    """X, X_hat (dense or CSR, float32/float64) of one shape, and the weights."""
    X = check_array(
        X, accept_sparse="csr", dtype=[np.float64, np.float32], input_name="X"
    )
    X_hat = check_array(
        X_hat, accept_sparse="csr", dtype=[np.float64, np.float32], input_name="X_hat"
    )
    if X.shape != X_hat.shape:
        raise ValueError(
            f"X and X_hat must have the same shape, got {X.shape} and {X_hat.shape}."
        )
    return X, X_hat, _check_weights(sample_weight, X)


def _check_codes(codes, sample_weight):
    """Codes as a dense array or a CSR matrix, and the weights."""
    codes = check_array(
        codes, accept_sparse=["csr", "csc", "coo"], dtype="numeric", input_name="codes"
    )
    if sp.issparse(codes):
        codes = sp.csr_matrix(codes)
    return codes, _check_weights(sample_weight, codes)


def _check_weights(sample_weight, X):
    """Float64 weights, with scikit-learn's checks (length, sign, not all zero)."""
    if sample_weight is None:
        return None
    sample_weight = _check_sample_weight(
        sample_weight, X, dtype=np.float64, ensure_non_negative=True
    )
    # scikit-learn < 1.7 and numpy < 2 do not say this themselves
    if not sample_weight.sum() > 0:
        raise ValueError("sample_weight must have at least one non-zero weight.")
    return sample_weight


def _mean(values, sample_weight):
    """Mean (weighted with sample weights) of per-row values, as a float."""
    return float(np.average(values, weights=sample_weight))


def _ratio(numerator, denominator):
    """``numerator / denominator``; 0/0 is 0 and x/0 is inf (x > 0)."""
    if denominator > 0:
        return numerator / denominator
    return 0.0 if numerator == 0 else math.inf


def _dense_rows(X, start, stop):
    rows = X[start:stop]
    rows = rows.toarray() if sp.issparse(rows) else rows
    return np.asarray(rows, dtype=np.float64)


def _per_row(function, *arrays):
    """``function`` of chunks of rows of the arrays (densified, in float64), joined."""
    n_samples = arrays[0].shape[0]
    return np.concatenate(
        [
            function(*(_dense_rows(A, start, start + _CHUNK_SIZE) for A in arrays))
            for start in range(0, n_samples, _CHUNK_SIZE)
        ]
    )


def _squared_norms(rows):
    return np.einsum("ij,ij->i", rows, rows)


def _column_mean(X, sample_weight):
    """Mean of the rows of X (weighted with sample weights), float64."""
    total = np.zeros(X.shape[1])
    for start in range(0, X.shape[0], _CHUNK_SIZE):
        rows = _dense_rows(X, start, start + _CHUNK_SIZE)
        if sample_weight is None:
            total += rows.sum(axis=0)
        else:
            total += sample_weight[start : start + _CHUNK_SIZE] @ rows
    n = X.shape[0] if sample_weight is None else sample_weight.sum()
    return total / n if n > 0 else total


def _sum(values, sample_weight):
    if sample_weight is None:
        return float(values.sum())
    return float(values @ sample_weight)


# ---------------------------------------------------------------------------
# Reconstruction metrics


def squared_error_per_row(X, X_hat):
    """Squared reconstruction error of each row, ``||x_i - x_hat_i||^2``.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The data.
    X_hat : {array-like, sparse matrix} of shape (n_samples, n_features)
        Its reconstruction.

    Returns
    -------
    errors : ndarray of shape (n_samples,)
        The squared Euclidean distance of each row to its reconstruction,
        in float64.

    See Also
    --------
    mean_squared_error : Their mean, divided by ``n_features``.

    Examples
    --------
    >>> import numpy as np
    >>> from skl_sparse_ae.metrics import squared_error_per_row
    >>> X = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> squared_error_per_row(X, [[1.0, 0.0], [0.0, 0.0]])
    array([ 4., 25.])
    """
    X, X_hat, _ = _check_pair(X, X_hat, None)
    return _per_row(lambda x, x_hat: _squared_norms(x - x_hat), X, X_hat)


def mean_squared_error(X, X_hat, *, sample_weight=None):
    """Mean squared reconstruction error over all entries of X.

    ``sum_i w_i ||x_i - x_hat_i||^2 / (n_features * sum_i w_i)``: the mean
    over every entry (row and feature), as
    :func:`sklearn.metrics.mean_squared_error` with its default
    ``multioutput="uniform_average"``. It is in the squared units of X; the
    mean of the squared error per row is ``n_features`` times it.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The data.
    X_hat : {array-like, sparse matrix} of shape (n_samples, n_features)
        Its reconstruction.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the rows; None weighs every row 1.

    Returns
    -------
    mse : float
        The mean squared error, 0 for a perfect reconstruction.

    See Also
    --------
    squared_error_per_row : The squared error of each row.
    fraction_of_variance_unexplained : The same error relative to the
        variance of X, which does not depend on X's scale.

    Examples
    --------
    >>> import numpy as np
    >>> from skl_sparse_ae.metrics import mean_squared_error
    >>> X = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> mean_squared_error(X, [[1.0, 0.0], [0.0, 0.0]])  # (4 + 25) / 4
    7.25
    """
    X, X_hat, sample_weight = _check_pair(X, X_hat, sample_weight)
    errors = _per_row(lambda x, x_hat: _squared_norms(x - x_hat), X, X_hat)
    return _mean(errors, sample_weight) / X.shape[1]


def fraction_of_variance_unexplained(X, X_hat, *, sample_weight=None):
    """Fraction of the variance of X that its reconstruction leaves unexplained.

    ``FVU = sum_i w_i ||x_i - x_hat_i||^2 / sum_i w_i ||x_i - mean(X)||^2``,
    with ``mean(X)`` the (weighted) mean row of X itself: the total squared
    error over the total variance about the mean, summed over all features
    before the ratio is taken. 0 is a perfect reconstruction, 1 is no better
    than predicting the mean row. It does not depend on X's scale.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The data.
    X_hat : {array-like, sparse matrix} of shape (n_samples, n_features)
        Its reconstruction.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the rows (of the error and of the variance, and in the
        mean); None weighs every row 1.

    Returns
    -------
    fvu : float
        The FVU, at least 0. When X has no variance (its rows all equal):
        0 for a perfect reconstruction, ``inf`` otherwise.

    See Also
    --------
    explained_variance : ``1 - FVU``, and the variants of the field.
    skl_sparse_ae.TopKSparseAutoencoder.score : Minus this FVU of the
        autoencoder's own reconstruction.

    Notes
    -----
    This is the datafit of :class:`~skl_sparse_ae.TopKSparseAutoencoder` with
    ``loss="fvu"`` (there divided by the variance of the training data) and
    ``1 - sklearn.metrics.r2_score(X, X_hat, multioutput="variance_weighted")``.

    Examples
    --------
    >>> import numpy as np
    >>> from skl_sparse_ae.metrics import fraction_of_variance_unexplained
    >>> X = np.array([[0.0, 1.0], [2.0, 3.0]])
    >>> fraction_of_variance_unexplained(X, X)
    0.0
    >>> fraction_of_variance_unexplained(X, [[1.0, 2.0], [1.0, 2.0]])  # the mean
    1.0
    >>> fraction_of_variance_unexplained(X, [[0.0, 1.0], [2.0, 2.0]])
    0.25
    """
    X, X_hat, sample_weight = _check_pair(X, X_hat, sample_weight)
    mean = _column_mean(X, sample_weight)
    errors = _per_row(lambda x, x_hat: _squared_norms(x - x_hat), X, X_hat)
    deviations = _per_row(lambda x: _squared_norms(x - mean), X)
    return _ratio(_sum(errors, sample_weight), _sum(deviations, sample_weight))


def explained_variance(X, X_hat, *, sample_weight=None, definition="centred"):
    """Fraction of the variance of X explained by its reconstruction.

    The formulas of the field differ; ``definition`` chooses one:

    - ``"centred"`` (default): ``1 - FVU`` (see
      :func:`fraction_of_variance_unexplained`), the variance about the mean
      of X: ``1 - sum_i ||x_i - x_hat_i||^2 / sum_i ||x_i - mean(X)||^2``.
      The conventional definition (the coefficient of determination, R^2,
      of the reconstruction), and that of SAELens's ``explained_variance``
      since its pull request 665 (2026).
    - ``"about_zero"``: ``1 - sum_i ||x_i - x_hat_i||^2 / sum_i ||x_i||^2``,
      the variance about zero, i.e. the fraction of the squared norm
      explained. Higher than ``"centred"`` whenever X is not centred (the
      mean row alone scores ``||mean||^2 / mean(||x||^2)``, close to 1 for
      activations with a large mean), and equal for centred X. What
      SAELens's ``explained_variance`` computed between its pull requests
      443 (2025) and 665: a bug, kept here to compare with numbers reported
      from those versions.
    - ``"mean_of_rows"``: ``mean_i (1 - ||x_i - x_hat_i||^2 /
      ||x_i - mean(X)||^2)``, the mean of a ratio per row instead of a ratio
      of sums: the earlier formula of SAELens and SAEBench, which both
      still report it as ``explained_variance_legacy`` (SAELens takes the
      mean of each batch), and the one of the numbers of the SAEBench
      paper. Rows near the mean get huge ratios, so it is usually lower than
      ``"centred"`` and unstable; a row equal to the mean and not
      reconstructed exactly gives ``-inf``.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The data.
    X_hat : {array-like, sparse matrix} of shape (n_samples, n_features)
        Its reconstruction.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the rows; None weighs every row 1.
    definition : {"centred", "about_zero", "mean_of_rows"}, default="centred"
        The formula, as above.

    Returns
    -------
    explained_variance : float
        At most 1 (a perfect reconstruction), and unbounded below. With
        ``"centred"``, 0 is no better than the mean row; when X has no
        variance, 1 for a perfect reconstruction and ``-inf`` otherwise.

    See Also
    --------
    fraction_of_variance_unexplained : ``1 - explained_variance`` (centred).

    Notes
    -----
    The centred explained variance is not
    :func:`sklearn.metrics.explained_variance_score`, which also discounts
    the mean of the error (a reconstruction off by a constant scores 1
    there); it is ``sklearn.metrics.r2_score(X, X_hat,
    multioutput="variance_weighted")``.

    Examples
    --------
    >>> import numpy as np
    >>> from skl_sparse_ae.metrics import explained_variance
    >>> X = np.array([[10.0, 11.0], [12.0, 13.0]])
    >>> mean_only = [[11.0, 12.0], [11.0, 12.0]]
    >>> explained_variance(X, mean_only)
    0.0
    >>> round(explained_variance(X, mean_only, definition="about_zero"), 4)
    0.9925
    """
    if definition not in _EXPLAINED_VARIANCE_DEFINITIONS:
        raise ValueError(
            f"definition must be one of {_EXPLAINED_VARIANCE_DEFINITIONS}, "
            f"got {definition!r}."
        )
    X, X_hat, sample_weight = _check_pair(X, X_hat, sample_weight)
    errors = _per_row(lambda x, x_hat: _squared_norms(x - x_hat), X, X_hat)
    if definition == "about_zero":
        norms = _per_row(_squared_norms, X)
        return 1 - _ratio(_sum(errors, sample_weight), _sum(norms, sample_weight))
    mean = _column_mean(X, sample_weight)
    deviations = _per_row(lambda x: _squared_norms(x - mean), X)
    if definition == "centred":
        return 1 - _ratio(_sum(errors, sample_weight), _sum(deviations, sample_weight))
    ratios = np.divide(
        errors, deviations, out=np.zeros_like(errors), where=deviations > 0
    )
    ratios[(deviations == 0) & (errors > 0)] = math.inf
    return 1 - _mean(ratios, sample_weight)


def cosine_similarity_per_row(X, X_hat):
    """Cosine similarity of each row of X with its reconstruction.

    ``x_i . x_hat_i / (||x_i|| ||x_hat_i||)``; 1 where both rows are zero
    (a zero row reconstructed exactly), 0 where only one is.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The data.
    X_hat : {array-like, sparse matrix} of shape (n_samples, n_features)
        Its reconstruction.

    Returns
    -------
    similarities : ndarray of shape (n_samples,)
        In [-1, 1], float64.

    See Also
    --------
    cosine_similarity : Their mean.

    Examples
    --------
    >>> import numpy as np
    >>> from skl_sparse_ae.metrics import cosine_similarity_per_row
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0]])
    >>> cosine_similarity_per_row(X, [[2.0, 0.0], [0.0, 1.0]]).round(4)
    array([1.    , 0.7071])
    """
    X, X_hat, _ = _check_pair(X, X_hat, None)
    return _per_row(_row_cosines, X, X_hat)


def _row_cosines(x, x_hat):
    norms = np.sqrt(_squared_norms(x) * _squared_norms(x_hat))
    dots = np.einsum("ij,ij->i", x, x_hat)
    cosines = np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)
    both_zero = ~x.any(axis=1) & ~x_hat.any(axis=1)
    cosines[both_zero] = 1.0
    return np.clip(cosines, -1.0, 1.0)


def cosine_similarity(X, X_hat, *, sample_weight=None):
    """Mean cosine similarity of the rows of X with their reconstructions.

    The mean (weighted with sample weights) of
    :func:`cosine_similarity_per_row`: how well the reconstruction keeps each
    row's direction, whatever its norm (SAELens's ``cossim``).

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The data.
    X_hat : {array-like, sparse matrix} of shape (n_samples, n_features)
        Its reconstruction.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the rows; None weighs every row 1.

    Returns
    -------
    similarity : float
        In [-1, 1]; 1 when every reconstruction points in its row's direction.

    See Also
    --------
    cosine_similarity_per_row : The similarity of each row.

    Examples
    --------
    >>> import numpy as np
    >>> from skl_sparse_ae.metrics import cosine_similarity
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> cosine_similarity(X, [[3.0, 0.0], [1.0, 0.0]])
    0.5
    """
    X, X_hat, sample_weight = _check_pair(X, X_hat, sample_weight)
    return _mean(_per_row(_row_cosines, X, X_hat), sample_weight)


# ---------------------------------------------------------------------------
# Sparsity metrics


def _active(codes, threshold):
    """Boolean (dense) or 0/1 CSR matrix of the codes whose magnitude exceeds it."""
    if sp.issparse(codes):
        active = codes.copy()
        active.data = (np.abs(active.data) > threshold).astype(np.int8)
        active.eliminate_zeros()
        return active
    return np.abs(codes) > threshold


def l0_per_row(codes, *, threshold=0.0):
    """Number of active codes of each row.

    A code is active where its magnitude exceeds ``threshold``, by default
    where it is not zero (explicit zeros of a sparse matrix are not active).

    Parameters
    ----------
    codes : {array-like, sparse matrix} of shape (n_samples, n_components)
        The codes, e.g. ``transform(X)``.
    threshold : float, default=0.0
        Codes of magnitude at most ``threshold`` count as inactive. 0 suits
        ReLU and TopK codes; sigmoid features (never exactly 0) need a
        positive threshold.

    Returns
    -------
    l0 : ndarray of shape (n_samples,)
        The active codes of each row, as integers.

    See Also
    --------
    l0 : Their mean.

    Examples
    --------
    >>> import numpy as np
    >>> from skl_sparse_ae.metrics import l0_per_row
    >>> l0_per_row(np.array([[0.0, 2.0, 0.5], [0.0, 0.0, 0.0]]))
    array([2, 0])
    """
    codes, _ = _check_codes(codes, None)
    active = _active(codes, threshold)
    if sp.issparse(active):
        return np.diff(active.indptr).astype(np.intp)
    return active.sum(axis=1).astype(np.intp)


def l0(codes, *, threshold=0.0, sample_weight=None):
    """Mean number of active codes per row (the "L0" of the field).

    Parameters
    ----------
    codes : {array-like, sparse matrix} of shape (n_samples, n_components)
        The codes, e.g. ``transform(X)``.
    threshold : float, default=0.0
        Codes of magnitude at most ``threshold`` count as inactive (see
        :func:`l0_per_row`).
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the rows; None weighs every row 1.

    Returns
    -------
    l0 : float
        The mean of :func:`l0_per_row`: ``k`` for the codes of
        :class:`~skl_sparse_ae.TopKSparseAutoencoder` whose ``k`` largest
        pre-activations are all positive.

    See Also
    --------
    l0_per_row : The active codes of each row.
    feature_density : The mean activity of each latent; they sum to ``l0``.

    Examples
    --------
    >>> import numpy as np
    >>> from skl_sparse_ae.metrics import l0
    >>> l0(np.array([[0.0, 2.0, 0.5], [0.0, 0.0, 0.0]]))
    1.0
    """
    codes, sample_weight = _check_codes(codes, sample_weight)
    return _mean(l0_per_row(codes, threshold=threshold), sample_weight)


def feature_density(codes, *, threshold=0.0, sample_weight=None):
    """Fraction of the rows on which each latent is active.

    Also called the firing rate or activation frequency of each latent
    (SAELens's ``feature_density``; ``activation_frequency_`` of
    :class:`~skl_sparse_ae.TopKSparseAutoencoder` on its training data).

    Parameters
    ----------
    codes : {array-like, sparse matrix} of shape (n_samples, n_components)
        The codes, e.g. ``transform(X)``.
    threshold : float, default=0.0
        Codes of magnitude at most ``threshold`` count as inactive (see
        :func:`l0_per_row`).
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the rows: the density is the weighted fraction. None
        weighs every row 1.

    Returns
    -------
    density : ndarray of shape (n_components,)
        In [0, 1], float64; 0 for a latent never active on these rows.

    See Also
    --------
    feature_density_histogram : Their histogram, on a log scale.
    dead_fraction : The fraction of latents of density 0.

    Examples
    --------
    >>> import numpy as np
    >>> from skl_sparse_ae.metrics import feature_density
    >>> codes = np.array([[0.0, 2.0, 0.5], [0.0, 1.0, 0.0]])
    >>> feature_density(codes)
    array([0. , 1. , 0.5])
    """
    codes, sample_weight = _check_codes(codes, sample_weight)
    active = _active(codes, threshold)
    n_samples, n_components = codes.shape
    if sp.issparse(active):
        if sample_weight is None:
            counts = np.bincount(active.indices, minlength=n_components)
            return counts / n_samples
        counts = np.asarray(sample_weight @ active, dtype=np.float64).ravel()
        return counts / sample_weight.sum()
    return np.average(active, axis=0, weights=sample_weight).astype(np.float64)


def dead_fraction(codes, *, threshold=0.0, sample_weight=None):
    """Fraction of the latents never active on the rows of ``codes``.

    A latent is dead here when it is not active on any row (of positive
    weight). This depends on the rows: on a held-out fold, a latent used
    rarely may look dead. (:class:`~skl_sparse_ae.TopKSparseAutoencoder`'s
    ``n_dead_components_`` counts instead the latents not active over the
    last ``dead_after`` training rows.)

    Parameters
    ----------
    codes : {array-like, sparse matrix} of shape (n_samples, n_components)
        The codes, e.g. ``transform(X)``.
    threshold : float, default=0.0
        Codes of magnitude at most ``threshold`` count as inactive (see
        :func:`l0_per_row`).
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the rows: rows of weight 0 do not count. None weighs
        every row 1.

    Returns
    -------
    fraction : float
        In [0, 1]: the dead latents over ``n_components``.

    See Also
    --------
    feature_density : The fraction of rows on which each latent is active.

    Examples
    --------
    >>> import numpy as np
    >>> from skl_sparse_ae.metrics import dead_fraction
    >>> dead_fraction(np.array([[0.0, 2.0, 0.5, 0.0], [0.0, 1.0, 0.0, 0.0]]))
    0.5
    """
    density = feature_density(codes, threshold=threshold, sample_weight=sample_weight)
    return float(np.mean(density == 0))


def feature_density_histogram(
    codes, *, bins=50, range=None, threshold=0.0, sample_weight=None
):
    """Histogram of the latents' densities on a log10 scale, dead latents apart.

    The plot of Anthropic's "Towards monosemanticity" and of SAELens: the
    distribution over the latents of ``log10(feature_density)``, which shows
    ultra-rare and ultra-dense latents. A dead latent has density 0, whose
    logarithm is ``-inf``: it is counted in ``n_dead``, not in the histogram
    (SAELens instead adds 1e-10 to the density, which puts dead latents at
    -10).

    Parameters
    ----------
    codes : {array-like, sparse matrix} of shape (n_samples, n_components)
        The codes, e.g. ``transform(X)``.
    bins : int or sequence of float, default=50
        Number of equal-width bins, or the bin edges, in log10 units (as in
        :func:`numpy.histogram`).
    range : tuple of (float, float), default=None
        Lower and upper edges of the bins, in log10 units. None is from the
        logarithm of the smallest non-zero density possible on these rows
        (``1 / n_samples`` without weights), rounded down to an integer, to
        0, so that histograms of different codes of the same rows share
        their bins.
    threshold : float, default=0.0
        Codes of magnitude at most ``threshold`` count as inactive (see
        :func:`l0_per_row`).
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the rows (see :func:`feature_density`).

    Returns
    -------
    hist : ndarray of shape (n_bins,)
        The number of live latents in each bin.
    bin_edges : ndarray of shape (n_bins + 1,)
        The bin edges, in log10 units.
    n_dead : int
        The number of dead latents (density 0): ``hist.sum() + n_dead`` is
        ``n_components`` when ``range`` covers every density.

    See Also
    --------
    feature_density : The densities.

    Examples
    --------
    >>> import numpy as np
    >>> from skl_sparse_ae.metrics import feature_density_histogram
    >>> codes = np.zeros((100, 4))
    >>> codes[:1, 0] = codes[:10, 1] = codes[:, 2] = 1.0  # densities .01, .1, 1, 0
    >>> hist, edges, n_dead = feature_density_histogram(codes, bins=2)
    >>> hist, edges, n_dead
    (array([1, 2]), array([-2., -1.,  0.]), 1)
    """
    codes, sample_weight = _check_codes(codes, sample_weight)
    density = feature_density(codes, threshold=threshold, sample_weight=sample_weight)
    alive = density > 0
    if range is None:
        if sample_weight is None:
            smallest = 1 / codes.shape[0]
        else:
            smallest = sample_weight[sample_weight > 0].min() / sample_weight.sum()
        range = (min(math.floor(math.log10(smallest)), -1), 0.0)
    hist, bin_edges = np.histogram(np.log10(density[alive]), bins=bins, range=range)
    return hist, bin_edges, int(np.sum(~alive))


# ---------------------------------------------------------------------------
# Scorers

_ON = ("reconstruction", "codes")


class _SAEScorer:
    """A metric of an estimator's codes or reconstructions, as a scorer.

    ``scorer(estimator, X, y=None, sample_weight=None)`` calls
    ``estimator.transform(X)`` and, for ``on="reconstruction"``,
    ``estimator.inverse_transform`` of the codes, each once, and returns
    ``sign * metric(...)``.
    """

    def __init__(self, metric, on, sign, kwargs):
        self._metric = metric
        self._on = on
        self._sign = sign
        self._kwargs = kwargs

    def __call__(self, estimator, X, y=None, sample_weight=None):
        codes = estimator.transform(X)
        X_hat = estimator.inverse_transform(codes) if self._on == _ON[0] else None
        return self._from(X, codes, X_hat, sample_weight)

    def _from(self, X, codes, X_hat, sample_weight):
        kwargs = dict(self._kwargs)
        if sample_weight is not None:
            kwargs["sample_weight"] = sample_weight
        arrays = (codes,) if self._on == "codes" else (X, X_hat)
        return self._sign * float(self._metric(*arrays, **kwargs))

    def __repr__(self):
        arguments = [self._metric.__name__, f"on={self._on!r}"]
        if self._sign < 0:
            arguments.append("greater_is_better=False")
        arguments += [f"{key}={value!r}" for key, value in self._kwargs.items()]
        return f"make_sae_scorer({', '.join(arguments)})"


def make_sae_scorer(metric, *, on="reconstruction", greater_is_better=True, **kwargs):
    """Make a scorer of an estimator's reconstructions or codes from a metric.

    The scorer, ``scorer(estimator, X, y=None, sample_weight=None)``, calls
    ``codes = estimator.transform(X)`` once and, with
    ``on="reconstruction"``, ``X_hat = estimator.inverse_transform(codes)``
    once, then returns ``metric(X, X_hat, **kwargs)`` (``metric(codes,
    **kwargs)`` with ``on="codes"``), negated when
    ``greater_is_better=False``, as :func:`sklearn.metrics.make_scorer` does.
    It can be given to any ``scoring`` parameter of scikit-learn.

    Parameters
    ----------
    metric : callable
        ``metric(X, X_hat, **kwargs)`` (a reconstruction metric of this
        module, or :func:`sklearn.metrics.mean_absolute_error`, say) or
        ``metric(codes, **kwargs)`` (a sparsity metric), returning a float.
        ``sample_weight`` is passed to it only when the scorer is called
        with one.
    on : {"reconstruction", "codes"}, default="reconstruction"
        What the metric is computed on. ``"reconstruction"`` needs an
        estimator with ``inverse_transform``.
    greater_is_better : bool, default=True
        Whether higher values of the metric are better; if not, the scorer
        returns minus the metric, so that higher scores are better.
    **kwargs : dict
        Further keyword arguments of ``metric``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y=None, sample_weight=None)``, a float.

    See Also
    --------
    get_scorer : The scorers of the metrics of this module, by name.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skl_sparse_ae import TopKSAE
    >>> from skl_sparse_ae.metrics import explained_variance, make_sae_scorer
    >>> X = load_digits().data[:300] / 16
    >>> sae = TopKSAE(n_components=32, k=4, tol=1e-2, n_iter_no_change=3,
    ...               random_state=0).fit(X)
    >>> centred = make_sae_scorer(explained_variance)
    >>> about_zero = make_sae_scorer(explained_variance, definition="about_zero")
    >>> bool(about_zero(sae, X) > centred(sae, X))  # the digits are not centred
    True
    """
    if on not in _ON:
        raise ValueError(f"on must be one of {_ON}, got {on!r}.")
    if not callable(metric):
        raise TypeError(f"metric must be callable, got {metric!r}.")
    return _SAEScorer(metric, on, 1 if greater_is_better else -1, kwargs)


_SCORERS = {
    "explained_variance": make_sae_scorer(explained_variance),
    "neg_fvu": make_sae_scorer(
        fraction_of_variance_unexplained, greater_is_better=False
    ),
    "neg_mse": make_sae_scorer(mean_squared_error, greater_is_better=False),
    "cosine_similarity": make_sae_scorer(cosine_similarity),
    "l0": make_sae_scorer(l0, on="codes"),
    "dead_fraction": make_sae_scorer(dead_fraction, on="codes"),
}


def get_scorer_names():
    """List the names of the scorers of :func:`get_scorer`.

    Returns
    -------
    names : list of str
        ``"cosine_similarity"``, ``"dead_fraction"``,
        ``"explained_variance"`` (centred), ``"l0"``, ``"neg_fvu"`` (minus
        the FVU) and ``"neg_mse"`` (minus the mean squared error), sorted.

    See Also
    --------
    get_scorer : The scorer of a name.

    Examples
    --------
    >>> from skl_sparse_ae.metrics import get_scorer_names
    >>> get_scorer_names()
    ['cosine_similarity', 'dead_fraction', 'explained_variance', 'l0', 'neg_fvu',
     'neg_mse']
    """
    return sorted(_SCORERS)


def get_scorer(name):
    """The scorer of a metric of this module, by name.

    ``"explained_variance"``, ``"neg_fvu"``, ``"neg_mse"`` and
    ``"cosine_similarity"`` score the reconstructions
    (``inverse_transform(transform(X))``), higher is better.
    ``"l0"`` and ``"dead_fraction"`` return the value of those metrics of the
    codes (``transform(X)``): they are for reporting, since neither more nor
    fewer active latents is better in itself; refit a search on a quality
    scorer.

    scikit-learn's ``scoring`` parameters take their own names only, so pass
    the scorers themselves: ``scoring={"ev": get_scorer("explained_variance"),
    "l0": get_scorer("l0")}``.

    Parameters
    ----------
    name : str
        One of :func:`get_scorer_names`.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y=None, sample_weight=None)``, a float.

    See Also
    --------
    make_multimetric_scorer : Several of these scores from one ``transform``.
    make_sae_scorer : A scorer of another metric or with other options.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import cross_validate
    >>> from skl_sparse_ae import TopKSAE
    >>> from skl_sparse_ae.metrics import get_scorer
    >>> X = load_digits().data[:300] / 16
    >>> sae = TopKSAE(n_components=32, k=4, tol=1e-2, n_iter_no_change=3,
    ...               random_state=0)
    >>> scoring = {"ev": get_scorer("explained_variance"), "l0": get_scorer("l0")}
    >>> results = cross_validate(sae, X, cv=2, scoring=scoring)
    >>> results["test_l0"]
    array([4., 4.])
    """
    try:
        return _SCORERS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"{name!r} is not a scorer of skl_sparse_ae.metrics; "
            f"use one of {get_scorer_names()}."
        ) from None


class _MultimetricScorer:
    """Several SAE scorers from one ``transform`` (and ``inverse_transform``)."""

    def __init__(self, scorers):
        self._scorers = scorers

    def __call__(self, estimator, X, y=None, sample_weight=None):
        codes = estimator.transform(X)
        X_hat = None
        if any(scorer._on == "reconstruction" for scorer in self._scorers.values()):
            X_hat = estimator.inverse_transform(codes)
        return {
            key: scorer._from(X, codes, X_hat, sample_weight)
            for key, scorer in self._scorers.items()
        }

    def __repr__(self):
        return f"make_multimetric_scorer({self._scorers!r})"


def make_multimetric_scorer(scorers=None):
    """One scorer returning several scores, computed from one ``transform``.

    A dict of scorers given to ``scoring`` calls ``transform`` (and
    ``inverse_transform``) once per scorer; this callable calls each once
    and returns a dict of scores, which scikit-learn's ``scoring``
    parameters accept too (``cross_validate`` reports ``test_<key>``;
    ``GridSearchCV`` needs ``refit=<key>`` or ``refit=False``).

    Parameters
    ----------
    scorers : list of str or dict, default=None
        The names of the scores (see :func:`get_scorer_names`), or a dict
        from keys to names or to scorers of :func:`make_sae_scorer`. None is
        every name of :func:`get_scorer_names`.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y=None, sample_weight=None)``, a dict from the
        keys to floats.

    See Also
    --------
    get_scorer : The scorer of one name.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skl_sparse_ae import TopKSAE
    >>> from skl_sparse_ae.metrics import make_multimetric_scorer
    >>> X = load_digits().data[:300] / 16
    >>> sae = TopKSAE(n_components=32, tol=1e-2, n_iter_no_change=3, random_state=0)
    >>> scoring = make_multimetric_scorer(["explained_variance", "l0"])
    >>> search = GridSearchCV(
    ...     sae, {"k": [2, 8]}, cv=2, scoring=scoring, refit="explained_variance"
    ... ).fit(X)
    >>> search.best_params_
    {'k': 8}
    >>> search.cv_results_["mean_test_l0"]
    array([2., 8.])
    """
    if scorers is None:
        scorers = get_scorer_names()
    if not isinstance(scorers, dict):
        scorers = {name: name for name in scorers}
    resolved = {}
    for key, scorer in scorers.items():
        if isinstance(scorer, str):
            scorer = get_scorer(scorer)
        if not isinstance(scorer, _SAEScorer):
            raise TypeError(
                f"scorers[{key!r}] must be a name of get_scorer_names() or a "
                f"scorer of make_sae_scorer, got {scorer!r}."
            )
        resolved[key] = scorer
    return _MultimetricScorer(resolved)
