"""The mathematics of the TopK sparse autoencoder, as small pure functions.

The model (Gao et al., "Scaling and evaluating sparse autoencoders", 2024)::

    pre   = (x - b_dec) @ W_enc + b_enc            pre-activations, (m, h)
    z     = sparsity(pre)                          codes, at most k per row
    x_hat = z @ W_dec + b_dec                      reconstruction, (m, d)

with ``W_enc`` of shape (d, h), ``W_dec`` of shape (h, d) whose rows (the
dictionary atoms) have unit norm. The *sparsity* is a small object chosen by
name from :data:`SPARSITY`:

- :class:`TopK`: ``ReLU(TopK_k(pre))`` per row;
- :class:`BatchTopK`: the ``k * m`` largest pre-activations of the whole batch
  in training (Bussmann et al., 2024), a per-latent threshold at transform;
- :class:`ReLUL1`: ``ReLU(pre)`` with an L1 penalty weighted by the decoder
  row norms (Anthropic's "April 2024 update"); no unit-norm constraint.

Codes are ``scipy.sparse`` CSR matrices of shape (m, h): decoding and the
weight gradients that involve them are sparse-dense products, O(m k d)
instead of the O(m h d) of a dense product.

The objective (:func:`topk_loss_grad`) is a datafit (the mean squared error,
optionally divided by the data's variance: the fraction of variance
unexplained, FVU), plus the sparsity's penalty (L1 only), plus the auxiliary
AuxK loss: the residual ``x - x_hat`` reconstructed by the ``k_aux`` largest
pre-activations among the dead latents, as a normalised MSE. It is a pure
function of the parameters, the batch, the active set's rule and the mask of
dead latents; what training keeps between batches (which latents are dead,
BatchTopK's thresholds) lives in :class:`LatentStats`, updated by
:func:`make_training_objective`'s closure.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.sparsefuncs import mean_variance_axis

from ._params import unpack

#: Decay of BatchTopK's per-latent threshold (an exponential moving average
#: over the batches in which the latent is selected).
THRESHOLD_DECAY = 0.99

#: Rows used to estimate the geometric median that initialises ``b_dec``.
GEOMETRIC_MEDIAN_SAMPLES = 4096

# ---------------------------------------------------------------------------
# Parameters


def parameter_shapes(n_features, n_components):
    """Shapes of ``W_enc, b_enc, W_dec, b_dec``, in the order they are packed."""
    return [
        (n_features, n_components),
        (n_components,),
        (n_components, n_features),
        (n_features,),
    ]


def geometric_median(X, *, max_iter=100, tol=1e-5):
    """The point minimising the sum of Euclidean distances to the rows of X.

    Weiszfeld's algorithm, vectorised over rows, started at the mean; stops
    when a step moves the estimate by less than ``tol`` times the mean
    distance of the rows to it.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Dense rows.
    max_iter : int, default=100
        Iterations at most.
    tol : float, default=1e-5
        Relative tolerance on the step.

    Returns
    -------
    median : ndarray of shape (n_features,), float64
    """
    X = np.asarray(X, dtype=np.float64)
    median = X.mean(axis=0)
    for _ in range(max_iter):
        distances = np.sqrt(((X - median) ** 2).sum(axis=1))
        scale = distances.mean()
        if scale == 0:
            break
        weights = 1.0 / np.maximum(distances, 1e-12 * scale)
        new = weights @ X / weights.sum()
        step = np.sqrt(((new - median) ** 2).sum())
        median = new
        if step <= tol * scale:
            break
    return median


def mean_variance(X, sample_weight=None):
    """Mean over the features of each feature's (weighted) variance (float).

    ``MSE / mean_variance(X)`` is the fraction of variance unexplained.
    """
    if sp.issparse(X):
        _, variances = mean_variance_axis(X, axis=0, weights=sample_weight)
    elif sample_weight is None:
        variances = np.var(X, axis=0, dtype=np.float64)
    else:
        w = np.asarray(sample_weight, dtype=np.float64)
        mean = w @ X / w.sum()
        variances = w @ (np.asarray(X, dtype=np.float64) - mean) ** 2 / w.sum()
    return float(np.mean(variances)) if variances.size else 0.0


def init_parameters(
    X, n_components, random_state, decoder_bias_init, sample_weight=None
):
    """Initial ``W_enc, b_enc, W_dec, b_dec`` for data X, in X's dtype.

    Decoder rows are random directions (unit-norm Gaussian vectors), the
    encoder is the decoder's transpose, ``b_enc`` is zero and ``b_dec`` the
    geometric median of (a sample of at most
    :data:`GEOMETRIC_MEDIAN_SAMPLES` rows of) X, or its mean (weighted with
    ``sample_weight``).
    """
    n_samples, n_features = X.shape
    dtype = X.dtype
    W_dec = random_state.standard_normal((n_components, n_features))
    W_dec /= np.linalg.norm(W_dec, axis=1, keepdims=True)
    if decoder_bias_init == "mean" and sample_weight is not None:
        w = np.asarray(sample_weight, dtype=np.float64)
        b_dec = np.asarray(w @ X / w.sum(), dtype=np.float64).ravel()
    elif decoder_bias_init == "mean":
        b_dec = np.asarray(X.mean(axis=0), dtype=np.float64).ravel()
    else:
        rows = np.arange(n_samples)
        if n_samples > GEOMETRIC_MEDIAN_SAMPLES:
            rows = np.sort(
                random_state.choice(n_samples, GEOMETRIC_MEDIAN_SAMPLES, replace=False)
            )
        sample = X[rows]
        b_dec = geometric_median(sample.toarray() if sp.issparse(sample) else sample)
    return (
        np.ascontiguousarray(W_dec.T, dtype=dtype),
        np.zeros(n_components, dtype=dtype),
        W_dec.astype(dtype),
        b_dec.astype(dtype),
    )


def inplace_normalize_rows(W):
    """Divide each row of W by its Euclidean norm, in place (zero rows stay)."""
    norms = np.linalg.norm(W, axis=1)
    norms[norms == 0] = 1
    W /= norms[:, np.newaxis]
    return W


def inplace_remove_parallel_component(grad, W):
    """Remove from each row of ``grad`` its component along W's row (unit norm).

    ``grad[j] -= (grad[j] . W[j]) W[j]``: the step then moves each decoder
    row along the unit sphere to first order, so the renormalisation after
    it changes little.
    """
    parallel = np.einsum("ij,ij->i", grad, W)
    grad -= parallel[:, np.newaxis] * W
    return grad


# ---------------------------------------------------------------------------
# Codes: the active set and its values, as CSR matrices


def _csr(values, columns, indptr, n_components):
    return sp.csr_matrix(
        (values, columns, indptr), shape=(len(indptr) - 1, n_components), copy=False
    )


def topk_codes(pre, k):
    """``ReLU(TopK_k(pre))`` of each row, as CSR with exactly k stored entries a row.

    ``np.argpartition`` along the rows (no Python loop over rows). Entries
    whose pre-activation is not positive are stored as explicit zeros.
    """
    m, h = pre.shape
    k = min(k, h)
    columns = np.argpartition(pre, h - k, axis=1)[:, h - k :]
    values = np.take_along_axis(pre, columns, axis=1)
    np.maximum(values, 0, out=values)
    indptr = np.arange(0, m * k + 1, k, dtype=np.intp)
    return _csr(values.ravel(), columns.ravel(), indptr, h)


def batch_topk_codes(pre, n_active):
    """ReLU of the ``n_active`` largest entries of the whole batch, as CSR."""
    m, h = pre.shape
    flat = pre.ravel()
    n_active = min(n_active, flat.size)
    chosen = np.argpartition(flat, flat.size - n_active)[flat.size - n_active :]
    chosen.sort()  # by row, then column: the CSR order
    rows, columns = np.divmod(chosen, h)
    values = np.maximum(flat[chosen], 0)
    indptr = np.searchsorted(rows, np.arange(m + 1))
    return _csr(values, columns, indptr, h)


def threshold_codes(pre, threshold):
    """JumpReLU: ``pre`` where it exceeds its latent's threshold, else 0, as CSR."""
    kept = pre > threshold
    kept &= pre > 0
    return sp.csr_matrix(np.where(kept, pre, 0))


