// dms_internal.h — helpers shared by the kernel sources (not part of the public API).
#ifndef DMS_INTERNAL_H
#define DMS_INTERNAL_H

#include "dms_kernels.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

// Numerics are exactly as written: no silent a*b+c contraction (explicit FMAs only).
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#if (defined(__x86_64__) || defined(_M_X64)) && !defined(DMS_PORTABLE_ONLY)
#define DMS_X86 1
#include <immintrin.h>
// Functions carrying this attribute may use AVX2/FMA/F16C; they are only called after the run-time
// check in dms_use_avx2().
#define DMS_AVX2 __attribute__((target("avx2,fma,f16c")))
#define DMS_AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma,f16c")))
// The same for AVX-512 with VNNI (8-bit dot products), checked by dms_use_avx512vnni().
#define DMS_VNNI_TARGET target("avx512f,avx512vl,avx512bw,avx512dq,avx512vnni,avx2,fma,f16c")
#define DMS_VNNI __attribute__((DMS_VNNI_TARGET))
#define DMS_VNNI_INLINE static inline __attribute__((always_inline, DMS_VNNI_TARGET))
#else
#define DMS_X86 0
#endif

#define DMS_INLINE static inline __attribute__((always_inline))

/// 1 when the AVX2+FMA+F16C paths are used (decided once; DMS_KERNELS_ISA=scalar forces 0).
int dms_use_avx2(void);
/// 1 when the AVX-512 VNNI paths are used too (DMS_KERNELS_ISA=avx2 forces 0).
int dms_use_avx512vnni(void);

// r = A x for A [rank][inputs] (the down-projection of a LoRA update), on the best vector path,
// reading A16 (A's values in f16, the same results) instead where it is not NULL.
void dms_low_rank_down(const float *A, const uint16_t *A16, int64_t rank, int64_t inputs, const float *x, float *r);
// The group's LoRA updates added to the products' outputs afterwards, run by run of flagged rows,
// exactly as dms_low_rank_accumulate adds them.
void dms_low_rank_group_add(dms_pool *pool, const dms_product *products, int count, const dms_low_rank_group *g,
                            int64_t inputs, const float *x, int64_t n);

/// The 8-bit-activation matmul (matmul_int8.c): returns 0, having done nothing, where it does not
/// apply (no VNNI, a float weight type, cols not a multiple of 32, or no memory).
int dms_matmul_int8_vnni(dms_pool *pool, dms_wtype type, const void *W, int64_t rows, int64_t cols,
                         const float *x, int64_t n, float *y);

static inline void dms_cpu_relax(void) {
#if DMS_X86
    _mm_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

// ---- scalar f16 / bf16 conversions -----------------------------------------------------------

DMS_INLINE uint32_t dms_f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
DMS_INLINE float dms_bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

DMS_INLINE float dms_h2f(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1fu;
    uint32_t m = h & 0x3ffu;
    if (e == 0) {
        // zero or subnormal: m * 2^-24, exact in f32
        float v = (float)m * 5.9604644775390625e-08f;
        return dms_bits_f32(dms_f32_bits(v) | sign);
    }
    if (e == 31) return dms_bits_f32(sign | 0x7f800000u | (m << 13));
    return dms_bits_f32(sign | ((e + 112u) << 23) | (m << 13));
}

/// f32 -> f16 with round-to-nearest-even; NaN stays NaN (quietened), overflow gives inf.
DMS_INLINE uint16_t dms_f2h(float f) {
    uint32_t x = dms_f32_bits(f);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) {
        if (ax == 0x7f800000u) return (uint16_t)(sign | 0x7c00u);
        return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
    }
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);  // >= 65520 rounds to inf
    if (ax < 0x38800000u) {                                      // below 2^-14: f16 subnormal
        uint32_t e = ax >> 23;
        if (e < 102) return (uint16_t)sign;                      // < 2^-25: rounds to zero
        uint32_t m = (ax & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126 - e;                                // 14..24
        uint32_t r = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1))) r++;
        return (uint16_t)(sign | r);
    }
    uint32_t r = (ax - (112u << 23)) >> 13;
    uint32_t rem = ax & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1))) r++;
    return (uint16_t)(sign | r);
}

DMS_INLINE float dms_bf2f(uint16_t h) { return dms_bits_f32((uint32_t)h << 16); }

DMS_INLINE uint16_t dms_f2bf(float f) {
    uint32_t u = dms_f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);  // quiet NaN
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

// ---- libm-free scalar math ----------------------------------------------------------------
// The package manifest links no libm (and the Linux linker will not pull it in for a C target),
// so the few transcendental functions needed are implemented here.

