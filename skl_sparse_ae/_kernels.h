/* The C half of skl_sparse_ae._kernels: the body of each fused kernel for a
 * block of rows, written so that the compiler vectorises every inner loop.
 *
 * Why C and not Cython for these loops: an inner loop over the columns of a
 * C-contiguous row has to become SIMD code to beat numpy, whose own ufuncs
 * are SIMD. That needs (1) an exp the compiler can vectorise (libm's exp is a
 * call, so it is written out below: Cephes' polynomials, with the exponent
 * built from integer bits), (2) `restrict` pointers, and (3) `#pragma omp
 * simd reduction(+:s)` for the one sum that crosses the columns (without it
 * the compiler may not reorder a floating-point sum). None of this changes a
 * result beyond rounding, and no -ffast-math is used.
 *
 * Each function is compiled twice on x86-64 with gcc (target_clones): for
 * x86-64-v3 (AVX2 + FMA) and for the baseline; the loader picks one at run
 * time, so the wheel still runs on any x86-64 machine.
 *
 * The type-generic bodies live in _kernels_rows.h, included once for float
 * (suffix _f) and once for double (suffix _d).
 */
#ifndef SKL_SPARSE_AE_KERNELS_H
#define SKL_SPARSE_AE_KERNELS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#ifdef _OPENMP
#include <omp.h>
#define SAE_OPENMP 1
#else
/* Built without OpenMP: prange runs as a plain loop on one thread. */
#define SAE_OPENMP 0
static int omp_get_max_threads(void) { return 1; }
#endif

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    defined(__linux__) && __GNUC__ >= 12
#define SAE_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define SAE_CLONES
#endif

#if defined(_MSC_VER)
#define SAE_RESTRICT __restrict
#else
#define SAE_RESTRICT __restrict__
#endif

/* exp(x) in float, relative error below 2e-7 (Cephes expf). Below -87.33
 * the result is 0 (the true value is under float's smallest normal number),
 * above 88.72 it is +inf, so sigmoid(z) = 1 / (1 + exp(-z)) saturates at
 * exactly 0 and 1 as numpy's does, with no warning. */
static inline float sae_expf(float x) {
    union { float f; int32_t i; } t, s;
    float xc = x < -87.33f ? -87.33f : (x > 88.72f ? 88.72f : x);
    /* n = round(x / ln 2): adding 1.5 * 2**23 leaves n in the low bits */
    t.f = xc * 1.44269504088896341f + 12582912.0f;
    float n = t.f - 12582912.0f;
    float r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    s.i = (t.i - 0x4B400000 + 127) << 23; /* 2**n */
    float y = p * s.f;
    y = x < -87.33f ? 0.0f : y;
    return x > 88.72f ? INFINITY : y;
}

/* exp(x) in double, relative error below 3e-16 (Cephes exp, Pade form). 0
 * below -708.39, +inf above 709.78. */
static inline double sae_exp(double x) {
    union { double f; int64_t i; } t, s;
    double xc = x < -708.39 ? -708.39 : (x > 709.78 ? 709.78 : x);
    t.f = xc * 1.4426950408889634 + 6755399441055744.0; /* 1.5 * 2**52 */
    double n = t.f - 6755399441055744.0;
    double r = xc - n * 6.93145751953125e-1;
    r = r - n * 1.42860682030941723212e-6;
    double rr = r * r;
    double px = r * ((1.26177193074810590878e-4 * rr + 3.02994407707441961300e-2) * rr +
                     9.99999999999999999910e-1);
    double qx = ((3.00198505138664455042e-6 * rr + 2.52448340349684104192e-3) * rr +
                 2.27265548208155028766e-1) * rr + 2.00000000000000000009e0;
    double y = 1.0 + 2.0 * px / (qx - px);
    /* exponent 1023 + n, with n taken from the integer bits */
    s.i = (t.i - INT64_C(0x4338000000000000) + 1023) << 52;
    y = y * s.f;
    y = x < -708.39 ? 0.0 : y;
    return x > 709.78 ? INFINITY : y;
}

/* lowbias32 (C. Wellons' hash prospector): a bijective 32-bit mixer of good
 * quality. Hashing a counter gives random bits that do not depend on how the
 * work is split among threads. */
static inline uint32_t sae_hash32(uint32_t x) {
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

#define SAE_T float
#define SAE_S(name) name##_f
#define SAE_EXP sae_expf
#define SAE_SQRT sqrtf
#include "_kernels_rows.h"
#undef SAE_T
#undef SAE_S
#undef SAE_EXP
#undef SAE_SQRT

#define SAE_T double
#define SAE_S(name) name##_d
#define SAE_EXP sae_exp
#define SAE_SQRT sqrt
#include "_kernels_rows.h"
#undef SAE_T
#undef SAE_S
#undef SAE_EXP
#undef SAE_SQRT

#endif /* SKL_SPARSE_AE_KERNELS_H */
