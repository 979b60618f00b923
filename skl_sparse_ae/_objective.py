"""The mathematics, as small pure functions.

Everything here is a function of arrays and hyper-parameters; nothing reads or
writes an estimator. The sparse autoencoder's objective is eq. (5) and its
gradient eqs. (6)-(9), numbered as in the user guide (``docs/user_guide.rst``);
the stacked network's fine-tuning objective is softmax cross-entropy plus
weight decay. Both are written as a datafit plus penalties
(:func:`weight_decay`, :func:`kl_sparsity`), each in one place, and both work
on one flat parameter vector (:mod:`skl_sparse_ae._params`) so that every
solver sees only ``fun(theta) -> (loss, grad)``.

Samples are rows: ``X`` is ``(m, n_features)``, a layer's weights ``W`` are
``(n_in, n_out)`` and its output is ``X @ W + b``; the seed's column
convention ``W x + b`` is the transpose of the same thing.

Heavy work is one matrix product per layer and direction (BLAS, through
numpy). The elementwise work between the products is one fused pass per step
in the compiled kernels (:mod:`skl_sparse_ae._kernels`: bias and sigmoid with
the column sums of eq. (1); the output layer's residual, squared error and
delta of eq. (6); the hidden delta of eq. (7)), in place on buffers that the
caller may keep between calls (:class:`Workspace`), so a minibatch loop
allocates no array of a batch's size. Each delta is scaled by ``1/m`` where it
is made, so the products give averaged gradients directly.
"""

import numpy as np
import scipy.sparse as sp

from . import _kernels
from ._params import Workspace, layer_shapes, unpack

# ---------------------------------------------------------------------------
# Activations and layers (the elementwise work runs in the compiled kernels)


def inplace_softmax(z):
    """Replace the rows of ``z`` by their softmax in place; return it."""
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def _matmul_into(X, coef, out):
    """``out = X @ coef`` for ``X`` dense or sparse; return ``out``."""
    if sp.issparse(X):
        out[...] = X @ coef
    else:
        np.matmul(X, coef, out=out)
    return out


def _matmul_transposed_left(A, B, out):
    """``out = A.T @ B`` for ``A`` dense or sparse, without copying ``A``."""
    if sp.issparse(A):
        out[...] = A.T @ B
    else:
        np.matmul(A.T, B, out=out)
    return out


def dense_layer(X, coef, intercept, out):
    """``out = X @ coef + intercept`` (``X`` dense or sparse); return ``out``."""
    _matmul_into(X, coef, out)
    out += intercept
    return out


def sigmoid_layer(X, coef, intercept, out, col_sums=None, row_weights=None):
    """``out = sigmoid(X @ coef + intercept)``; return ``out``.

    One matrix product, then one fused pass (:func:`_kernels.sigmoid_bias`)
    that adds the intercept, takes the sigmoid and, when ``col_sums`` (a
    float64 vector) is given, adds each column's sum to it (weighted by
    ``row_weights`` when given): rho_hat of eq. (1) at no extra pass.
    """
    _matmul_into(X, coef, out)
    _kernels.sigmoid_bias(out, intercept, col_sums, row_weights)
    return out


def encode(X, coef, intercept, out=None, chunk_size=8192):
    """Hidden activations ``a(2) = sigmoid(X @ W1 + b1)``, eq. of section 1.

    Computed ``chunk_size`` rows at a time, so that each block's sigmoid runs
    while the block its product just wrote is still in cache.
    """
    if out is None:
        out = np.empty((X.shape[0], coef.shape[1]), dtype=coef.dtype)
    for start in range(0, X.shape[0], chunk_size):
        rows = slice(start, start + chunk_size)
        sigmoid_layer(X[rows], coef, intercept, out[rows])
    return out


def decode(hidden, coef, intercept, decoder, out=None):
    """Reconstruction ``h = f(a(2) @ W2 + b2)``; ``f`` is sigmoid or identity."""
    if out is None:
        out = np.empty((hidden.shape[0], coef.shape[1]), dtype=coef.dtype)
    if decoder == "sigmoid":
        return sigmoid_layer(hidden, coef, intercept, out)
    return dense_layer(hidden, coef, intercept, out)


