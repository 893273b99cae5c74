// attention.c — decode attention of G query heads sharing one KV head, over paged keys/values.
//
// Slots are processed in blocks of up to 64 visible slots: scores of the block for up to 3 heads
// at a time (each key row read once per 3 heads, converted in registers), an online softmax
// (running max m, running sum l, rescaled accumulator) and the value pass for the same heads.
// Masked slots are never read. Memory: a few KB of stack. (The scalar path converts each block's
// rows into stack buffers first.)
#include "dms_internal.h"

#include <stdlib.h>

#define ATT_BUF 4096  // floats per K/V block buffer
#define ATT_BSMAX 64

static inline size_t kv_elem_size(dms_wtype t) { return t == DMS_WTYPE_F32 ? 4 : 2; }

static inline const void *slot_ptr(const void *const *pages, int64_t page_size, int64_t D,
                                   size_t esz, int64_t s) {
    int64_t p = s / page_size, o = s - p * page_size;
    return (const uint8_t *)pages[p] + (size_t)(o * D) * esz;
}

static void convert_row(dms_wtype t, const void *src, float *dst, int64_t D) {
    if (t == DMS_WTYPE_F16) dms_f16_to_f32((const uint16_t *)src, dst, D);
    else if (t == DMS_WTYPE_BF16) dms_bf16_to_f32((const uint16_t *)src, dst, D);
    else memcpy(dst, src, (size_t)D * 4);
}

typedef struct {
    dms_wtype t;
    const void *const *kpages, *const *vpages;
    int64_t page_size, D;
    const uint8_t *mask;
    float scale;
} att_args;

// Gathers the next block of visible slots starting at *s (< end): fills row pointers (f32 rows,
// converted into kbuf/vbuf unless the cache is f32) and returns how many (0 if none remain).
static int gather_block(const att_args *a, int64_t *s, int64_t end, int BS, const float **kp,
                        const float **vp, float *kbuf, float *vbuf) {
    const size_t esz = kv_elem_size(a->t);
    int nv = 0;
    int64_t i = *s;
    for (; i < end && nv < BS; i++) {
        if (a->mask && a->mask[i] == 0) continue;
        const void *k = slot_ptr(a->kpages, a->page_size, a->D, esz, i);
        const void *v = slot_ptr(a->vpages, a->page_size, a->D, esz, i);
        if (a->t == DMS_WTYPE_F32) {
            kp[nv] = (const float *)k;
            vp[nv] = (const float *)v;
        } else {
            convert_row(a->t, k, kbuf + (size_t)nv * a->D, a->D);
            convert_row(a->t, v, vbuf + (size_t)nv * a->D, a->D);
            kp[nv] = kbuf + (size_t)nv * a->D;
            vp[nv] = vbuf + (size_t)nv * a->D;
        }
        nv++;
    }
    *s = i;
    return nv;
}

// =============================================================================================
// Scalar
// =============================================================================================

static void partial_scalar(const att_args *a, int64_t begin, int64_t end, const float *q, int64_t G,
                           float *acc, float *m, float *l) {
    const int64_t D = a->D;
    int BS = (int)(ATT_BUF / D);
    if (BS > ATT_BSMAX) BS = ATT_BSMAX;
    if (BS < 1) BS = 1;
    float kbuf[ATT_BUF], vbuf[ATT_BUF];
    const float *kp[ATT_BSMAX], *vp[ATT_BSMAX];
    float S[ATT_BSMAX];
    for (int64_t g = 0; g < G; g++) {
        m[g] = -INFINITY;
        l[g] = 0.0f;
    }
    memset(acc, 0, (size_t)(G * D) * sizeof(float));
    int64_t s = begin;
    while (s < end) {
        int nv = gather_block(a, &s, end, BS, kp, vp, kbuf, vbuf);
        if (nv == 0) break;
        for (int64_t g = 0; g < G; g++) {
            const float *qg = q + g * D;
            float bm = -INFINITY;
            for (int j = 0; j < nv; j++) {
                S[j] = dms_dot8(qg, kp[j], D) * a->scale;
                bm = S[j] > bm ? S[j] : bm;
            }
            float mn = m[g] > bm ? m[g] : bm;
            if (mn == -INFINITY) continue;
            float alpha = dms_expf(m[g] - mn);
            float sum = 0.0f;
            for (int j = 0; j < nv; j++) {
                S[j] = dms_expf(S[j] - mn);
                sum += S[j];
            }
            l[g] = l[g] * alpha + sum;
            m[g] = mn;
            float *ag = acc + g * D;
            for (int64_t e = 0; e < D; e++) ag[e] *= alpha;
            for (int j = 0; j < nv; j++) {
                const float p = S[j], *v = vp[j];
                for (int64_t e = 0; e < D; e++) ag[e] += p * v[e];
            }
        }
    }
}