/// sqrt, correctly rounded (hardware instruction, no errno).
DMS_INLINE float dms_sqrtf(float v) {
#if DMS_X86
    return _mm_cvtss_f32(_mm_sqrt_ss(_mm_set_ss(v)));
#elif defined(__has_builtin) && __has_builtin(__builtin_elementwise_sqrt)
    return __builtin_elementwise_sqrt(v);
#else
    return __builtin_sqrtf(v);
#endif
}

DMS_INLINE double dms_pow2i(int k) {  // 2^k for -1022 <= k <= 1023
    uint64_t u = (uint64_t)(k + 1023) << 52;
    double d;
    memcpy(&d, &u, 8);
    return d;
}

/// exp(x) for a float, evaluated in double and rounded once (so practically correctly rounded).
DMS_INLINE float dms_expf(float xf) {
    if (xf != xf) return xf;
    if (xf > 88.72283935546875f) return INFINITY;
    if (xf < -103.972084045410156f) return 0.0f;
    double x = xf;
    double t = x * 1.4426950408889634074;
    int k = (int)(t + (t >= 0 ? 0.5 : -0.5));
    double r = x - (double)k * 0.69314718055994530942;  // |r| <= 0.347
    double p = 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    return (float)(p * dms_pow2i(k));
}

/// log(x) for a float, evaluated in double and rounded once: x = 2^e * m with m in
/// [sqrt(1/2), sqrt(2)), log m = 2 atanh(s) with s = (m-1)/(m+1), |s| <= 0.172 (series to s^17).
/// log(0) = -inf, log(+inf) = +inf, NaN for NaN and negative x.
DMS_INLINE float dms_logf(float xf) {
    if (xf != xf || xf == INFINITY) return xf;
    if (xf == 0.0f) return -INFINITY;
    if (xf < 0.0f) return NAN;
    double x = xf;  // normal in double even when xf is subnormal
    uint64_t u;
    memcpy(&u, &x, 8);
    int e = (int)((u >> 52) & 0x7ff) - 1023;
    u = (u & 0x000fffffffffffffull) | 0x3ff0000000000000ull;  // m in [1, 2)
    double m;
    memcpy(&m, &u, 8);
    if (m > 1.4142135623730951) {
        m *= 0.5;
        e++;
    }
    double s = (m - 1.0) / (m + 1.0), s2 = s * s;
    double p = 1.0 / 17.0;
    p = p * s2 + 1.0 / 15.0;
    p = p * s2 + 1.0 / 13.0;
    p = p * s2 + 1.0 / 11.0;
    p = p * s2 + 1.0 / 9.0;
    p = p * s2 + 1.0 / 7.0;
    p = p * s2 + 1.0 / 5.0;
    p = p * s2 + 1.0 / 3.0;
    p = p * s2 + 1.0;
    return (float)((double)e * 0.69314718055994530942 + 2.0 * s * p);
}

/// sin and cos of a float (FreeBSD/fdlibm float kernels evaluated in double; < 1 ulp, usually
/// correctly rounded). Argument reduction is accurate for |a| < 2^28 * pi/2.
DMS_INLINE void dms_sincosf(float a, float *sn, float *cs) {
    if (a != a || a == INFINITY || a == -INFINITY) {
        *sn = *cs = a - a;  // NaN
        return;
    }
    const double invpio2 = 6.36619772367581382433e-01;
    const double pio2_1 = 1.57079631090164184570e+00;
    const double pio2_1t = 1.58932547735281966916e-08;
    double x = a;
    double fnr = x * invpio2;
    double fn = (double)(int64_t)(fnr + (fnr >= 0 ? 0.5 : -0.5));
    int64_t n = (int64_t)fn;
    double y = (x - fn * pio2_1) - fn * pio2_1t;
    double z = y * y, w = z * z;
    // sin kernel
    const double S1 = -0.166666666416265235595, S2 = 0.0083333293858894631756,
                 S3 = -0.000198393348360966317347, S4 = 0.0000027183114939898219064;
    double rs = S3 + z * S4, s = z * y;
    double sv = (y + s * (S1 + z * S2)) + s * w * rs;
    // cos kernel
    const double C0 = -0.499999997251031003120, C1 = 0.0416666233237390631894,
                 C2 = -0.00138867637746099294692, C3 = 0.0000243904487962774090654;
    double rc = C2 + z * C3;
    double cv = ((1.0 + z * C0) + w * C1) + (w * z) * rc;
    switch (n & 3) {
    case 0: *sn = (float)sv; *cs = (float)cv; break;
    case 1: *sn = (float)cv; *cs = (float)-sv; break;
    case 2: *sn = (float)-sv; *cs = (float)-cv; break;
    default: *sn = (float)-cv; *cs = (float)sv; break;
    }
}

