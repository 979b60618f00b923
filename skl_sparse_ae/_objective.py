"""The mathematics, as small pure functions.

Everything here is a function of arrays and hyper-parameters; nothing reads or
writes an estimator. The sparse autoencoder's objective is eq. (5) of the seed
(``NOTES.md``) and its gradient eqs. (6)-(9); the stacked network's fine-tuning
objective is softmax cross-entropy plus weight decay. Both are written as a
datafit plus penalties (:func:`weight_decay`, :func:`kl_sparsity`), each in one
place, and both work on one flat parameter vector (:func:`pack` /
:func:`unpack`) so that every solver sees only ``fun(theta) -> (loss, grad)``.

Samples are rows: ``X`` is ``(m, n_features)``, a layer's weights ``W`` are
``(n_in, n_out)`` and its output is ``X @ W + b``; the seed's column
convention ``W x + b`` is the transpose of the same thing.

Heavy work is one matrix product per layer and direction; elementwise work is
done in place on buffers that the caller may keep between calls
(:class:`Workspace`), so a minibatch loop allocates no array of a batch's
size (only vectors of a layer's width).
"""

import math

import numpy as np
import scipy.sparse as sp

# ---------------------------------------------------------------------------
# Parameter vector layout


def layer_shapes(layer_sizes):
    """Shapes of the (coef, intercept) pairs of a fully connected network.

    Parameters
    ----------
    layer_sizes : sequence of int
        Units per layer, input first: ``(n_features, s2, n_features)`` for an
        autoencoder, ``(n_features, h1, h2, n_classes)`` for a stacked network.

    Returns
    -------
    shapes : list of tuple
        ``[(n_in, n_out), (n_out,), ...]``, coefficients then intercept for
        each layer, in the order they are packed.
    """
    shapes = []
    for n_in, n_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        shapes += [(n_in, n_out), (n_out,)]
    return shapes


def unpack(theta, shapes):
    """Views of the flat vector ``theta`` with the given shapes (no copy)."""
    sizes = [math.prod(shape) for shape in shapes]
    if sum(sizes) != theta.shape[0]:
        raise ValueError(
            f"theta has {theta.shape[0]} entries, the shapes need {sum(sizes)}"
        )
    views, start = [], 0
    for shape, size in zip(shapes, sizes):
        views.append(theta[start : start + size].reshape(shape))
        start += size
    return views


def pack(arrays, dtype=None):
    """Concatenate arrays into one flat vector (a new array)."""
    flat = np.concatenate([np.ravel(a) for a in arrays])
    return flat if dtype is None else flat.astype(dtype, copy=False)


def init_layer(n_in, n_out, dtype, random_state):
    """Initial (coef, intercept) of one layer, as in the UFLDL tutorial.

    Weights are uniform in ``[-r, r]`` with ``r = sqrt(6 / (n_in + n_out + 1))``,
    intercepts zero.
    """
    bound = np.sqrt(6.0 / (n_in + n_out + 1))
    coef = random_state.uniform(-bound, bound, size=(n_in, n_out)).astype(dtype)
    return coef, np.zeros(n_out, dtype=dtype)


class Workspace:
    """Named scratch buffers kept between calls of an objective.

    An objective asks for a buffer by name, shape and dtype; it gets the same
    memory back on the next call when those match. This only saves
    allocations: results never depend on what a buffer held before.
    """

    def __init__(self):
        self._buffers = {}

    def get(self, name, shape, dtype):
        """A C-contiguous buffer of this shape and dtype; its content is undefined.

        A buffer with more rows is reused through a view of its first rows, so
        the short last minibatch of an epoch allocates nothing.
        """
        buf = self._buffers.get(name)
        if (
            buf is None
            or buf.dtype != dtype
            or buf.shape[1:] != shape[1:]
            or buf.shape[0] < shape[0]
        ):
            buf = np.empty(shape, dtype=dtype)
            self._buffers[name] = buf
        return buf[: shape[0]]

    def ones(self, n, dtype):
        """A vector of ``n`` ones (callers must not write into it)."""
        key = ("ones", n, np.dtype(dtype))
        buf = self._buffers.get(key)
        if buf is None:
            buf = self._buffers[key] = np.ones(n, dtype=dtype)
        return buf

    def __getstate__(self):
        # scratch space is not part of a model: do not pickle it
        return {"_buffers": {}}