// =============================================================================================
// AVX2
// =============================================================================================
#if DMS_X86

// Keys and values are read straight from the pages (f16/bf16 converted in registers); each block
// gathers up to 64 visible slot pointers first (page/offset walked incrementally).
DMS_AVX2_INLINE __m256 kv_load8(const dms_wtype t, const void *row, int64_t e) {
    if (t == DMS_WTYPE_F16) return dms_load_h8((const uint16_t *)row + e);
    if (t == DMS_WTYPE_BF16) return dms_load_bf8((const uint16_t *)row + e);
    return _mm256_loadu_ps((const float *)row + e);
}

// Scores of GQ (<= 3) heads against NJ (3 or 4) key rows k[0..NJ) (J of them real); NJ*GQ
// accumulators stay in registers.
DMS_AVX2_INLINE void qk_tile(const dms_wtype t, const int GQ, const int NJ, const float *q,
                             int64_t D, const void *const *k, float scale, float *S, int64_t ldS,
                             int J) {
    (void)J;
    __m256 acc[3][4];
    for (int g = 0; g < 3; g++)
        for (int j = 0; j < 4; j++) acc[g][j] = _mm256_setzero_ps();
    for (int64_t e = 0; e < D; e += 8) {
        __m256 kv[4];
        for (int j = 0; j < NJ; j++) kv[j] = kv_load8(t, k[j], e);
        for (int g = 0; g < GQ; g++) {
            __m256 qv = _mm256_loadu_ps(q + g * D + e);
            for (int j = 0; j < NJ; j++) acc[g][j] = _mm256_fmadd_ps(qv, kv[j], acc[g][j]);
        }
    }
    __m128 vs = _mm_set1_ps(scale);
    for (int g = 0; g < GQ; g++) {
        __m256 h01 = _mm256_hadd_ps(acc[g][0], acc[g][1]);
        __m256 h23 = _mm256_hadd_ps(acc[g][2], acc[g][3]);
        __m256 h = _mm256_hadd_ps(h01, h23);
        __m128 r = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
        r = _mm_mul_ps(r, vs);
        _mm_storeu_ps(S + g * ldS, r);  // rows have slack: lanes past J are overwritten later
    }
}

// acc[g][0..D) = acc*alpha[g] + sum_j P[g][j] * v[j][0..D) for GQ (<= 4) heads, 16 dims at a time.
DMS_AVX2_INLINE void pv_rows(const dms_wtype t, const int GQ, float *acc, int64_t D,
                             const float *alpha, const float *P, int64_t ldP,
                             const void *const *v, int nv) {
    for (int64_t d0 = 0; d0 < D; d0 += 16) {
        __m256 a[4][2];
        for (int g = 0; g < GQ; g++) {
            __m256 al = _mm256_set1_ps(alpha[g]);
            a[g][0] = _mm256_mul_ps(_mm256_loadu_ps(acc + g * D + d0), al);
            a[g][1] = _mm256_mul_ps(_mm256_loadu_ps(acc + g * D + d0 + 8), al);
        }
        for (int j = 0; j < nv; j++) {
            __m256 v0 = kv_load8(t, v[j], d0), v1 = kv_load8(t, v[j], d0 + 8);
            for (int g = 0; g < GQ; g++) {
                __m256 p = _mm256_broadcast_ss(P + g * ldP + j);
                a[g][0] = _mm256_fmadd_ps(p, v0, a[g][0]);
                a[g][1] = _mm256_fmadd_ps(p, v1, a[g][1]);
            }
        }
        for (int g = 0; g < GQ; g++) {
            _mm256_storeu_ps(acc + g * D + d0, a[g][0]);
            _mm256_storeu_ps(acc + g * D + d0 + 8, a[g][1]);
        }
    }
}