def relu_codes(pre):
    """``ReLU(pre)``, as CSR."""
    return sp.csr_matrix(np.maximum(pre, 0))


# ---------------------------------------------------------------------------
# The sparsity rules, chosen by name


class TopK:
    """``z = ReLU(TopK_k(pre))`` per row (Gao et al., 2024).

    Parameters
    ----------
    k : int
        Active latents per row.
    """

    unit_norm_decoder = True

    def __init__(self, k):
        self.k = k

    def train_codes(self, pre):
        """Codes of a training batch."""
        return topk_codes(pre, self.k)

    def transform_codes(self, pre, threshold=None):
        """Codes at transform (the same rule: each row on its own)."""
        return topk_codes(pre, self.k)

    def penalty(self, codes, W_dec, row_weights):
        """Penalty on the codes: value, gradient in the stored values, in W_dec.

        ``row_weights`` (summing to 1) make the mean over the rows.
        """
        return 0.0, None, None

    def observe(self, stats, codes):
        """Update the training statistics from a batch's codes."""
        stats.observe_active(codes)


class BatchTopK(TopK):
    """The ``k * m`` largest pre-activations of a batch of m rows (Bussmann et al.).

    In training, rows share the budget of ``k * m`` active latents, so a row
    may use more or fewer than k. At transform, latent j is active where its
    pre-activation exceeds ``threshold[j]``, learned in training (see
    :meth:`LatentStats.observe_threshold`), so that each row is encoded on
    its own.
    """

    def train_codes(self, pre):
        """Codes of a training batch: top ``k * m`` over the whole batch."""
        return batch_topk_codes(pre, self.k * pre.shape[0])

    def transform_codes(self, pre, threshold=None):
        """Codes at transform: the per-latent thresholds."""
        return threshold_codes(pre, threshold)

    def observe(self, stats, codes):
        """Track dead latents and update the thresholds."""
        stats.observe_active(codes)
        stats.observe_threshold(codes)