// ---- portable dot product -----------------------------------------------------------------
/// sum(a[i]*b[i]) with 8 interleaved partial sums (a fixed order the compiler can vectorize
/// without reassociating), added pairwise at the end.
DMS_INLINE void dms_dot8_acc(const float *a, const float *b, int64_t n, float acc[8]) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) acc[l] += a[i + l] * b[i + l];
    for (; i < n; i++) acc[i & 7] += a[i] * b[i];
}
DMS_INLINE float dms_sum8(const float acc[8]) {
    return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
}
DMS_INLINE float dms_dot8(const float *a, const float *b, int64_t n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    dms_dot8_acc(a, b, n, acc);
    return dms_sum8(acc);
}

// ---- quantized block layouts ---------------------------------------------------------------

typedef struct { uint16_t d; int8_t qs[32]; } dms_block_q8_0;                 // 34 bytes
typedef struct { uint16_t d; uint8_t qs[16]; } dms_block_q4_0;                // 18 bytes
typedef struct { uint16_t d; uint16_t m; uint8_t qs[16]; } dms_block_q4_1;    // 20 bytes

_Static_assert(sizeof(dms_block_q8_0) == 34, "q8_0 block");
_Static_assert(sizeof(dms_block_q4_0) == 18, "q4_0 block");
_Static_assert(sizeof(dms_block_q4_1) == 20, "q4_1 block");

/// Dequantizes elements [c0, c0+nc) of a row (c0, nc multiples of 32 for block types).
void dms_dequant_range(dms_wtype type, const void *row, int64_t c0, int64_t nc, float *dst);

// ---- AVX2 helpers --------------------------------------------------------------------------
#if DMS_X86

DMS_AVX2_INLINE float dms_hsum256(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v);
    __m128 hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    __m128 sh = _mm_movehl_ps(lo, lo);
    lo = _mm_add_ps(lo, sh);
    sh = _mm_movehdup_ps(lo);
    lo = _mm_add_ss(lo, sh);
    return _mm_cvtss_f32(lo);
}

DMS_AVX2_INLINE float dms_hmax256(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v);
    __m128 hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_max_ps(lo, hi);
    lo = _mm_max_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_max_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

/// exp(x) for 8 floats, ~1 ulp over the normal range (Cephes-style reduction + degree-6
/// polynomial); exp(x) = +inf above 88.72, 0 below -103.97, subnormal results handled, NaN kept.
DMS_AVX2_INLINE __m256 dms_exp256(__m256 x) {
    const __m256 hi = _mm256_set1_ps(88.7228393554688f);
    const __m256 lo = _mm256_set1_ps(-103.972076416f);
    __m256 over = _mm256_cmp_ps(x, hi, _CMP_GT_OQ);
    __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    __m256 xc = _mm256_min_ps(hi, _mm256_max_ps(_mm256_set1_ps(-104.0f), x));
    // keep NaN: max/min return the second operand when either is NaN
    xc = _mm256_blendv_ps(xc, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
    __m256 fx = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)),
                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), xc);
    r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500E-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507E-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073E-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894E-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459E-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201E-1f));
    __m256 r2 = _mm256_mul_ps(r, r);
    p = _mm256_fmadd_ps(p, r2, r);
    p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));
    // 2^n as the product of two normal powers so that subnormal results come out right
    __m256i n = _mm256_cvtps_epi32(fx);
    __m256i n1 = _mm256_srai_epi32(n, 1);
    __m256i n2 = _mm256_sub_epi32(n, n1);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, _mm256_set1_epi32(127)), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, _mm256_set1_epi32(127)), 23));
    __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
    y = _mm256_blendv_ps(y, _mm256_set1_ps(INFINITY), over);
    y = _mm256_blendv_ps(y, _mm256_setzero_ps(), under);
    return y;
}

// silu(g) * u on 8 lanes (dms_swiglu's vector path).
DMS_AVX2_INLINE __m256 dms_swiglu256(__m256 g, __m256 u) {
    __m256 e = dms_exp256(_mm256_sub_ps(_mm256_setzero_ps(), g));
    __m256 s = _mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
    return _mm256_mul_ps(s, u);
}

DMS_AVX2_INLINE __m256 dms_load_h8(const uint16_t *p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}
DMS_AVX2_INLINE __m256 dms_load_bf8(const uint16_t *p) {
    __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}

#endif  // DMS_X86

#endif