def _dense_rows(X, workspace, name="dense_rows"):
    """The rows of X as a C-contiguous dense array (a workspace buffer if sparse)."""
    if sp.issparse(X):
        out = workspace.get(name, X.shape, X.dtype)
        return X.toarray(out=out)
    return np.ascontiguousarray(X)


def _zeroed_sums(workspace, name, n):
    """A float64 vector of ``n`` zeros from the workspace, for column sums."""
    sums = workspace.get(name, (n,), np.float64)
    sums[:] = 0
    return sums


def _store_sums(out, sums):
    """``out[...] = sums`` (float64 column sums into the model's dtype).

    A sum beyond float32's range becomes inf without a warning, as the
    product it replaces would; the solver then stops on the loss.
    """
    with np.errstate(over="ignore"):
        out[...] = sums
    return out


def _weights_and_total(sample_weight, m, dtype):
    """Row weights in the model's dtype (None stays None) and their sum."""
    if sample_weight is None:
        return None, float(m)
    weights = np.ascontiguousarray(sample_weight, dtype=dtype)
    return weights, float(np.sum(weights, dtype=np.float64))


def reconstruction_error(
    X, coefs, intercepts, decoder, chunk_size=4096, sample_weight=None
):
    """Mean of ``(1/2) ||h(x) - x||^2`` over the rows of X: eq. (5)'s data term.

    The weighted mean with ``sample_weight``: the average of
    :func:`sample_reconstruction_errors`, so memory stays bounded and the
    squares are summed in float64 (float32 data of large magnitude must not
    overflow).
    """
    errors = sample_reconstruction_errors(X, coefs, intercepts, decoder, chunk_size)
    return float(np.average(errors, weights=sample_weight))


def sample_reconstruction_errors(X, coefs, intercepts, decoder, chunk_size=4096):
    """``(1/2) ||h(x) - x||^2`` of each row of X, in float64 (chunks of rows).

    The per-sample terms of :func:`reconstruction_error`, for scoring: a
    chunk's reconstruction minus its rows (densified), squared and summed in
    float64.
    """
    errors = np.empty(X.shape[0], dtype=np.float64)
    for start in range(0, X.shape[0], chunk_size):
        chunk = X[start : start + chunk_size]
        hidden = encode(chunk, coefs[0], intercepts[0])
        diff = decode(hidden, coefs[1], intercepts[1], decoder).astype(np.float64)
        diff -= chunk.toarray() if sp.issparse(chunk) else chunk
        errors[start : start + chunk.shape[0]] = 0.5 * np.einsum("ij,ij->i", diff, diff)
    return errors


def mean_activation(X, coef, intercept, chunk_size=4096, sample_weight=None):
    """rho_hat of eq. (1): the mean of ``sigmoid(X @ coef + intercept)`` over rows.

    The weighted mean with ``sample_weight``. Computed over chunks of rows,
    the column sums accumulated in float64 by the sigmoid pass itself, so
    memory stays bounded by one chunk's activations.
    """
    weights, total_weight = _weights_and_total(sample_weight, X.shape[0], coef.dtype)
    total = np.zeros(coef.shape[1], dtype=np.float64)
    rows = min(chunk_size, X.shape[0])
    buffer = np.empty((rows, coef.shape[1]), dtype=coef.dtype)
    for start in range(0, X.shape[0], chunk_size):
        chunk = X[start : start + chunk_size]
        row_weights = None if weights is None else weights[start : start + chunk_size]
        sigmoid_layer(
            chunk, coef, intercept, buffer[: chunk.shape[0]], total, row_weights
        )
    return (total / total_weight).astype(coef.dtype)


# ---------------------------------------------------------------------------
# Noise: masking noise (the denoising autoencoder) and dropout