#define QK_FN(T, TN, GQ)                                                                          \
    DMS_AVX2 static void qk_##TN##_##GQ(const float *q, int64_t D, const void *const *k,          \
                                        float scale, float *S, int64_t ldS, int J) {              \
        qk_tile(T, GQ, QK_NJ(GQ), q, D, k, scale, S, ldS, J);                                     \
    }
#define QK_NJ(GQ) ((GQ) == 3 ? 3 : 4)  // slots per score tile
#define PV_FN(T, TN, GQ)                                                                          \
    DMS_AVX2 static void pv_##TN##_##GQ(float *acc, int64_t D, const float *alpha, const float *P, \
                                        int64_t ldP, const void *const *v, int nv) {              \
        pv_rows(T, GQ, acc, D, alpha, P, ldP, v, nv);                                             \
    }
#define KV_FNS(T, TN)                                                                             \
    QK_FN(T, TN, 1) QK_FN(T, TN, 2) QK_FN(T, TN, 3)                                               \
    PV_FN(T, TN, 1) PV_FN(T, TN, 2) PV_FN(T, TN, 3) PV_FN(T, TN, 4)
KV_FNS(DMS_WTYPE_F32, f32)
KV_FNS(DMS_WTYPE_F16, f16)
KV_FNS(DMS_WTYPE_BF16, bf16)

typedef void (*qk_fn)(const float *, int64_t, const void *const *, float, float *, int64_t, int);
typedef void (*pv_fn)(float *, int64_t, const float *, const float *, int64_t, const void *const *,
                      int);
// The kernels of one instruction set, by KV type (f32, f16, bf16) and head count.
typedef struct {
    qk_fn qk[3][4];
    pv_fn pv[3][5];
} att_kernels;
static const att_kernels att_avx2 = {
    {{NULL, qk_f32_1, qk_f32_2, qk_f32_3},
     {NULL, qk_f16_1, qk_f16_2, qk_f16_3},
     {NULL, qk_bf16_1, qk_bf16_2, qk_bf16_3}},
    {{NULL, pv_f32_1, pv_f32_2, pv_f32_3, pv_f32_4},
     {NULL, pv_f16_1, pv_f16_2, pv_f16_3, pv_f16_4},
     {NULL, pv_bf16_1, pv_bf16_2, pv_bf16_3, pv_bf16_4}},
};

// ---- AVX-512: the same tiles on 16 lanes (half the conversions and FMAs a slot) --------------

DMS_VNNI_INLINE __m512 kv_load16(const dms_wtype t, const void *row, int64_t e) {
    if (t == DMS_WTYPE_F16) return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)row + e)));
    if (t == DMS_WTYPE_BF16) {
        __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)((const uint16_t *)row + e)));
        return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
    }
    return _mm512_loadu_ps((const float *)row + e);
}

// qk_tile on 16 lanes (D a multiple of 16): 4 key rows a tile, each zmm folded to 8 lanes before
// the same horizontal sums.
DMS_VNNI_INLINE void qk_tile512(const dms_wtype t, const int GQ, const float *q, int64_t D,
                                const void *const *k, float scale, float *S, int64_t ldS) {
    __m512 acc[3][4];
    for (int g = 0; g < 3; g++)
        for (int j = 0; j < 4; j++) acc[g][j] = _mm512_setzero_ps();
    for (int64_t e = 0; e < D; e += 16) {
        __m512 kv[4];
        for (int j = 0; j < 4; j++) kv[j] = kv_load16(t, k[j], e);
        for (int g = 0; g < GQ; g++) {
            __m512 qv = _mm512_loadu_ps(q + g * D + e);
            for (int j = 0; j < 4; j++) acc[g][j] = _mm512_fmadd_ps(qv, kv[j], acc[g][j]);
        }
    }
    __m128 vs = _mm_set1_ps(scale);
    for (int g = 0; g < GQ; g++) {
        __m256 f[4];
        for (int j = 0; j < 4; j++)
            f[j] = _mm256_add_ps(_mm512_castps512_ps256(acc[g][j]), _mm512_extractf32x8_ps(acc[g][j], 1));
        __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(f[0], f[1]), _mm256_hadd_ps(f[2], f[3]));
        __m128 r = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
        _mm_storeu_ps(S + g * ldS, _mm_mul_ps(r, vs));  // rows have slack, as in qk_tile
    }
}