# ---------------------------------------------------------------------------
# Activations (in place, as in scikit-learn's neural_network._base)


def inplace_sigmoid_of_negated(neg_z):
    """Replace ``-z`` (given) by ``sigmoid(z) = 1 / (1 + exp(-z))`` in place.

    Three ufunc passes with no temporary; ``exp`` overflowing to ``inf`` for
    very negative ``z`` gives exactly 0, so the overflow warning is silenced.
    Taking ``-z`` lets the caller fold the sign into a pass it makes anyway
    (see :func:`sigmoid_layer`).
    """
    with np.errstate(over="ignore"):
        np.exp(neg_z, out=neg_z)
    neg_z += 1
    # divide(1, x): same result as reciprocal(x), about twice as fast here
    return np.divide(1, neg_z, out=neg_z)


def inplace_sigmoid_derivative(a, delta, tmp):
    """``delta *= a * (1 - a)``, the sigmoid's derivative from its output ``a``.

    ``tmp`` is a buffer of ``a``'s shape.
    """
    np.subtract(1, a, out=tmp)
    tmp *= a
    delta *= tmp
    return delta


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


def dense_layer(X, coef, intercept, out):
    """``out = X @ coef + intercept`` (``X`` dense or sparse); return ``out``."""
    _matmul_into(X, coef, out)
    out += intercept
    return out


def sigmoid_layer(X, coef, intercept, out):
    """``out = sigmoid(X @ coef + intercept)``; return ``out``.

    The intercept is added and the sign flipped in one pass (``-b - X W``),
    then :func:`inplace_sigmoid_of_negated`: four passes after the product.
    """
    _matmul_into(X, coef, out)
    np.subtract(-intercept, out, out=out)
    return inplace_sigmoid_of_negated(out)


def encode(X, coef, intercept, out=None):
    """Hidden activations ``a(2) = sigmoid(X @ W1 + b1)``, eq. of section 1."""
    if out is None:
        out = np.empty((X.shape[0], coef.shape[1]), dtype=coef.dtype)
    return sigmoid_layer(X, coef, intercept, out)


def decode(hidden, coef, intercept, decoder, out=None):
    """Reconstruction ``h = f(a(2) @ W2 + b2)``; ``f`` is sigmoid or identity."""
    if out is None:
        out = np.empty((hidden.shape[0], coef.shape[1]), dtype=coef.dtype)
    if decoder == "sigmoid":
        return sigmoid_layer(hidden, coef, intercept, out)
    return dense_layer(hidden, coef, intercept, out)


def _matmul_transposed_left(A, B, out):
    """``out = A.T @ B`` for ``A`` dense or sparse, without copying ``A``."""
    if sp.issparse(A):
        out[...] = A.T @ B
    else:
        np.matmul(A.T, B, out=out)
    return out


def _subtract_data(out, X):
    """``out -= X`` for ``X`` dense or sparse (only its stored entries)."""
    if sp.issparse(X):
        X = X.tocsr()
        rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
        np.subtract.at(out, (rows, X.indices), X.data.astype(out.dtype, copy=False))
    else:
        np.subtract(out, X, out=out)
    return out


def reconstruction_error(X, coefs, intercepts, decoder, chunk_size=4096):
    """Mean of ``(1/2) ||h(x) - x||^2`` over the rows of X: eq. (5)'s data term.

    Computed over chunks of rows so memory stays bounded.
    """
    total = 0.0
    for start in range(0, X.shape[0], chunk_size):
        chunk = X[start : start + chunk_size]
        hidden = encode(chunk, coefs[0], intercepts[0])
        diff = _subtract_data(decode(hidden, coefs[1], intercepts[1], decoder), chunk)
        # squares summed in float64: float32 data of large magnitude must not
        # overflow to inf here
        diff = diff.astype(np.float64, copy=False)
        total += 0.5 * float(np.vdot(diff, diff))
    return total / X.shape[0]