def masked_copy(X, rate, generator, *, rescale=False, out=None):
    """X with a random fraction ``rate`` of its entries set to 0 (a new array).

    Masking noise: each entry is kept with probability ``1 - rate``,
    independently of the others. For a dense X the mask is one pass of the
    compiled kernel :func:`_kernels.dropout`, from a seed that ``generator``
    (a :class:`numpy.random.Generator`) draws; for a sparse X, ``generator``
    draws it directly. The
    denoising autoencoder (Vincent et al., 2008) encodes such a copy and
    reconstructs the clean X. With ``rescale`` the kept entries are divided by
    ``1 - rate``, so the expectation is X: inverted dropout of the inputs.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (m, n)
        The clean rows; not modified. A sparse X keeps its pattern: only
        stored entries can be masked (the others are 0 already).
    rate : float
        Probability that an entry is set to 0, in [0, 1).
    generator : numpy.random.Generator
        Draws the mask.
    rescale : bool, default=False
        Divide the kept entries by ``1 - rate``.
    out : ndarray of shape (m, n), default=None
        Where to write a dense result (X's dtype); a new array when None.

    Returns
    -------
    masked : {ndarray, sparse matrix} of shape (m, n)
    """
    keep = 1.0 - rate
    if sp.issparse(X):
        masked = X.copy()
        kept = generator.random(masked.data.shape[0], dtype=X.dtype) < keep
        masked.data *= kept / keep if rescale else kept
        return masked
    if out is None:
        out = np.empty(X.shape, dtype=X.dtype)
    # one fused pass; the mask is a hash of each entry's index and a seed
    # drawn from the generator, so it does not depend on the threads
    _kernels.dropout(
        out,
        keep,
        1.0 / keep if rescale else 1.0,
        _seed(generator),
        np.ascontiguousarray(X),
    )
    return out


def _seed(generator):
    """A fresh 32-bit seed for a kernel's counter-based mask."""
    return int(generator.integers(0, 2**32, dtype=np.uint64))


def dropout_mask(shape, rate, generator, dtype, out=None):
    """Inverted-dropout mask: entries 0 with probability ``rate``, else 1 / (1 - rate).

    Multiplying a layer's activations by it drops each unit of each row with
    probability ``rate`` and keeps the expectation, so a network trained with
    it needs no rescaling at prediction (Srivastava et al., 2014). One pass of
    :func:`_kernels.dropout` from a seed that ``generator`` draws.
    """
    if out is None:
        out = np.empty(shape, dtype=dtype)
    _kernels.dropout(out, 1.0 - rate, 1.0 / (1.0 - rate), _seed(generator))
    return out


# ---------------------------------------------------------------------------
# Constraints


def clip_column_norms(coef, max_norm):
    """Scale, in place, each column of ``coef`` whose L2 norm exceeds ``max_norm``.

    Column j of a layer's ``coef`` (n_in, n_out) holds unit j's incoming
    weights: the max-norm constraint of Srivastava et al. (2014), applied
    after each update.
    """
    norms = np.sqrt(np.einsum("ij,ij->j", coef, coef))
    too_long = norms > max_norm
    if np.any(too_long):
        coef[:, too_long] *= (max_norm / norms[too_long]).astype(coef.dtype)
    return coef


# ---------------------------------------------------------------------------
# Penalties


def weight_decay(coefs, alpha):
    """Value of ``(alpha / 2) * sum_l ||W(l)||^2`` (weights only, no biases).

    Parameters
    ----------
    coefs : list of ndarray
        The weight matrices.
    alpha : float or sequence of float
        lambda of eq. (5); one value for all matrices or one per matrix.
    """
    alphas = np.broadcast_to(np.asarray(alpha, dtype=float), (len(coefs),))
    total = 0.0
    for a, W in zip(alphas, coefs):
        if a != 0:
            total += 0.5 * float(a) * float(np.vdot(W, W))
    return total