// pv_rows on 16 lanes, 32 dimensions at a time (D a multiple of 32).
DMS_VNNI_INLINE void pv_rows512(const dms_wtype t, const int GQ, float *acc, int64_t D,
                                const float *alpha, const float *P, int64_t ldP,
                                const void *const *v, int nv) {
    for (int64_t d0 = 0; d0 < D; d0 += 32) {
        __m512 a[4][2];
        for (int g = 0; g < GQ; g++) {
            __m512 al = _mm512_set1_ps(alpha[g]);
            a[g][0] = _mm512_mul_ps(_mm512_loadu_ps(acc + g * D + d0), al);
            a[g][1] = _mm512_mul_ps(_mm512_loadu_ps(acc + g * D + d0 + 16), al);
        }
        for (int j = 0; j < nv; j++) {
            __m512 v0 = kv_load16(t, v[j], d0), v1 = kv_load16(t, v[j], d0 + 16);
            for (int g = 0; g < GQ; g++) {
                __m512 p = _mm512_set1_ps(P[g * ldP + j]);
                a[g][0] = _mm512_fmadd_ps(p, v0, a[g][0]);
                a[g][1] = _mm512_fmadd_ps(p, v1, a[g][1]);
            }
        }
        for (int g = 0; g < GQ; g++) {
            _mm512_storeu_ps(acc + g * D + d0, a[g][0]);
            _mm512_storeu_ps(acc + g * D + d0 + 16, a[g][1]);
        }
    }
}

#define QK512_FN(T, TN, GQ)                                                                       \
    DMS_VNNI static void qk512_##TN##_##GQ(const float *q, int64_t D, const void *const *k,       \
                                           float scale, float *S, int64_t ldS, int J) {           \
        (void)J;                                                                                  \
        qk_tile512(T, GQ, q, D, k, scale, S, ldS);                                                \
    }
#define PV512_FN(T, TN, GQ)                                                                       \
    DMS_VNNI static void pv512_##TN##_##GQ(float *acc, int64_t D, const float *alpha,             \
                                           const float *P, int64_t ldP, const void *const *v,     \
                                           int nv) {                                              \
        pv_rows512(T, GQ, acc, D, alpha, P, ldP, v, nv);                                          \
    }
#define KV512_FNS(T, TN)                                                                          \
    QK512_FN(T, TN, 1) QK512_FN(T, TN, 2) QK512_FN(T, TN, 3)                                      \
    PV512_FN(T, TN, 1) PV512_FN(T, TN, 2) PV512_FN(T, TN, 3) PV512_FN(T, TN, 4)
KV512_FNS(DMS_WTYPE_F32, f32)
KV512_FNS(DMS_WTYPE_F16, f16)
KV512_FNS(DMS_WTYPE_BF16, bf16)
static const att_kernels att_avx512 = {
    {{NULL, qk512_f32_1, qk512_f32_2, qk512_f32_3},
     {NULL, qk512_f16_1, qk512_f16_2, qk512_f16_3},
     {NULL, qk512_bf16_1, qk512_bf16_2, qk512_bf16_3}},
    {{NULL, pv512_f32_1, pv512_f32_2, pv512_f32_3, pv512_f32_4},
     {NULL, pv512_f16_1, pv512_f16_2, pv512_f16_3, pv512_f16_4},
     {NULL, pv512_bf16_1, pv512_bf16_2, pv512_bf16_3, pv512_bf16_4}},
};