def mean_activation(X, coef, intercept, chunk_size=4096):
    """rho_hat of eq. (1): the mean of ``sigmoid(X @ coef + intercept)`` over rows.

    Computed over chunks of rows (a column sum per chunk, accumulated in
    float64), so memory stays bounded by one chunk's activations.
    """
    total = np.zeros(coef.shape[1], dtype=np.float64)
    rows = min(chunk_size, X.shape[0])
    buffer = np.empty((rows, coef.shape[1]), dtype=coef.dtype)
    ones = np.ones(rows, dtype=coef.dtype)
    for start in range(0, X.shape[0], chunk_size):
        chunk = X[start : start + chunk_size]
        n = chunk.shape[0]
        hidden = encode(chunk, coef, intercept, out=buffer[:n])
        total += np.matmul(ones[:n], hidden)
    return (total / X.shape[0]).astype(coef.dtype)


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


def layer_gradient(inputs, delta, coef, alpha, coef_grad, intercept_grad, workspace):
    """Gradient of one layer from its inputs and its delta, averaged over rows.

    ``coef_grad = inputs.T @ delta / m + alpha * coef`` (eqs. 8-9: the data
    term averaged, the ``lambda W`` of weight decay not) and
    ``intercept_grad = sum of delta's rows / m``, both written in place.
    """
    _sum_layer_products(inputs, delta, coef_grad, intercept_grad, workspace)
    _average_and_decay(
        coef_grad, intercept_grad, coef, alpha, delta.shape[0], workspace
    )


def _sum_layer_products(inputs, delta, coef_grad, intercept_grad, workspace, add=False):
    """``inputs.T @ delta`` and the column sums of ``delta``, into or added to."""
    if add:
        coef_part = workspace.get(
            f"part{coef_grad.shape}", coef_grad.shape, delta.dtype
        )
        intercept_part = workspace.get(
            f"part{intercept_grad.shape}", intercept_grad.shape, delta.dtype
        )
    else:
        coef_part, intercept_part = coef_grad, intercept_grad
    _matmul_transposed_left(inputs, delta, coef_part)
    # a column sum as a matrix-vector product: one BLAS call, no temporary
    np.matmul(workspace.ones(delta.shape[0], delta.dtype), delta, out=intercept_part)
    if add:
        coef_grad += coef_part
        intercept_grad += intercept_part


def _average_and_decay(coef_grad, intercept_grad, coef, alpha, m, workspace):
    """Divide summed products by ``m``; add ``alpha * coef`` to the weights'."""
    inv_m = coef.dtype.type(1.0 / m)
    coef_grad *= inv_m
    intercept_grad *= inv_m
    if alpha != 0:
        decay = workspace.get(f"decay{coef.shape}", coef.shape, coef.dtype)
        np.multiply(coef, coef.dtype.type(alpha), out=decay)
        coef_grad += decay


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