class ReLUL1:
    """``z = ReLU(pre)`` with ``l1_weight * mean_i sum_j z_ij ||W_dec[j]||``.

    The penalty is weighted by the decoder row norms, so the decoder is not
    constrained to unit-norm rows (shrinking a row and growing its code
    would otherwise lower the penalty for free).

    Parameters
    ----------
    l1_weight : float
        Weight of the penalty, in the units of the datafit per unit of code
        (see :func:`topk_loss_grad`'s ``penalty_scale``).
    """

    unit_norm_decoder = False

    def __init__(self, l1_weight):
        self.l1_weight = l1_weight

    def train_codes(self, pre):
        """Codes of a training batch: the ReLU."""
        return relu_codes(pre)

    def transform_codes(self, pre, threshold=None):
        """Codes at transform: the ReLU."""
        return relu_codes(pre)

    def penalty(self, codes, W_dec, row_weights):
        """Value and gradients of the weighted L1 penalty (mean over the rows).

        ``row_weights`` (shape (m,), summing to 1) weigh the rows' terms.
        """
        norms = np.linalg.norm(W_dec, axis=1)
        # each stored code's weight: l1_weight times its row's weight
        weights = (self.l1_weight * row_weights).astype(W_dec.dtype)
        weights = np.repeat(weights, np.diff(codes.indptr))
        value = float((weights * codes.data) @ norms[codes.indices])
        d_values = weights * norms[codes.indices]
        column_sums = np.bincount(
            codes.indices, weights * codes.data, minlength=W_dec.shape[0]
        ).astype(W_dec.dtype)
        safe = np.where(norms > 0, norms, 1)
        grad_W_dec = (column_sums / safe)[:, np.newaxis] * W_dec
        return value, d_values, grad_W_dec

    def observe(self, stats, codes):
        """Track dead latents."""
        stats.observe_active(codes)


#: Sparsity rules by name; each factory takes the estimator's ``k`` and
#: ``l1_weight`` and uses what it needs.
SPARSITY = {
    "topk": lambda k, l1_weight: TopK(k),
    "batch_topk": lambda k, l1_weight: BatchTopK(k),
    "l1": lambda k, l1_weight: ReLUL1(l1_weight),
}


# ---------------------------------------------------------------------------
# What training keeps per latent