// Online softmax update of one head over nv scores in S (row padded with -inf to a multiple of
// 8): S becomes p = exp(S - m_new); returns alpha = exp(m_old - m_new) (1 when the head stays
// empty, in which case S is set to zeros).
DMS_AVX2 static float softmax_update(float *S, int nv, float *m, float *l) {
    int nv8 = (nv + 7) & ~7;
    __m256 vm = _mm256_set1_ps(-INFINITY);
    for (int j = 0; j < nv8; j += 8) vm = _mm256_max_ps(vm, _mm256_loadu_ps(S + j));
    float bm = dms_hmax256(vm);
    float mn = *m > bm ? *m : bm;
    if (mn == -INFINITY) {
        memset(S, 0, (size_t)nv8 * sizeof(float));
        return 1.0f;
    }
    float alpha = dms_expf(*m - mn);
    __m256 vmn = _mm256_set1_ps(mn), vs = _mm256_setzero_ps();
    for (int j = 0; j < nv8; j += 8) {
        __m256 p = dms_exp256(_mm256_sub_ps(_mm256_loadu_ps(S + j), vmn));
        _mm256_storeu_ps(S + j, p);
        vs = _mm256_add_ps(vs, p);
    }
    *l = *l * alpha + dms_hsum256(vs);
    *m = mn;
    return alpha;
}

#define ATT_BS 64
#define ATT_LDS (ATT_BS + 8)  // score row stride (slack for 4-wide stores and -inf padding)

DMS_AVX2 static void partial_avx2(const att_args *a, const att_kernels *kernels, int64_t begin,
                                  int64_t end, const float *q, int64_t G, float *acc, float *m,
                                  float *l) {
    const int64_t D = a->D;
    const int ti = a->t == DMS_WTYPE_F32 ? 0 : a->t == DMS_WTYPE_F16 ? 1 : 2;
    const size_t rowb = (size_t)D * kv_elem_size(a->t);
    _Alignas(32) float S[3 * ATT_LDS];
    const void *kp[ATT_BS + 4], *vp[ATT_BS];
    float alpha[3];
    for (int64_t g = 0; g < G; g++) {
        m[g] = -INFINITY;
        l[g] = 0.0f;
    }
    memset(acc, 0, (size_t)(G * D) * sizeof(float));
    int64_t page = begin / a->page_size, off = begin - page * a->page_size;
    int64_t s = begin;
    while (s < end) {
        // gather up to ATT_BS visible slots
        int nv = 0;
        const uint8_t *kb = (const uint8_t *)a->kpages[page], *vb = (const uint8_t *)a->vpages[page];
        for (; s < end && nv < ATT_BS; s++) {
            if (!a->mask || a->mask[s]) {
                kp[nv] = kb + (size_t)off * rowb;
                vp[nv] = vb + (size_t)off * rowb;
                // The block's rows are requested at once rather than one miss at a time: a
                // head's few hundred slots are too short a stream for the hardware prefetcher.
                for (size_t line = 0; line < rowb; line += 64) {
                    _mm_prefetch((const char *)kp[nv] + line, _MM_HINT_T0);
                    _mm_prefetch((const char *)vp[nv] + line, _MM_HINT_T0);
                }
                nv++;
            }
            if (++off == a->page_size) {
                off = 0;
                page++;
                if (s + 1 < end) {
                    kb = (const uint8_t *)a->kpages[page];
                    vb = (const uint8_t *)a->vpages[page];
                }
            }
        }
        if (nv == 0) continue;
        for (int j = nv; j < nv + 4; j++) kp[j] = kp[nv - 1];  // padding for 4-slot tiles
        const int nv8 = (nv + 7) & ~7;
        // heads in groups of up to 3 (scores) sharing the same K reads
        for (int64_t g0 = 0; g0 < G; g0 += 3) {
            const int GQ = (int)(G - g0 < 3 ? G - g0 : 3);
            const int NJ = kernels == &att_avx512 ? 4 : QK_NJ(GQ);
            for (int j = 0; j < nv; j += NJ) {
                int J = nv - j < NJ ? nv - j : NJ;
                kernels->qk[ti][GQ](q + g0 * D, D, kp + j, a->scale, S + j, ATT_LDS, J);
            }
            for (int g = 0; g < GQ; g++) {
                for (int j = nv; j < nv8; j++) S[g * ATT_LDS + j] = -INFINITY;
                alpha[g] = softmax_update(S + g * ATT_LDS, nv, m + g0 + g, l + g0 + g);
            }
            kernels->pv[ti][GQ](acc + g0 * D, D, alpha, S, ATT_LDS, vp, nv);
        }
    }
}

#endif  // DMS_X86

// =============================================================================================
// Entry points
// =============================================================================================