def sparse_autoencoder_loss_grad(
    theta,
    X,
    n_components,
    *,
    alpha,
    sparsity_target,
    sparsity_weight,
    decoder,
    grad=None,
    workspace=None,
    row_block=2048,
):
    """Objective J of eq. (5) and its gradient, eqs. (6)-(9), averaged over X.

    Parameters
    ----------
    theta : ndarray of shape (n_params,)
        ``pack([W1, b1, W2, b2])`` with ``W1`` ``(n_features, n_components)``
        and ``W2`` ``(n_components, n_features)``.
    X : {ndarray, sparse matrix} of shape (m, n_features)
        The batch; ``rho_hat`` of eq. (1) is taken over its rows.
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
    W1, b1, W2, b2 = unpack(theta, layer_shapes((n_features, n_components, n_features)))
    if grad is None:
        grad = np.empty_like(theta)
    dW1, db1, dW2, db2 = unpack(
        grad, layer_shapes((n_features, n_components, n_features))
    )

    # forward pass to the hidden layer: rho_hat needs every row's a(2)
    A2 = encode(X, W1, b1, out=ws.get("hidden", (m, n_components), dtype))
    loss = 0.0
    kl_grad = None
    if sparsity_weight > 0:  # eq. (1) (a column sum times 1/m), eq. (3)
        rho_hat = np.matmul(ws.ones(m, dtype), A2)
        rho_hat *= dtype.type(1.0 / m)
        kl_value, kl_grad = kl_sparsity(clip_activation(rho_hat), sparsity_target)
        loss += sparsity_weight * kl_value
        kl_grad *= dtype.type(sparsity_weight)

    # Backward, a block of rows at a time: a full batch never holds an
    # (m, n_features) array, and each block's elementwise passes stay in cache.
    data_term = 0.0
    for start in range(0, m, row_block):
        rows = slice(start, min(start + row_block, m))
        X_rows, A2_rows = X[rows], A2[rows]
        n_rows = X_rows.shape[0]
        H = decode(
            A2_rows, W2, b2, decoder, out=ws.get("output", (n_rows, n_features), dtype)
        )
        # eq. (6): delta3 = (h - x) .* f'(z3); the data term of eq. (5)
        if decoder == "sigmoid":
            fprime = ws.get("output_tmp", H.shape, dtype)
            np.subtract(1, H, out=fprime)
            fprime *= H
        delta3 = _subtract_data(H, X_rows)
        data_term += float(np.vdot(delta3, delta3))
        if decoder == "sigmoid":
            delta3 *= fprime
        # eq. (8), summed over the blocks
        _sum_layer_products(A2_rows, delta3, dW2, db2, ws, add=start > 0)
        # eq. (7): delta2, with the sparsity term when beta > 0
        delta2 = ws.get("hidden_delta", (n_rows, n_components), dtype)
        np.matmul(delta3, W2.T, out=delta2)
        if kl_grad is not None:
            delta2 += kl_grad
        inplace_sigmoid_derivative(
            A2_rows, delta2, ws.get("hidden_tmp", delta2.shape, dtype)
        )
        # eq. (9), summed over the blocks
        _sum_layer_products(X_rows, delta2, dW1, db1, ws, add=start > 0)
    loss += 0.5 * data_term / m
    _average_and_decay(dW2, db2, W2, alpha, m, ws)
    _average_and_decay(dW1, db1, W1, alpha, m, ws)

    loss += weight_decay([W1, W2], alpha)
    return loss, grad


# ---------------------------------------------------------------------------
# The stacked network: sigmoid hidden layers, softmax output


def softmax_cross_entropy(proba, Y):
    """Mean cross-entropy ``-(1/m) sum_i log p_i[y_i]`` with one-hot ``Y``."""
    eps = np.finfo(proba.dtype).tiny
    m = proba.shape[0]
    # only the entries of the true classes enter the sum
    picked = np.einsum("ij,ij->i", proba, Y)
    return -float(np.sum(np.log(np.maximum(picked, eps)), dtype=np.float64)) / m


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


def network_loss_grad(theta, X, Y, layer_sizes, *, alpha, grad=None, workspace=None):
    """Softmax cross-entropy plus weight decay of every layer, and its gradient.

    With ``layer_sizes = (n_features, n_classes)`` this is softmax regression;
    with hidden layers it is the fine-tuning objective of the stacked network.

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
    params = unpack(theta, layer_shapes(layer_sizes))
    coefs, intercepts = params[0::2], params[1::2]
    if grad is None:
        grad = np.empty_like(theta)
    grads = unpack(grad, layer_shapes(layer_sizes))
    coef_grads, intercept_grads = grads[0::2], grads[1::2]

    acts = network_forward(
        X,
        coefs,
        intercepts,
        [ws.get(f"act{k}", (m, n), dtype) for k, n in enumerate(layer_sizes[1:])],
    )
    loss = softmax_cross_entropy(acts[-1], Y) + weight_decay(coefs, alphas)

    # backward pass: delta of the softmax layer is (P - Y), averaged later
    delta = np.subtract(acts[-1], Y, out=acts[-1])
    for k in range(n_layers - 1, -1, -1):
        inputs = X if k == 0 else acts[k - 1]
        layer_gradient(
            inputs, delta, coefs[k], alphas[k], coef_grads[k], intercept_grads[k], ws
        )
        if k > 0:
            prev = ws.get(f"delta{k - 1}", inputs.shape, dtype)
            np.matmul(delta, coefs[k].T, out=prev)
            inplace_sigmoid_derivative(
                inputs, prev, ws.get(f"tmp{k - 1}", inputs.shape, dtype)
            )
            delta = prev
    return loss, grad