class LatentStats:
    """Per-latent statistics kept between training batches.

    Parameters
    ----------
    n_components : int
        Number of latents.
    dtype : dtype
        Floating dtype of the thresholds.

    Attributes
    ----------
    samples_since_active : ndarray of shape (n_components,), int64
        Training rows seen since each latent was last active (non-zero on
        at least one row of a batch), counted in whole batches.
    threshold : ndarray of shape (n_components,)
        BatchTopK's thresholds: the moving average of the smallest positive
        value each latent took among a batch's selected entries; ``inf``
        for a latent never selected.
    """

    def __init__(self, n_components, dtype):
        self.samples_since_active = np.zeros(n_components, dtype=np.int64)
        self.threshold = np.full(n_components, np.inf, dtype=dtype)

    def dead(self, dead_after):
        """Mask of the latents not active over the last ``dead_after`` rows."""
        return self.samples_since_active >= dead_after

    def observe_active(self, codes):
        """Count a batch: latents with a positive value on some row are active."""
        self.samples_since_active += codes.shape[0]
        self.samples_since_active[codes.indices[codes.data > 0]] = 0

    def observe_threshold(self, codes, decay=THRESHOLD_DECAY):
        """Update the thresholds from the smallest selected positive values."""
        positive = codes.data > 0
        smallest = np.full_like(self.threshold, np.inf)
        np.minimum.at(smallest, codes.indices[positive], codes.data[positive])
        seen = np.isfinite(smallest)
        first = seen & ~np.isfinite(self.threshold)
        again = seen & ~first
        self.threshold[first] = smallest[first]
        self.threshold[again] = (
            decay * self.threshold[again] + (1 - decay) * (smallest[again])
        )


# ---------------------------------------------------------------------------
# Forward pass


def pre_activations(X, W_enc, b_enc, b_dec):
    """``(X - b_dec) @ W_enc + b_enc``; a sparse X stays sparse.

    Written as ``X @ W_enc + (b_enc - b_dec @ W_enc)``, so the centring costs
    a vector, not a dense copy of X.
    """
    pre = np.asarray(X @ W_enc)
    pre += b_enc - b_dec @ W_enc
    return pre


def decode(codes, W_dec, b_dec):
    """``codes @ W_dec + b_dec`` for dense or sparse codes (a new dense array)."""
    X_hat = np.asarray(codes @ W_dec)
    X_hat += b_dec
    return X_hat


def encode(X, params, sparsity, threshold=None):
    """Codes of the rows of X under the sparsity's transform rule (CSR).

    ``params`` is ``(W_enc, b_enc, W_dec, b_dec)``; explicit zeros dropped.
    """
    W_enc, b_enc, _, b_dec = params
    codes = sparsity.transform_codes(
        pre_activations(X, W_enc, b_enc, b_dec), threshold=threshold
    )
    codes.eliminate_zeros()
    return codes


def squared_error_and_variance(
    X, params, sparsity, threshold=None, chunk_size=4096, sample_weight=None
):
    """Sum of squared reconstruction errors and of squared deviations from the mean.

    Their ratio is the FVU. Works in chunks of rows, accumulates in float64;
    with ``sample_weight``, both sums and the mean are weighted.
    """
    w = None if sample_weight is None else np.asarray(sample_weight, np.float64)
    X_mean = np.asarray(
        X.mean(axis=0) if w is None else (w @ X) / w.sum(), dtype=np.float64
    ).ravel()
    error = deviation = 0.0
    for start in range(0, X.shape[0], chunk_size):
        chunk = X[start : start + chunk_size]
        dense = chunk.toarray() if sp.issparse(chunk) else np.asarray(chunk)
        X_hat = decode(encode(chunk, params, sparsity, threshold), *params[2:])
        X_hat -= dense
        centred = dense - X_mean
        if w is None:
            error += float(np.einsum("ij,ij->", X_hat, X_hat, dtype=np.float64))
            deviation += float(np.einsum("ij,ij->", centred, centred))
        else:
            rows = w[start : start + chunk_size]
            error += float(rows @ np.einsum("ij,ij->i", X_hat, X_hat, dtype=np.float64))
            deviation += float(rows @ np.einsum("ij,ij->i", centred, centred))
    return error, deviation


def fraction_of_variance_unexplained(
    X, params, sparsity, threshold=None, sample_weight=None
):
    """FVU = ``sum ||x - x_hat||^2 / sum ||x - mean(x)||^2`` over the rows of X.

    Weighted sums and mean with ``sample_weight``. When X has no variance: 0
    for a perfect reconstruction, else ``inf``.
    """
    error, deviation = squared_error_and_variance(
        X, params, sparsity, threshold, sample_weight=sample_weight
    )
    if deviation > 0:
        return error / deviation
    return 0.0 if error == 0 else np.inf


# ---------------------------------------------------------------------------
# The objective and its gradient


def _gather(dense, codes):
    """The entries of ``dense`` at the stored positions of ``codes`` (CSR)."""
    rows = np.repeat(np.arange(codes.shape[0]), np.diff(codes.indptr))
    return dense[rows, codes.indices]