void dms_attention_partial(dms_wtype kv_type, const void *const *kpages, const void *const *vpages,
                           int64_t page_size, int64_t slot_begin, int64_t slot_end,
                           const uint8_t *mask, int64_t head_dim, const float *q, int64_t G,
                           float scale, float *acc, float *m, float *l) {
    att_args a = {kv_type, kpages, vpages, page_size, head_dim, mask, scale};
#if DMS_X86
    if (dms_use_avx2() && head_dim % 16 == 0) {
        const att_kernels *kernels = dms_use_avx512vnni() && head_dim % 32 == 0 ? &att_avx512 : &att_avx2;
        partial_avx2(&a, kernels, slot_begin, slot_end, q, G, acc, m, l);
        return;
    }
#endif
    partial_scalar(&a, slot_begin, slot_end, q, G, acc, m, l);
}

void dms_attention(dms_wtype kv_type, const void *const *kpages, const void *const *vpages,
                   int64_t page_size, int64_t n_slots, const uint8_t *mask, int64_t head_dim,
                   const float *q, int64_t G, float scale, float *out) {
    float mst[64], lst[64];
    float *m = G <= 64 ? mst : (float *)malloc((size_t)G * 2 * sizeof(float));
    float *l = G <= 64 ? lst : m + G;
    dms_attention_partial(kv_type, kpages, vpages, page_size, 0, n_slots, mask, head_dim, q, G,
                          scale, out, m, l);
    for (int64_t g = 0; g < G; g++) {
        float *o = out + g * head_dim;
        if (l[g] > 0.0f) {
            float inv = 1.0f / l[g];
            for (int64_t e = 0; e < head_dim; e++) o[e] *= inv;
        } else {
            for (int64_t e = 0; e < head_dim; e++) o[e] = 0.0f;
        }
    }
    if (m != mst) free(m);
}

void dms_attention_merge(int64_t parts, int64_t G, int64_t head_dim, const float *acc,
                         const float *m, const float *l, float *out) {
    for (int64_t g = 0; g < G; g++) {
        float M = -INFINITY;
        for (int64_t p = 0; p < parts; p++) M = m[p * G + g] > M ? m[p * G + g] : M;
        float *o = out + g * head_dim;
        for (int64_t e = 0; e < head_dim; e++) o[e] = 0.0f;
        if (M == -INFINITY) continue;
        float L = 0.0f;
        for (int64_t p = 0; p < parts; p++) {
            float mp = m[p * G + g];
            if (mp == -INFINITY) continue;
            float w = dms_expf(mp - M);
            L += l[p * G + g] * w;
            const float *ap = acc + (p * G + g) * head_dim;
            for (int64_t e = 0; e < head_dim; e++) o[e] += ap[e] * w;
        }
        if (L > 0.0f) {
            float inv = 1.0f / L;
            for (int64_t e = 0; e < head_dim; e++) o[e] *= inv;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Attention probabilities for eviction policies (TOVA, H2O): portable, one pass for the scores.
void dms_attention_weights(dms_wtype kv_type, const void *const *kpages, int64_t page_size,
                           int64_t n_slots, const uint8_t *mask, int64_t head_dim, const float *q,
                           int64_t G, float scale, float *weights, float *scores) {
    const size_t esz = kv_elem_size(kv_type);
    float key[512];
    for (int64_t s = 0; s < n_slots; s++) weights[s] = 0.0f;
    if (head_dim > 512) return;
    for (int64_t g = 0; g < G; g++) {
        float m = -INFINITY;
        for (int64_t s = 0; s < n_slots; s++) {
            if (mask && !mask[s]) continue;
            convert_row(kv_type, slot_ptr(kpages, page_size, head_dim, esz, s), key, head_dim);
            float dot = 0.0f;
            for (int64_t i = 0; i < head_dim; i++) dot += q[g * head_dim + i] * key[i];
            scores[s] = dot * scale;
            if (scores[s] > m) m = scores[s];
        }
        float total = 0.0f;
        for (int64_t s = 0; s < n_slots; s++) {
            if (mask && !mask[s]) continue;
            scores[s] = dms_expf(scores[s] - m);
            total += scores[s];
        }
        if (total <= 0.0f) continue;
        for (int64_t s = 0; s < n_slots; s++) {
            if (mask && !mask[s]) continue;
            weights[s] += scores[s] / (total * (float)G);
        }
    }
}