def add_weight_decay_gradient(coef_grad, coef, alpha):
    """``coef_grad += alpha * coef`` in place: the ``lambda W`` of eqs. (8)-(9)."""
    if alpha != 0:
        _kernels.axpy(coef_grad.reshape(-1), coef.reshape(-1), float(alpha))


def clip_activation(rho_hat):
    """Keep mean activations away from 0 and 1 so no log or division blows up."""
    eps = 10 * np.finfo(rho_hat.dtype).eps
    return np.clip(rho_hat, eps, 1 - eps, out=rho_hat)


def kl_sparsity(rho_hat, rho):
    """KL sparsity penalty of eq. (3) and its derivative.

    Parameters
    ----------
    rho_hat : ndarray of shape (n_components,)
        Mean activation of each hidden unit over the batch, eq. (1); already
        kept inside ``(0, 1)`` by :func:`clip_activation`.
    rho : float
        The sparsity target, eq. (2).

    Returns
    -------
    value : float
        ``sum_j KL(rho || rho_hat_j)``.
    grad : ndarray of shape (n_components,)
        ``-rho / rho_hat + (1 - rho) / (1 - rho_hat)``, the term of eq. (7).
    """
    one_minus = 1 - rho_hat
    value = np.sum(
        rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / one_minus),
        dtype=np.float64,
    )
    grad = (1 - rho) / one_minus - rho / rho_hat
    return float(value), grad.astype(rho_hat.dtype, copy=False)


# ---------------------------------------------------------------------------
# The sparse autoencoder: eq. (5) and eqs. (6)-(9)


def autoencoder_shapes(n_features, n_components, tied_weights=False):
    """Shapes of an autoencoder's parameters in its flat vector.

    ``[W1, b1, W2, b2]`` with ``W1`` (n_features, n_components) and ``W2``
    (n_components, n_features); with ``tied_weights`` there is no separate
    ``W2`` (it is ``W1.T``): ``[W1, b1, b2]``.
    """
    if tied_weights:
        return [(n_features, n_components), (n_components,), (n_features,)]
    return layer_shapes((n_features, n_components, n_features))


def autoencoder_params(theta, n_features, n_components, tied_weights=False):
    """``[W1, b1, W2, b2]`` as views of ``theta``; tied, ``W2`` is the view ``W1.T``."""
    views = unpack(theta, autoencoder_shapes(n_features, n_components, tied_weights))
    if tied_weights:
        W1, b1, b2 = views
        return [W1, b1, W1.T, b2]
    return views


def _autoencoder_grads(grad, n_features, n_components, tied_weights, workspace):
    """``[dW1, db1, dW2, db2]`` to fill: views of ``grad``; with tied weights,
    dW2 is a workspace buffer whose transpose is added into dW1 at the end."""
    views = unpack(grad, autoencoder_shapes(n_features, n_components, tied_weights))
    if tied_weights:
        dW1, db1, db2 = views
        dW2 = workspace.get("tied_decoder_grad", (n_components, n_features), grad.dtype)
        return [dW1, db1, dW2, db2]
    return views