def auxk_codes(pre, dead, k_aux):
    """TopK over the dead latents only (``dead`` a mask): CSR in all latents."""
    dead_index = np.flatnonzero(dead)
    codes = topk_codes(pre[:, dead_index], min(k_aux, dead_index.size))
    return _csr(codes.data, dead_index[codes.indices], codes.indptr, pre.shape[1])


def topk_loss_grad(
    theta,
    X,
    n_components,
    *,
    sparsity,
    loss_scale=1.0,
    penalty_scale=1.0,
    dead=None,
    k_aux=0,
    aux_weight=0.0,
    sample_weight=None,
    grad=None,
    workspace=None,
):
    """Loss and gradient of a sparse autoencoder with a given sparsity rule.

    ``loss = loss_scale * mean_i ||x_hat_i - x_i||^2 / n_features``
    ``+ penalty_scale * sparsity.penalty + aux_weight * AuxK``, with

    ``AuxK = ||e_hat - e||^2 / ||e - mean(e)||^2`` over the batch, where
    ``e = x - x_hat`` (a constant: no gradient flows through it) and
    ``e_hat = z_aux @ W_dec``, ``z_aux = ReLU(TopK_{k_aux}(pre))`` taken among
    the ``dead`` latents only. With ``loss_scale = 1 / mean_variance(X)``
    the datafit is the FVU.

    The gradient is exact for the active sets the batch selects (the TopK
    selection is piecewise constant); it is not projected (see
    :func:`inplace_remove_parallel_component`).

    Parameters
    ----------
    theta : ndarray
        ``W_enc, b_enc, W_dec, b_dec`` packed (see :func:`parameter_shapes`).
    X : {ndarray, sparse matrix} of shape (m, n_features)
        The batch.
    n_components : int
        Number of latents h.
    sparsity : TopK, BatchTopK or ReLUL1
        The rule giving the active set and any penalty.
    loss_scale, penalty_scale : float
        Multiply the mean squared error and the sparsity penalty.
    dead : ndarray of bool of shape (h,), default=None
        Dead latents, for AuxK; None or no True entry: no AuxK term.
    k_aux : int
        Latents of AuxK's reconstruction.
    aux_weight : float
        Weight of AuxK.
    sample_weight : ndarray of shape (m,), default=None
        Weights of the rows: every mean over the rows (the datafit, the
        penalty, AuxK's sums and mean) is the weighted one. None: all 1.
    grad : ndarray, default=None
        Where to write the gradient (like ``theta``).
    workspace : object, default=None
        Ignored (the signature of the minibatch solvers).

    Returns
    -------
    loss : float
    grad : ndarray like theta
    codes : scipy.sparse.csr_matrix of shape (m, h)
        The batch's codes (explicit zeros included).
    """
    m, n_features = X.shape
    dtype = theta.dtype.type
    shapes = parameter_shapes(n_features, n_components)
    W_enc, b_enc, W_dec, b_dec = unpack(theta, shapes)
    if grad is None:
        grad = np.empty_like(theta)
    gW_enc, gb_enc, gW_dec, gb_dec = unpack(grad, shapes)

    X_centred = X.toarray() if sp.issparse(X) else np.array(X, dtype=theta.dtype)
    X_centred -= b_dec
    pre = X_centred @ W_enc
    pre += b_enc
    codes = sparsity.train_codes(pre)

    # each row's share of the means over the batch
    if sample_weight is None:
        row_weights = np.full(m, 1 / m)
    else:
        row_weights = np.asarray(sample_weight, dtype=np.float64)
        row_weights = row_weights / row_weights.sum()

    # datafit: residual R = x_hat - x = z @ W_dec - (x - b_dec)
    residual = np.asarray(codes @ W_dec)
    residual -= X_centred
    aux_loss, d_pre_aux, gW_dec_aux = 0.0, None, None
    if dead is not None and aux_weight > 0 and dead.any():
        aux_loss, d_pre_aux, gW_dec_aux = _auxk_term(
            pre, residual, dead, k_aux, aux_weight, W_dec, row_weights
        )
    scale = loss_scale / n_features
    squares = np.einsum("ij,ij->i", residual, residual, dtype=np.float64)
    loss = scale * float(row_weights @ squares)
    # now d loss / d x_hat
    residual *= (2 * scale * row_weights).astype(theta.dtype)[:, np.newaxis]
    gW_dec[...] = codes.T @ residual
    gb_dec[...] = residual.sum(axis=0)
    d_values = _gather(residual @ W_dec.T, codes)

    value, d_penalty, gW_dec_penalty = sparsity.penalty(codes, W_dec, row_weights)
    if d_penalty is not None:
        loss += penalty_scale * value
        d_values += dtype(penalty_scale) * d_penalty
        gW_dec += dtype(penalty_scale) * gW_dec_penalty

    d_values *= codes.data > 0  # ReLU
    d_pre = _csr(d_values, codes.indices, codes.indptr, n_components)
    if d_pre_aux is not None:
        loss += aux_loss
        d_pre = d_pre + d_pre_aux
        gW_dec += gW_dec_aux

    gW_enc[...] = (d_pre.T @ X_centred).T
    gb_enc[...] = np.asarray(d_pre.sum(axis=0)).ravel()
    gb_dec -= W_enc @ gb_enc  # through the centring x - b_dec of the encoder
    return loss, grad, codes


