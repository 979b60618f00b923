/* Type-generic bodies of the fused kernels, included by _kernels.h once per
 * floating type with SAE_T (the type), SAE_S(name) (the suffixed name) and
 * SAE_EXP (exp of that type) defined.
 *
 * Every function works on `rows` consecutive rows of C-contiguous arrays of
 * `n` columns (a thread's share of a batch, chosen by _kernels.pyx). Column
 * sums are added into `colsum` (double, one thread's own vector); sums over
 * every entry are returned as double. The numpy formula of each function is
 * written above it, and tests/test_kernels.py checks it against that formula.
 */

/* z = sigmoid(z + b); colsum += column sums of w_i * z (when colsum is not
 * NULL; w NULL: every w_i is 1) */
static SAE_CLONES void SAE_S(sae_sigmoid_rows)(
    SAE_T *SAE_RESTRICT z, const SAE_T *SAE_RESTRICT b,
    const SAE_T *SAE_RESTRICT w, ptrdiff_t rows, ptrdiff_t n,
    double *SAE_RESTRICT colsum)
{
    for (ptrdiff_t i = 0; i < rows; i++) {
        SAE_T *SAE_RESTRICT zi = z + i * n;
        if (colsum) {
            SAE_T wi = w ? w[i] : (SAE_T)1;
#pragma omp simd
            for (ptrdiff_t j = 0; j < n; j++) {
                SAE_T a = (SAE_T)1 / ((SAE_T)1 + SAE_EXP(-(zi[j] + b[j])));
                zi[j] = a;
                colsum[j] += a * wi;
            }
        } else {
#pragma omp simd
            for (ptrdiff_t j = 0; j < n; j++) {
                zi[j] = (SAE_T)1 / ((SAE_T)1 + SAE_EXP(-(zi[j] + b[j])));
            }
        }
    }
}

/* The output layer of the autoencoder, eq. (6), with row weights w (NULL:
 * every w_i is 1):
 *   h = f(z + b) with f = sigmoid (or the identity), r = h - x,
 *   returns sum_i w_i sum_j r_ij**2, z = (scale * w_i) * r * f'(z3) (delta3,
 *   already averaged), colsum += column sums of the new z. */
static SAE_CLONES double SAE_S(sae_output_delta_rows)(
    SAE_T *SAE_RESTRICT z, const SAE_T *SAE_RESTRICT b,
    const SAE_T *SAE_RESTRICT x, const SAE_T *SAE_RESTRICT w, ptrdiff_t rows,
    ptrdiff_t n, int sigmoid, SAE_T scale, double *SAE_RESTRICT colsum)
{
    double total = 0.0;
    for (ptrdiff_t i = 0; i < rows; i++) {
        SAE_T *SAE_RESTRICT zi = z + i * n;
        const SAE_T *SAE_RESTRICT xi = x + i * n;
        SAE_T wi = w ? w[i] : (SAE_T)1;
        SAE_T rs = scale * wi;
        double s = 0.0;
        if (sigmoid) {
#pragma omp simd reduction(+ : s)
            for (ptrdiff_t j = 0; j < n; j++) {
                SAE_T h = (SAE_T)1 / ((SAE_T)1 + SAE_EXP(-(zi[j] + b[j])));
                SAE_T r = h - xi[j];
                s += (double)r * (double)r;
                SAE_T d = r * (h * ((SAE_T)1 - h)) * rs;
                zi[j] = d;
                colsum[j] += d;
            }
        } else {
#pragma omp simd reduction(+ : s)
            for (ptrdiff_t j = 0; j < n; j++) {
                SAE_T r = zi[j] + b[j] - xi[j];
                s += (double)r * (double)r;
                SAE_T d = r * rs;
                zi[j] = d;
                colsum[j] += d;
            }
        }
        total += (double)wi * s;
    }
    return total;
}

/* A hidden layer's delta, eq. (7): d = (d + w_i * add) * a * (1 - a) (add
 * may be NULL: no term; w NULL: every w_i is 1), colsum += column sums of
 * the new d. */
static SAE_CLONES void SAE_S(sae_hidden_delta_rows)(
    SAE_T *SAE_RESTRICT d, const SAE_T *SAE_RESTRICT a,
    const SAE_T *SAE_RESTRICT add, const SAE_T *SAE_RESTRICT w, ptrdiff_t rows,
    ptrdiff_t n, double *SAE_RESTRICT colsum)
{
    for (ptrdiff_t i = 0; i < rows; i++) {
        SAE_T *SAE_RESTRICT di = d + i * n;
        const SAE_T *SAE_RESTRICT ai = a + i * n;
        if (add) {
            SAE_T wi = w ? w[i] : (SAE_T)1;
#pragma omp simd
            for (ptrdiff_t j = 0; j < n; j++) {
                SAE_T v = (di[j] + add[j] * wi) * (ai[j] * ((SAE_T)1 - ai[j]));
                di[j] = v;
                colsum[j] += v;
            }
        } else {
#pragma omp simd
            for (ptrdiff_t j = 0; j < n; j++) {
                SAE_T v = di[j] * (ai[j] * ((SAE_T)1 - ai[j]));
                di[j] = v;
                colsum[j] += v;
            }
        }
    }
}

/* Softmax cross-entropy of logits z + b against targets y (rows summing to
 * 1), with row weights w (NULL: every w_i is 1), per row:
 * lse = log(sum(exp(z + b))), returns sum_i w_i sum_j y_ij (lse - z - b)_ij,
 * z = (scale * w_i) * (softmax(z + b) - y) (the delta, already averaged),
 * colsum += column sums of the new z. */