def sparse_autoencoder_loss_grad(
    theta,
    X,
    n_components,
    *,
    alpha,
    sparsity_target,
    sparsity_weight,
    decoder,
    tied_weights=False,
    inputs=None,
    sample_weight=None,
    grad=None,
    workspace=None,
    row_block=2048,
):
    """Objective J of eq. (5) and its gradient, eqs. (6)-(9), averaged over X.

    With ``sample_weight``, every mean over the rows is the weighted mean:
    the reconstruction term of eq. (5), rho_hat of eq. (1) and so the KL
    term; weight decay is not weighted. Integer weights give the objective of
    the data with each row repeated that many times.

    Two variants are pieces of the same computation, not copies of it:

    - ``inputs``: the encoder reads ``inputs`` and the decoder reconstructs
      ``X``. With ``inputs`` a corrupted copy of X (:func:`masked_copy`) this
      is the denoising autoencoder; rho_hat is then the mean activation on
      the corrupted inputs, which the encoder actually sees.
    - ``tied_weights``: ``W2 = W1.T``, one weight matrix. The gradient is the
      encoder's dW1 plus the transpose of the decoder's dW2 (the chain rule
      through the shared matrix), and the weight decay
      ``(lambda/2)(||W1||^2 + ||W2||^2)`` is ``lambda ||W1||^2``.

    Parameters
    ----------
    theta : ndarray of shape (n_params,)
        ``pack([W1, b1, W2, b2])`` with ``W1`` ``(n_features, n_components)``
        and ``W2`` ``(n_components, n_features)``; ``pack([W1, b1, b2])``
        with ``tied_weights`` (see :func:`autoencoder_shapes`).
    X : {ndarray, sparse matrix} of shape (m, n_features)
        The batch, and the reconstruction target; ``rho_hat`` of eq. (1) is
        taken over its rows.
    n_components : int
        s2, the number of hidden units.
    alpha : float
        lambda, the weight decay coefficient.
    sparsity_target : float
        rho.
    sparsity_weight : float
        beta; 0 switches the sparsity penalty off.
    decoder : {"sigmoid", "linear"}
        Output activation.
    tied_weights : bool, default=False
        Decode with ``W1.T``.
    inputs : {ndarray, sparse matrix} of shape (m, n_features), default=None
        What the encoder reads, when it is not X (a corrupted X).
    sample_weight : ndarray of shape (m,), default=None
        Non-negative weights of the rows; None weighs every row 1.
    grad : ndarray of shape (n_params,), default=None
        Where to write the gradient; a new array when None.
    workspace : Workspace, default=None
        Scratch buffers to reuse between calls.
    row_block : int, default=2048
        Rows processed at once after the forward pass to the hidden layer
        (memory and cache only: the result does not depend on it beyond
        rounding).

    Returns
    -------
    loss : float
        J(W, b).
    grad : ndarray of shape (n_params,)
        dJ/dtheta, in ``theta``'s layout and dtype.
    """
    m, n_features = X.shape
    dtype = theta.dtype
    ws = workspace if workspace is not None else Workspace()
    inputs = X if inputs is None else inputs
    if inputs.shape != X.shape:
        raise ValueError(f"inputs has shape {inputs.shape}, X has {X.shape}.")
    W1, b1, W2, b2 = autoencoder_params(theta, n_features, n_components, tied_weights)
    if grad is None:
        grad = np.empty_like(theta)
    dW1, db1, dW2, db2 = _autoencoder_grads(
        grad, n_features, n_components, tied_weights, ws
    )
    # Every delta is scaled by 1/m (1 / the total weight) where it is made, so
    # the products below give the averaged gradients of eqs. (8)-(9) directly.
    weights, total_weight = _weights_and_total(sample_weight, m, dtype)
    inv_m = 1.0 / total_weight if total_weight > 0 else 0.0

    # forward pass to the hidden layer: rho_hat needs every row's a(2)
    A2 = ws.get("hidden", (m, n_components), dtype)
    hidden_sums = _zeroed_sums(ws, "hidden_sums", n_components)
    with_kl = sparsity_weight > 0 and total_weight > 0
    sigmoid_layer(inputs, W1, b1, A2, hidden_sums if with_kl else None, weights)
    loss = 0.0
    kl_term = None
    if with_kl:  # eq. (1), eq. (3)
        rho_hat = (hidden_sums * inv_m).astype(dtype)
        kl_value, kl_grad = kl_sparsity(clip_activation(rho_hat), sparsity_target)
        loss += sparsity_weight * kl_value
        # the sparsity term of eq. (7), scaled like the deltas
        kl_term = kl_grad * dtype.type(sparsity_weight * inv_m)

    # Backward, a block of rows at a time: a full batch never holds an
    # (m, n_features) array, and each block's passes stay in cache.
    output_sums = _zeroed_sums(ws, "output_sums", n_features)
    hidden_delta_sums = _zeroed_sums(ws, "hidden_delta_sums", n_components)
    squared_error = 0.0
    for start in range(0, m, row_block):
        rows = slice(start, min(start + row_block, m))
        X_rows, A2_rows = X[rows], A2[rows]
        w_rows = None if weights is None else weights[rows]
        n_rows = X_rows.shape[0]
        # eq. (6) in one pass: h = f(z3), the data term of eq. (5),
        # delta3 = (h - x) .* f'(z3) / m and its column sums (for db2)
        delta3 = np.matmul(
            A2_rows, W2, out=ws.get("output", (n_rows, n_features), dtype)
        )
        squared_error += _kernels.output_delta(
            delta3,
            b2,
            _dense_rows(X_rows, ws),
            decoder == "sigmoid",
            inv_m,
            output_sums,
            w_rows,
        )
        # eq. (8), summed over the blocks
        _add_products(A2_rows, delta3, dW2, start > 0, ws)
        # eq. (7): delta2 = (W2 delta3 + beta KL') .* f'(z2) / m, with its
        # column sums (for db1)
        delta2 = np.matmul(
            delta3, W2.T, out=ws.get("hidden_delta", (n_rows, n_components), dtype)
        )
        _kernels.hidden_delta(delta2, A2_rows, kl_term, hidden_delta_sums, w_rows)
        # eq. (9), summed over the blocks
        _add_products(inputs[rows], delta2, dW1, start > 0, ws)
    _store_sums(db2, output_sums)
    _store_sums(db1, hidden_delta_sums)
    add_weight_decay_gradient(dW2, W2, alpha)
    add_weight_decay_gradient(dW1, W1, alpha)
    if tied_weights:  # the decoder's share of the shared matrix's gradient
        dW1 += dW2.T
    loss += 0.5 * squared_error * inv_m + weight_decay([W1, W2], alpha)
    return loss, grad