def _auxk_term(pre, residual, dead, k_aux, aux_weight, W_dec, row_weights=None):
    """AuxK's value and gradients: in the pre-activations (CSR) and in W_dec.

    ``residual`` is ``x_hat - x = -e`` of the batch; ``row_weights`` (summing
    to 1; None for equal weights) weigh its rows' sums and mean;
    ``(0, None, None)`` when it has no variance.
    """
    if row_weights is None:
        row_weights = np.full(residual.shape[0], 1 / residual.shape[0])
    centred = residual - row_weights.astype(residual.dtype) @ residual
    denominator = float(
        row_weights @ np.einsum("ij,ij->i", centred, centred, dtype=np.float64)
    )
    if denominator <= 0:
        return 0.0, None, None
    codes = auxk_codes(pre, dead, k_aux)
    # e_hat - e = z_aux @ W_dec + residual
    difference = np.asarray(codes @ W_dec)
    difference += residual
    squares = np.einsum("ij,ij->i", difference, difference, dtype=np.float64)
    loss = aux_weight * float(row_weights @ squares) / denominator
    difference *= (2 * aux_weight / denominator * row_weights).astype(difference.dtype)[
        :, np.newaxis
    ]
    gW_dec = codes.T @ difference
    dead_index = np.flatnonzero(dead)
    position = np.empty(pre.shape[1], dtype=np.intp)
    position[dead_index] = np.arange(dead_index.size)
    d_dead = difference @ W_dec[dead_index].T  # (m, n_dead)
    rows = np.repeat(np.arange(codes.shape[0]), np.diff(codes.indptr))
    d_values = d_dead[rows, position[codes.indices]]
    d_values *= codes.data > 0
    return loss, _csr(d_values, codes.indices, codes.indptr, pre.shape[1]), gW_dec


def make_training_objective(
    sparsity,
    stats,
    n_components,
    *,
    loss_scale,
    penalty_scale,
    k_aux,
    aux_weight,
    dead_after,
):
    """The minibatch solver's ``fun(theta, X, sample_weight=None, grad=, workspace=)``.

    Composes, per batch: :func:`topk_loss_grad` with the dead latents of
    ``stats``; the removal of the decoder gradient's component along each
    (unit-norm) decoder row; the update of ``stats`` from the batch's codes.
    """

    def objective(theta, X, sample_weight=None, grad=None, workspace=None):
        loss, grad, codes = topk_loss_grad(
            theta,
            X,
            n_components,
            sparsity=sparsity,
            loss_scale=loss_scale,
            penalty_scale=penalty_scale,
            dead=stats.dead(dead_after) if aux_weight > 0 else None,
            k_aux=k_aux,
            aux_weight=aux_weight,
            sample_weight=sample_weight,
            grad=grad,
        )
        if sparsity.unit_norm_decoder:
            shapes = parameter_shapes(X.shape[1], n_components)
            W_dec, gW_dec = unpack(theta, shapes)[2], unpack(grad, shapes)[2]
            inplace_remove_parallel_component(gW_dec, W_dec)
        sparsity.observe(stats, codes)
        return loss, grad

    return objective


def make_decoder_projection(n_features, n_components):
    """``after_update(theta)``: renormalise the decoder rows to unit norm in place."""
    shapes = parameter_shapes(n_features, n_components)

    def project(theta):
        inplace_normalize_rows(unpack(theta, shapes)[2])

    return project