static SAE_CLONES double SAE_S(sae_softmax_xent_rows)(
    SAE_T *SAE_RESTRICT z, const SAE_T *SAE_RESTRICT b,
    const SAE_T *SAE_RESTRICT y, const SAE_T *SAE_RESTRICT w, ptrdiff_t rows,
    ptrdiff_t n, SAE_T scale, double *SAE_RESTRICT colsum)
{
    double total = 0.0;
    for (ptrdiff_t i = 0; i < rows; i++) {
        SAE_T *SAE_RESTRICT zi = z + i * n;
        const SAE_T *SAE_RESTRICT yi = y + i * n;
        SAE_T wi = w ? w[i] : (SAE_T)1;
        SAE_T rs = scale * wi;
        SAE_T top = -INFINITY;
        for (ptrdiff_t j = 0; j < n; j++) {
            SAE_T v = zi[j] + b[j];
            zi[j] = v;
            top = v > top ? v : top;
        }
        SAE_T s = 0;
#pragma omp simd reduction(+ : s)
        for (ptrdiff_t j = 0; j < n; j++) {
            s += SAE_EXP(zi[j] - top);
        }
        SAE_T lse = top + (SAE_T)log((double)s);
        double loss = 0.0;
#pragma omp simd reduction(+ : loss)
        for (ptrdiff_t j = 0; j < n; j++) {
            loss += (double)yi[j] * ((double)lse - (double)zi[j]);
            SAE_T d = (SAE_EXP(zi[j] - lse) - yi[j]) * rs;
            zi[j] = d;
            colsum[j] += d;
        }
        total += (double)wi * loss;
    }
    return total;
}

/* y += a * x */
static SAE_CLONES void SAE_S(sae_axpy)(
    SAE_T *SAE_RESTRICT y, const SAE_T *SAE_RESTRICT x, ptrdiff_t n, SAE_T a)
{
#pragma omp simd
    for (ptrdiff_t i = 0; i < n; i++) {
        y[i] += a * x[i];
    }
}

/* One Adam step (Kingma and Ba), the bias corrections folded into lr:
 *   m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g**2,
 *   theta -= lr * m / (sqrt(v) + eps). */
static SAE_CLONES void SAE_S(sae_adam)(
    SAE_T *SAE_RESTRICT theta, const SAE_T *SAE_RESTRICT g,
    SAE_T *SAE_RESTRICT m, SAE_T *SAE_RESTRICT v, ptrdiff_t n, SAE_T lr,
    SAE_T b1, SAE_T b2, SAE_T eps)
{
    SAE_T c1 = (SAE_T)1 - b1, c2 = (SAE_T)1 - b2;
#pragma omp simd
    for (ptrdiff_t i = 0; i < n; i++) {
        SAE_T gi = g[i];
        SAE_T mi = b1 * m[i] + c1 * gi;
        SAE_T vi = b2 * v[i] + c2 * (gi * gi);
        m[i] = mi;
        v[i] = vi;
        theta[i] -= lr * mi / (SAE_SQRT(vi) + eps);
    }
}

/* One step of SGD with momentum mu:
 *   vel = mu vel - lr g;  theta += mu vel - lr g (Nesterov) or vel. */
static SAE_CLONES void SAE_S(sae_sgd)(
    SAE_T *SAE_RESTRICT theta, const SAE_T *SAE_RESTRICT g,
    SAE_T *SAE_RESTRICT vel, ptrdiff_t n, SAE_T lr, SAE_T mu, int nesterov)
{
    if (nesterov) {
#pragma omp simd
        for (ptrdiff_t i = 0; i < n; i++) {
            SAE_T step = lr * g[i];
            SAE_T vi = mu * vel[i] - step;
            vel[i] = vi;
            theta[i] += mu * vi - step;
        }
    } else {
#pragma omp simd
        for (ptrdiff_t i = 0; i < n; i++) {
            SAE_T vi = mu * vel[i] - lr * g[i];
            vel[i] = vi;
            theta[i] += vi;
        }
    }
}

/* Inverted dropout of entries [start, start + n) of out (and src, which may
 * be NULL): out[i] = scale * (src ? src[i] : 1) where the hash of i (with
 * the seed) falls below threshold, else 0. An entry is kept with
 * probability threshold / 2^32. */
static SAE_CLONES void SAE_S(sae_dropout)(
    SAE_T *SAE_RESTRICT out, const SAE_T *SAE_RESTRICT src, ptrdiff_t start,
    ptrdiff_t n, uint32_t threshold, uint32_t seed, SAE_T scale)
{
    SAE_T *SAE_RESTRICT o = out + start;
    uint32_t first = (uint32_t)start;
    if (src) {
        const SAE_T *SAE_RESTRICT x = src + start;
#pragma omp simd
        for (ptrdiff_t i = 0; i < n; i++) {
            uint32_t h = sae_hash32((first + (uint32_t)i) * 0x9e3779b9U + seed);
            o[i] = h < threshold ? x[i] * scale : (SAE_T)0;
        }
    } else {
#pragma omp simd
        for (ptrdiff_t i = 0; i < n; i++) {
            uint32_t h = sae_hash32((first + (uint32_t)i) * 0x9e3779b9U + seed);
            o[i] = h < threshold ? scale : (SAE_T)0;
        }
    }
}