def _add_products(inputs, delta, coef_grad, add, workspace):
    """``coef_grad = inputs.T @ delta``, or ``+=`` it when ``add``."""
    if not add:
        _matmul_transposed_left(inputs, delta, coef_grad)
        return
    part = workspace.get(f"part{coef_grad.shape}", coef_grad.shape, coef_grad.dtype)
    coef_grad += _matmul_transposed_left(inputs, delta, part)


# ---------------------------------------------------------------------------
# The stacked network: sigmoid hidden layers, softmax output


def network_forward(X, coefs, intercepts, activations=None, softmax=True):
    """Activations of every layer of the stacked network for ``X``.

    Hidden layers are sigmoid encoders (:func:`encode`), the last layer a
    softmax (or, with ``softmax=False``, its logits). Returns the list
    ``[a1, ..., aL, output]`` (``X`` itself is not included).
    ``activations`` may hold preallocated outputs to reuse.
    """
    if activations is None:
        activations = [np.empty((X.shape[0], W.shape[1]), dtype=W.dtype) for W in coefs]
    inputs = X
    for W, b, out in zip(coefs[:-1], intercepts[:-1], activations[:-1]):
        inputs = encode(inputs, W, b, out=out)
    dense_layer(inputs, coefs[-1], intercepts[-1], activations[-1])
    if softmax:
        inplace_softmax(activations[-1])
    return activations


