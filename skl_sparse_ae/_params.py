"""Parameter plumbing: one flat vector of parameters, and scratch buffers.

Every solver works on one flat parameter vector ``theta``; each model's math
views it as its weight matrices and intercepts (:func:`unpack`, no copy) and
builds it from them (:func:`pack`). :class:`Workspace` keeps the buffers of a
batch's size between calls of an objective. Nothing here knows a model: the
autoencoder's, the network's and TopK's math all depend on this module, and
on nothing of each other's.
"""

import math

import numpy as np


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

    def __getstate__(self):
        # scratch space is not part of a model: do not pickle it
        return {"_buffers": {}}
