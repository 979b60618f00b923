# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Fused elementwise kernels: the lowest floor of the package.

Each kernel makes one pass over its data where numpy would make several
(``sigmoid(z + b)`` with its column sums; the output layer's residual, squared
error, delta and column sums; ...), splits the rows into one block per thread
(OpenMP ``prange``, static schedule) and reduces the per-block sums in a fixed
order, so the same thread count always gives the same bits. The per-row loops
are C (``_kernels.h``), written so the compiler vectorises them.

Every kernel works in place on C-contiguous arrays of one floating dtype
(float32 or float64, not mixed); column sums are added, in float64, into the
``col_sums`` vector the caller passes. The readable numpy formula of each
kernel is in its docstring and, as the oracle, in ``tests/test_kernels.py``.

Threads: the cores that BLAS does not claim, ``omp_get_max_threads() //
(BLAS threads)`` (see :func:`effective_n_threads`); threadpoolctl sets both
(``threadpool_limits(n, user_api="openmp")`` or ``user_api="blas"``). The
package never sets a threading environment variable.
"""

import threadpoolctl

from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport uint32_t
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy


cdef extern from "_kernels.h" nogil:
    int SAE_OPENMP
    int omp_get_max_threads()

    # w: one weight per row, or NULL for weights of 1
    void sae_sigmoid_rows_f(float *z, const float *b, const float *w,
                            Py_ssize_t rows, Py_ssize_t n, double *colsum)
    void sae_sigmoid_rows_d(double *z, const double *b, const double *w,
                            Py_ssize_t rows, Py_ssize_t n, double *colsum)
    double sae_output_delta_rows_f(float *z, const float *b, const float *x,
                                   const float *w, Py_ssize_t rows, Py_ssize_t n,
                                   int sigmoid, float scale, double *colsum)
    double sae_output_delta_rows_d(double *z, const double *b, const double *x,
                                   const double *w, Py_ssize_t rows, Py_ssize_t n,
                                   int sigmoid, double scale, double *colsum)
    void sae_hidden_delta_rows_f(float *d, const float *a, const float *add,
                                 const float *w, Py_ssize_t rows, Py_ssize_t n,
                                 double *colsum)
    void sae_hidden_delta_rows_d(double *d, const double *a, const double *add,
                                 const double *w, Py_ssize_t rows, Py_ssize_t n,
                                 double *colsum)
    double sae_softmax_xent_rows_f(float *z, const float *b, const float *y,
                                   const float *w, Py_ssize_t rows, Py_ssize_t n,
                                   float scale, double *colsum)
    double sae_softmax_xent_rows_d(double *z, const double *b, const double *y,
                                   const double *w, Py_ssize_t rows, Py_ssize_t n,
                                   double scale, double *colsum)
    void sae_axpy_f(float *y, const float *x, Py_ssize_t n, float a)
    void sae_axpy_d(double *y, const double *x, Py_ssize_t n, double a)
    void sae_adam_f(float *theta, const float *g, float *m, float *v,
                    Py_ssize_t n, float lr, float b1, float b2, float eps)
    void sae_adam_d(double *theta, const double *g, double *m, double *v,
                    Py_ssize_t n, double lr, double b1, double b2, double eps)
    void sae_sgd_f(float *theta, const float *g, float *vel, Py_ssize_t n,
                   float lr, float mu, int nesterov)
    void sae_sgd_d(double *theta, const double *g, double *vel, Py_ssize_t n,
                   double lr, double mu, int nesterov)
    # entries [start, start + n) of out; src: the values to keep, or NULL for
    # a mask of 0 and scale
    void sae_dropout_f(float *out, const float *src, Py_ssize_t start,
                       Py_ssize_t n, uint32_t threshold, uint32_t seed,
                       float scale)
    void sae_dropout_d(double *out, const double *src, Py_ssize_t start,
                       Py_ssize_t n, uint32_t threshold, uint32_t seed,
                       double scale)


OPENMP_ENABLED = bool(SAE_OPENMP)
"""Whether this build runs its loops on several threads (built with OpenMP)."""

cdef enum:
    # below this many entries a second thread costs more than it saves
    MIN_WORK_PER_THREAD = 16384


_blas = None


def _blas_threads():
    """The largest thread count of the BLAS libraries loaded (1 if none)."""
    global _blas
    if _blas is None:
        # threadpoolctl comes with scikit-learn; its controller is made once
        # (it scans the loaded libraries), its thread counts are read live
        _blas = threadpoolctl.ThreadpoolController().select(user_api="blas")
    return max([lib.num_threads for lib in _blas.lib_controllers] + [1])


def effective_n_threads():
    """Threads the kernels use now: the cores that BLAS leaves free.

    ``max(1, omp_get_max_threads() // blas_threads)``, 1 without OpenMP. A
    multi-threaded BLAS keeps its threads busy-waiting between the matrix
    products (OpenBLAS's pthreads pool does), and OpenMP threads busy-wait
    between the kernels: sharing the cores, the two pools slowed a minibatch
    epoch eightfold on two cores. So with BLAS on every core the kernels run
    on one; with BLAS limited to one thread
    (``threadpoolctl.threadpool_limits(1, user_api="blas")``) they use every
    core that OpenMP may (``threadpool_limits(n, user_api="openmp")``).
    """
    return max(1, omp_get_max_threads() // _blas_threads())


cdef int _check_len(Py_ssize_t got, Py_ssize_t n, str name) except -1:
    if got != n:
        raise ValueError(f"{name} must have {n} entries, got {got}")
    return 0


cdef inline Py_ssize_t _n_blocks(
    Py_ssize_t rows, Py_ssize_t n, Py_ssize_t blocks
) noexcept nogil:
    """Row blocks for a (rows, n) array: one per thread (at most ``blocks``),
    none too small."""
    cdef Py_ssize_t by_work = (rows * n) // MIN_WORK_PER_THREAD
    if by_work < blocks:
        blocks = by_work
    if rows < blocks:
        blocks = rows
    return blocks if blocks > 1 else 1


cdef inline Py_ssize_t _block_start(
    Py_ssize_t k, Py_ssize_t blocks, Py_ssize_t rows
) noexcept nogil:
    return (k * rows) // blocks


cdef inline const floating *_row_weights(
    const floating[::1] weights, Py_ssize_t rows
) except? NULL:
    """Pointer to the row weights (checked to have ``rows`` entries), or NULL."""
    if weights is None:
        return NULL
    _check_len(weights.shape[0], rows, "row_weights")
    return &weights[0] if rows > 0 else NULL


cdef void _reduce(double *partial, Py_ssize_t blocks, Py_ssize_t n,
                  double[::1] col_sums) noexcept nogil:
    """col_sums += the per-block column sums, added in block order."""
    cdef Py_ssize_t k, j
    for k in range(blocks):
        for j in range(n):
            col_sums[j] += partial[k * n + j]


def sigmoid_bias(
    floating[:, ::1] z,
    const floating[::1] b,
    double[::1] col_sums=None,
    const floating[::1] row_weights=None,
):
    """``z = sigmoid(z + b)`` in place; ``col_sums += z.sum(axis=0)`` if given.

    With ``row_weights`` ``w``, the column sums are weighted:
    ``col_sums += w @ z``.

    Parameters
    ----------
    z : ndarray of shape (m, n), C-contiguous, float32 or float64
        A layer's product ``X @ W``; on return its activations.
    b : ndarray of shape (n,)
        The intercept, of z's dtype.
    col_sums : ndarray of shape (n,), float64, default=None
        Where to add the column sums of the activations (for rho_hat).
    row_weights : ndarray of shape (m,), default=None
        Sample weights of the rows (None: all 1).
    """
    cdef Py_ssize_t rows = z.shape[0], n = z.shape[1], k, r0, r1
    cdef const floating *w = _row_weights(row_weights, rows)
    _check_len(b.shape[0], n, "b")
    if col_sums is not None:
        _check_len(col_sums.shape[0], n, "col_sums")
    if rows == 0 or n == 0:
        return
    cdef Py_ssize_t blocks = _n_blocks(rows, n, effective_n_threads())
    cdef double *partial = NULL
    if col_sums is not None:
        partial = <double *> calloc(blocks * n, sizeof(double))
        if partial == NULL:
            raise MemoryError()
    with nogil:
        for k in prange(blocks, num_threads=blocks, schedule="static"):
            r0 = _block_start(k, blocks, rows)
            r1 = _block_start(k + 1, blocks, rows)
            if floating is float:
                sae_sigmoid_rows_f(&z[r0, 0], &b[0], w + r0 if w != NULL else NULL,
                                   r1 - r0, n,
                                   partial + k * n if partial != NULL else NULL)
            else:
                sae_sigmoid_rows_d(&z[r0, 0], &b[0], w + r0 if w != NULL else NULL,
                                   r1 - r0, n,
                                   partial + k * n if partial != NULL else NULL)
        if partial != NULL:
            _reduce(partial, blocks, n, col_sums)
            free(partial)


def output_delta(
    floating[:, ::1] z,
    const floating[::1] b,
    const floating[:, ::1] x,
    bint sigmoid,
    double scale,
    double[::1] col_sums,
    const floating[::1] row_weights=None,
):
    """The output layer of the autoencoder (eq. 6) in one pass; in place.

    ``h = f(z + b)`` (``f`` sigmoid, or the identity when ``sigmoid`` is
    False), ``r = h - x``; returns ``(r ** 2).sum()``; ``z`` becomes
    ``scale * r * f'`` (delta3 times ``scale``, e.g. ``1 / m``) and
    ``col_sums += z.sum(axis=0)``. With ``row_weights`` ``w``, row i's
    squared error counts ``w[i]`` times and its delta is multiplied by
    ``w[i]``.

    Parameters
    ----------
    z : ndarray of shape (m, n)
        ``A2 @ W2`` on entry, the scaled delta3 on return.
    b : ndarray of shape (n,)
        The output intercept b2.
    x : ndarray of shape (m, n)
        The rows being reconstructed (dense).
    sigmoid : bool
        The output activation: sigmoid, or the identity.
    scale : float
        Factor on the delta.
    col_sums : ndarray of shape (n,), float64
        Where the delta's column sums are added.
    row_weights : ndarray of shape (m,), default=None
        Sample weights of the rows (None: all 1).

    Returns
    -------
    squared_error : float
        Sum of squared residuals, accumulated in float64.
    """
    cdef Py_ssize_t rows = z.shape[0], n = z.shape[1], k, r0, r1
    cdef const floating *w = _row_weights(row_weights, rows)
    if x.shape[0] != rows or x.shape[1] != n:
        raise ValueError("x must have the shape of z")
    _check_len(b.shape[0], n, "b")
    _check_len(col_sums.shape[0], n, "col_sums")
    if rows == 0 or n == 0:
        return 0.0
    cdef Py_ssize_t blocks = _n_blocks(rows, n, effective_n_threads())
    cdef double *partial = <double *> calloc(blocks * (n + 1), sizeof(double))
    cdef double *sq = partial + blocks * n
    cdef double total = 0.0
    if partial == NULL:
        raise MemoryError()
    with nogil:
        for k in prange(blocks, num_threads=blocks, schedule="static"):
            r0 = _block_start(k, blocks, rows)
            r1 = _block_start(k + 1, blocks, rows)
            if floating is float:
                sq[k] = sae_output_delta_rows_f(
                    &z[r0, 0], &b[0], &x[r0, 0], w + r0 if w != NULL else NULL,
                    r1 - r0, n, sigmoid, <float> scale, partial + k * n)
            else:
                sq[k] = sae_output_delta_rows_d(
                    &z[r0, 0], &b[0], &x[r0, 0], w + r0 if w != NULL else NULL,
                    r1 - r0, n, sigmoid, scale, partial + k * n)
        _reduce(partial, blocks, n, col_sums)
        for k in range(blocks):
            total += sq[k]
        free(partial)
    return total


def hidden_delta(
    floating[:, ::1] d,
    const floating[:, ::1] a,
    const floating[::1] add,
    double[::1] col_sums,
    const floating[::1] row_weights=None,
):
    """A sigmoid layer's delta (eq. 7) in one pass; in place.

    ``d = (d + add) * a * (1 - a)`` (``add`` None: no term) and
    ``col_sums += d.sum(axis=0)``; with ``row_weights`` ``w``, row i adds
    ``w[i] * add``.

    Parameters
    ----------
    d : ndarray of shape (m, n)
        The back-propagated product ``delta @ W.T`` on entry, the layer's
        delta on return.
    a : ndarray of shape (m, n)
        The layer's sigmoid activations.
    add : ndarray of shape (n,) or None
        A term added to every row before the derivative (the KL sparsity
        term of eq. 7, already scaled).
    col_sums : ndarray of shape (n,), float64
        Where the delta's column sums are added.
    row_weights : ndarray of shape (m,), default=None
        Sample weights of the rows (None: all 1).
    """
    cdef Py_ssize_t rows = d.shape[0], n = d.shape[1], k, r0, r1
    cdef const floating *w = _row_weights(row_weights, rows)
    if a.shape[0] != rows or a.shape[1] != n:
        raise ValueError("a must have the shape of d")
    _check_len(col_sums.shape[0], n, "col_sums")
    if add is not None:
        _check_len(add.shape[0], n, "add")
    if rows == 0 or n == 0:
        return
    cdef Py_ssize_t blocks = _n_blocks(rows, n, effective_n_threads())
    cdef const floating *add_ptr = NULL
    if add is not None:
        add_ptr = &add[0]
    cdef double *partial = <double *> calloc(blocks * n, sizeof(double))
    if partial == NULL:
        raise MemoryError()
    with nogil:
        for k in prange(blocks, num_threads=blocks, schedule="static"):
            r0 = _block_start(k, blocks, rows)
            r1 = _block_start(k + 1, blocks, rows)
            if floating is float:
                sae_hidden_delta_rows_f(&d[r0, 0], &a[r0, 0], add_ptr,
                                        w + r0 if w != NULL else NULL,
                                        r1 - r0, n, partial + k * n)
            else:
                sae_hidden_delta_rows_d(&d[r0, 0], &a[r0, 0], add_ptr,
                                        w + r0 if w != NULL else NULL,
                                        r1 - r0, n, partial + k * n)
        _reduce(partial, blocks, n, col_sums)
        free(partial)


def softmax_cross_entropy(
    floating[:, ::1] z,
    const floating[::1] b,
    const floating[:, ::1] y,
    double scale,
    double[::1] col_sums,
    const floating[::1] row_weights=None,
):
    """Softmax, cross-entropy and its delta in one pass; in place.

    With ``p = softmax(z + b)`` row by row, returns
    ``-(y * log(p)).sum()`` (from the log-sum-exp, so a tiny p costs no
    precision); ``z`` becomes ``scale * (p - y)`` and
    ``col_sums += z.sum(axis=0)``. With ``row_weights`` ``w``, row i's
    cross-entropy counts ``w[i]`` times and its delta is multiplied by
    ``w[i]``.

    Parameters
    ----------
    z : ndarray of shape (m, n_classes)
        The logits without intercept on entry, the scaled delta on return.
    b : ndarray of shape (n_classes,)
        The softmax layer's intercept.
    y : ndarray of shape (m, n_classes)
        Targets, each row summing to 1 (one-hot labels).
    scale : float
        Factor on the delta.
    col_sums : ndarray of shape (n_classes,), float64
        Where the delta's column sums are added.
    row_weights : ndarray of shape (m,), default=None
        Sample weights of the rows (None: all 1).

    Returns
    -------
    cross_entropy : float
        The summed cross-entropy, accumulated in float64.
    """
    cdef Py_ssize_t rows = z.shape[0], n = z.shape[1], k, r0, r1
    cdef const floating *w = _row_weights(row_weights, rows)
    if y.shape[0] != rows or y.shape[1] != n:
        raise ValueError("y must have the shape of z")
    _check_len(b.shape[0], n, "b")
    _check_len(col_sums.shape[0], n, "col_sums")
    if rows == 0 or n == 0:
        return 0.0
    cdef Py_ssize_t blocks = _n_blocks(rows, n, effective_n_threads())
    cdef double *partial = <double *> calloc(blocks * (n + 1), sizeof(double))
    cdef double *loss = partial + blocks * n
    cdef double total = 0.0
    if partial == NULL:
        raise MemoryError()
    with nogil:
        for k in prange(blocks, num_threads=blocks, schedule="static"):
            r0 = _block_start(k, blocks, rows)
            r1 = _block_start(k + 1, blocks, rows)
            if floating is float:
                loss[k] = sae_softmax_xent_rows_f(
                    &z[r0, 0], &b[0], &y[r0, 0], w + r0 if w != NULL else NULL,
                    r1 - r0, n, <float> scale, partial + k * n)
            else:
                loss[k] = sae_softmax_xent_rows_d(
                    &z[r0, 0], &b[0], &y[r0, 0], w + r0 if w != NULL else NULL,
                    r1 - r0, n, scale, partial + k * n)
        _reduce(partial, blocks, n, col_sums)
        for k in range(blocks):
            total += loss[k]
        free(partial)
    return total


def axpy(floating[::1] y, const floating[::1] x, double a):
    """``y += a * x`` on flat vectors (weight decay: ``dW += lambda W``)."""
    cdef Py_ssize_t n = y.shape[0], k, i0, i1
    _check_len(x.shape[0], n, "x")
    cdef Py_ssize_t blocks = _n_blocks(n, 1, effective_n_threads())
    with nogil:
        for k in prange(blocks, num_threads=blocks, schedule="static"):
            i0 = _block_start(k, blocks, n)
            i1 = _block_start(k + 1, blocks, n)
            if floating is float:
                sae_axpy_f(&y[i0], &x[i0], i1 - i0, <float> a)
            else:
                sae_axpy_d(&y[i0], &x[i0], i1 - i0, a)


def adam_step(
    floating[::1] theta,
    const floating[::1] grad,
    floating[::1] first_moment,
    floating[::1] second_moment,
    double learning_rate,
    double beta_1,
    double beta_2,
    double epsilon,
):
    """One Adam step over the flat parameter vector, in place, in one pass.

    ``m = beta_1 m + (1 - beta_1) g``, ``v = beta_2 v + (1 - beta_2) g**2``,
    ``theta -= learning_rate * m / (sqrt(v) + epsilon)``; the bias
    corrections are the caller's, folded into ``learning_rate``.
    """
    cdef Py_ssize_t n = theta.shape[0], k, i0, i1
    _check_len(grad.shape[0], n, "grad")
    _check_len(first_moment.shape[0], n, "first_moment")
    _check_len(second_moment.shape[0], n, "second_moment")
    cdef Py_ssize_t blocks = _n_blocks(n, 1, effective_n_threads())
    with nogil:
        for k in prange(blocks, num_threads=blocks, schedule="static"):
            i0 = _block_start(k, blocks, n)
            i1 = _block_start(k + 1, blocks, n)
            if floating is float:
                sae_adam_f(&theta[i0], &grad[i0], &first_moment[i0],
                           &second_moment[i0], i1 - i0, <float> learning_rate,
                           <float> beta_1, <float> beta_2, <float> epsilon)
            else:
                sae_adam_d(&theta[i0], &grad[i0], &first_moment[i0],
                           &second_moment[i0], i1 - i0, learning_rate,
                           beta_1, beta_2, epsilon)


def sgd_step(
    floating[::1] theta,
    const floating[::1] grad,
    floating[::1] velocity,
    double learning_rate,
    double momentum,
    bint nesterov,
):
    """One step of SGD with momentum over the flat vector, in place.

    ``velocity = momentum * velocity - learning_rate * g``; then
    ``theta += momentum * velocity - learning_rate * g`` (Nesterov) or
    ``theta += velocity``.
    """
    cdef Py_ssize_t n = theta.shape[0], k, i0, i1
    _check_len(grad.shape[0], n, "grad")
    _check_len(velocity.shape[0], n, "velocity")
    cdef Py_ssize_t blocks = _n_blocks(n, 1, effective_n_threads())
    with nogil:
        for k in prange(blocks, num_threads=blocks, schedule="static"):
            i0 = _block_start(k, blocks, n)
            i1 = _block_start(k + 1, blocks, n)
            if floating is float:
                sae_sgd_f(&theta[i0], &grad[i0], &velocity[i0], i1 - i0,
                          <float> learning_rate, <float> momentum, nesterov)
            else:
                sae_sgd_d(&theta[i0], &grad[i0], &velocity[i0], i1 - i0,
                          learning_rate, momentum, nesterov)


def take_rows(const floating[:, ::1] src, const Py_ssize_t[::1] rows,
              floating[:, ::1] out):
    """``out[i] = src[rows[i]]``: the gather of a shuffled minibatch.

    ``rows`` must hold valid row indices of ``src`` (not checked here: the
    minibatch solver draws them from a permutation).
    """
    cdef Py_ssize_t m = rows.shape[0], n = src.shape[1], k, i, r0, r1
    if out.shape[0] != m or out.shape[1] != n:
        raise ValueError("out must have shape (len(rows), src.shape[1])")
    if m == 0 or n == 0:
        return
    cdef Py_ssize_t blocks = _n_blocks(m, n, effective_n_threads())
    cdef size_t row_bytes = n * sizeof(floating)
    with nogil:
        for k in prange(blocks, num_threads=blocks, schedule="static"):
            r0 = _block_start(k, blocks, m)
            r1 = _block_start(k + 1, blocks, m)
            for i in range(r0, r1):
                memcpy(&out[i, 0], &src[rows[i], 0], row_bytes)


def dropout(floating[:, ::1] out, double keep, double scale, uint32_t seed,
            const floating[:, ::1] src=None):
    """Inverted dropout in one pass: ``out = where(u < keep, scale * src, 0)``.

    ``u`` is uniform in [0, 1) from a hash of each entry's flat index and
    ``seed`` (``sae_hash32`` in ``_kernels.h``; ``tests/test_kernels.py`` has
    the numpy formula), so the mask depends on the seed alone, not on the
    threads. Without ``src`` the mask itself is written: ``scale`` where kept,
    0 elsewhere. An entry is kept with probability ``keep`` (to 2**-32).
    """
    cdef Py_ssize_t m = out.shape[0], n = out.shape[1], k, r0, r1
    cdef const floating *values = NULL
    if src is not None:
        if src.shape[0] != m or src.shape[1] != n:
            raise ValueError("src must have the shape of out")
    if not 0 <= keep <= 1:
        raise ValueError(f"keep must lie in [0, 1], got {keep}")
    cdef uint32_t threshold = <uint32_t> min(keep * 4294967296.0, 4294967295.0)
    if m == 0 or n == 0:
        return
    if src is not None:
        values = &src[0, 0]
    cdef floating *dest = &out[0, 0]
    cdef Py_ssize_t blocks = _n_blocks(m, n, effective_n_threads())
    with nogil:
        for k in prange(blocks, num_threads=blocks, schedule="static"):
            r0 = _block_start(k, blocks, m)
            r1 = _block_start(k + 1, blocks, m)
            if floating is float:
                sae_dropout_f(dest, values, r0 * n, (r1 - r0) * n, threshold,
                              seed, <float> scale)
            else:
                sae_dropout_d(dest, values, r0 * n, (r1 - r0) * n, threshold,
                              seed, scale)