def network_loss_grad(
    theta,
    X,
    Y,
    layer_sizes,
    *,
    alpha,
    sample_weight=None,
    dropout_masks=None,
    grad=None,
    workspace=None,
):
    """Softmax cross-entropy plus weight decay of every layer, and its gradient.

    With ``sample_weight`` the cross-entropy is the weighted mean over the
    rows; weight decay is not weighted.

    With ``layer_sizes = (n_features, n_classes)`` this is softmax regression;
    with hidden layers it is the fine-tuning objective of the stacked network.

    Dropout is a piece of the same computation: ``dropout_masks[k]``
    multiplies hidden layer k's activations before the next layer reads them
    (inverted dropout, :func:`dropout_mask`), and the same mask multiplies
    the gradient flowing back into the layer. Dropout of the inputs is X
    itself masked (:func:`masked_copy` with ``rescale=True``).

    Parameters
    ----------
    theta : ndarray of shape (n_params,)
        ``pack([W1, b1, ..., W_out, b_out])``.
    X : {ndarray, sparse matrix} of shape (m, n_features)
        Inputs.
    Y : ndarray of shape (m, n_classes)
        One-hot targets, of ``theta``'s dtype.
    layer_sizes : tuple of int
        ``(n_features, *hidden_layer_sizes, n_classes)``.
    alpha : float or sequence of float
        Weight decay per weight matrix (one value for all or one per layer).
    sample_weight : ndarray of shape (m,), default=None
        Non-negative weights of the rows; None weighs every row 1.
    dropout_masks : sequence of {ndarray, None}, default=None
        One entry per hidden layer: None, or an (m, units) array of 0 and
        ``1 / (1 - rate)``. None (or every entry None) is no dropout.
    grad : ndarray of shape (n_params,), default=None
        Where to write the gradient.
    workspace : Workspace, default=None
        Scratch buffers to reuse between calls.

    Returns
    -------
    loss : float
    grad : ndarray of shape (n_params,)
    """
    m = X.shape[0]
    dtype = theta.dtype
    ws = workspace if workspace is not None else Workspace()
    n_layers = len(layer_sizes) - 1
    alphas = np.broadcast_to(np.asarray(alpha, dtype=float), (n_layers,))
    masks = [None] * (n_layers - 1) if dropout_masks is None else list(dropout_masks)
    if len(masks) != n_layers - 1:
        raise ValueError(
            f"dropout_masks has {len(masks)} entries for {n_layers - 1} hidden layers."
        )
    params = unpack(theta, layer_shapes(layer_sizes))
    coefs, intercepts = params[0::2], params[1::2]
    if grad is None:
        grad = np.empty_like(theta)
    grads = unpack(grad, layer_shapes(layer_sizes))
    coef_grads, intercept_grads = grads[0::2], grads[1::2]
    Y = np.ascontiguousarray(Y, dtype=dtype)
    weights, total_weight = _weights_and_total(sample_weight, m, dtype)
    inv_m = 1.0 / total_weight if total_weight > 0 else 0.0

    # forward: sigmoid hidden layers, then the logits (no intercept yet);
    # layer_inputs[k] is what layer k reads (a dropped copy under dropout)
    acts = [ws.get(f"act{k}", (m, n), dtype) for k, n in enumerate(layer_sizes[1:])]
    layer_inputs = [X]
    for k in range(n_layers - 1):
        a = sigmoid_layer(layer_inputs[k], coefs[k], intercepts[k], acts[k])
        if masks[k] is not None:
            a = np.multiply(a, masks[k], out=ws.get(f"dropped{k}", a.shape, dtype))
        layer_inputs.append(a)
    # softmax, cross-entropy and its delta (P - Y) / m in one pass
    sums = _zeroed_sums(ws, f"sums{n_layers - 1}", layer_sizes[-1])
    delta = _matmul_into(layer_inputs[-1], coefs[-1], acts[-1])
    cross_entropy = _kernels.softmax_cross_entropy(
        delta, intercepts[-1], Y, inv_m, sums, weights
    )
    loss = cross_entropy * inv_m + weight_decay(coefs, alphas)

    # backward: each delta is already averaged over the rows
    for k in range(n_layers - 1, -1, -1):
        _matmul_transposed_left(layer_inputs[k], delta, coef_grads[k])
        _store_sums(intercept_grads[k], sums)
        add_weight_decay_gradient(coef_grads[k], coefs[k], alphas[k])
        if k > 0:
            prev = ws.get(f"delta{k - 1}", acts[k - 1].shape, dtype)
            np.matmul(delta, coefs[k].T, out=prev)
            if masks[k - 1] is not None:
                prev *= masks[k - 1]
            sums = _zeroed_sums(ws, f"sums{k - 1}", prev.shape[1])
            _kernels.hidden_delta(prev, acts[k - 1], None, sums)
            delta = prev
    return loss, grad
