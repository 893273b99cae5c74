// train_attention.c — causal attention over a whole training sequence with a soft per-key
// eviction bias, forward and backward (the math is in dms_train_attention.h).
//
// Flash-attention scheme: probabilities are never stored for the whole sequence. Rows are
// (query, head) pairs of the G query heads that share a KV head, ordered query-major, so every
// block of keys and values is read once for all G heads.
//
// Forward: one task per (KV head, block of 64 queries, up to 4 of the group's heads), latest
//   queries (the most keys) first. For each block of keys up to the diagonal (64 keys when
//   d <= 64, fewer for larger d), the K block is transposed once into a 16 KB stack buffer; then
//   per tile of 6 rows: scores (6×16 FMA register
//   tiles), the online softmax (running max m and sum l per row; scale, causal mask and bias
//   applied on the fly) and P·V accumulated unnormalised into `out`, rescaled by exp(m_old −
//   m_new). At the end out /= l and lse = m + log l.
// Backward: a pre-pass computes D = rowsum(dout ⊙ out). Then one task per (KV head, chunk of key
//   blocks): the chunks of a head cover equal shares of the causal triangle, and there are
//   ceil(12 / Hkv) of them whatever the thread count, so the results never depend on it. For
//   each block of 64 keys (K and V transposed once), panels of ~48 rows from the diagonal down:
//   S = Q·Kᵀ and dP = dO·Vᵀ, P = exp(S − lse) and dS = P ⊙ (dP − D) recomputed per row (dS
//   summed into dkey_bias where the bias applies, then scaled by `scale`), dq += dS·K per row
//   tile, and per tile of 6 keys dv += Pᵀ·dO and dk += dSᵀ·Q, accumulated in place (the task
//   owns its keys). Chunk 0 writes dq itself; every other chunk writes its own dq partial in the
//   scratch, and a final pass adds the partials to dq in chunk order.
// Tiles and rows wholly above the diagonal are skipped. Every sum runs in an order fixed by the
// shapes alone.
//
// All products go through two register-tile kernels (up to 6 rows × 16 columns of FMA
// accumulators): `rows` (C = αC + A·B with A given by rows) and `cols` (C += Aᵀ·B); besides them
// each path has one row operation per pass and a block transposition (see ta_ops). The portable
// path implements them with plain loops (any d); the AVX2 path needs d to be a multiple of 16.
#include "dms_internal.h"
#include "dms_train_attention.h"

#include <stdlib.h>

#define TA_MR 6             // rows of a register tile
#define TA_BK 64            // keys per block in the backward pass
#define FWD_BQ 64           // queries per forward task
#define FWD_HEADS 4         // query heads per forward task (larger groups are split)
#define FWD_KT_FLOATS 4096  // forward K-block buffer on the stack: keys per block = this / d
#define FWD_BK_MAX 64
#define BWD_PANEL_ROWS 48   // rows (query × head) per backward panel
#define BWD_TASKS 12        // backward tasks aimed at (KV heads × key chunks)
#define BWD_MAX_CHUNKS BWD_TASKS

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static inline int64_t clamp64(int64_t x, int64_t lo, int64_t hi) { return x < lo ? lo : x > hi ? hi : x; }
static inline int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// The operations each vector path provides.
typedef struct {
    // c_m[0..n) = (accumulate ? alpha_m·c_m : 0) + Σ_{k<K} a_m[k]·b[k·ldb + 0..n), m < mr.
    // alpha NULL means 1.
    void (*rows)(int mr, const float *const *a, int64_t K, const float *b, int64_t ldb,
                 int64_t n, float *const *c, const float *alpha, int accumulate);
    // c_m[0..n) = (accumulate ? c_m : 0) + Σ_{q0<=q<q1} Σ_{h<G} a[(q·G+h)·lda + m]·b_{q,h}[0..n)
    // with b_{q,h} = b + q·ldq + h·ldh (rows k = q·G+h of A are (query, head) pairs), m < mr.
    void (*cols)(int mr, const float *a, int64_t lda, int64_t q0, int64_t q1, int64_t G,
                 const float *b, int64_t ldq, int64_t ldh, int64_t n, float *const *c,
                 int accumulate);
    // Forward: s[0..n) holds raw dots of one row with a block of keys; keys j >= visible are
    // masked, keys j < biased get bias[j]. Updates the running max *m and sum *l, turns s into
    // exp(score − m_new) and returns the factor exp(m_old − m_new) for the row's accumulator.
    float (*fwd_row)(float *s, int n, int visible, int biased, float scale, const float *bias,
                     float *m, float *l);
    // Backward: s holds raw dots with K, dp the dots of dout with V (n columns computed);
    // s becomes P, dp becomes scale·dS, dbias[j] += dS[j] for j < biased (dbias may be NULL);
    // columns n..<nfill of s and dp are zeroed.
    void (*bwd_row)(float *s, float *dp, int n, int nfill, int visible, int biased, float scale,
                    const float *bias, float lse, float D, float *dbias);
    // dst[e·ld + j] = src[j·src_stride + e] for j < n, e < d; columns n..<npad are zeroed
    // (npad: n rounded up to 16).
    void (*transpose)(const float *src, int64_t src_stride, int64_t n, int64_t d, float *dst,
                      int64_t ld, int64_t npad);
    int lanes;  // score columns are computed in multiples of this
} ta_ops;

// =============================================================================================
// Portable path
// =============================================================================================

static void rows_scalar(int mr, const float *const *a, int64_t K, const float *b, int64_t ldb,
                        int64_t n, float *const *c, const float *alpha, int accumulate) {
    for (int m = 0; m < mr; m++) {
        float *cm = c[m];
        const float *am = a[m];
        if (!accumulate) {
            for (int64_t j = 0; j < n; j++) cm[j] = 0.0f;
        } else if (alpha) {
            const float al = alpha[m];
            for (int64_t j = 0; j < n; j++) cm[j] *= al;
        }
        for (int64_t k = 0; k < K; k++) {
            const float x = am[k], *bk = b + k * ldb;
            for (int64_t j = 0; j < n; j++) cm[j] += x * bk[j];
        }
    }
}

static void cols_scalar(int mr, const float *a, int64_t lda, int64_t q0, int64_t q1, int64_t G,
                        const float *b, int64_t ldq, int64_t ldh, int64_t n, float *const *c,
                        int accumulate) {
    for (int m = 0; m < mr; m++) {
        float *cm = c[m];
        if (!accumulate)
            for (int64_t j = 0; j < n; j++) cm[j] = 0.0f;
        for (int64_t q = q0; q < q1; q++) {
            for (int64_t h = 0; h < G; h++) {
                const float x = a[(q * G + h) * lda + m], *bk = b + q * ldq + h * ldh;
                for (int64_t j = 0; j < n; j++) cm[j] += x * bk[j];
            }
        }
    }
}

static float fwd_row_scalar(float *s, int n, int visible, int biased, float scale,
                            const float *bias, float *m, float *l) {
    float bm = -INFINITY;
    for (int j = 0; j < n; j++) {
        float x = s[j] * scale;
        if (j < biased) x += bias[j];
        s[j] = j < visible ? x : -INFINITY;
        bm = s[j] > bm ? s[j] : bm;
    }
    const float mn = *m > bm ? *m : bm;
    if (mn == -INFINITY) {  // nothing visible yet
        for (int j = 0; j < n; j++) s[j] = 0.0f;
        return 1.0f;
    }
    const float alpha = dms_expf(*m - mn);
    float sum = 0.0f;
    for (int j = 0; j < n; j++) {
        s[j] = dms_expf(s[j] - mn);
        sum += s[j];
    }
    *l = *l * alpha + sum;
    *m = mn;
    return alpha;
}

static void bwd_row_scalar(float *s, float *dp, int n, int nfill, int visible, int biased,
                           float scale, const float *bias, float lse, float D, float *dbias) {
    for (int j = 0; j < n; j++) {
        float p = 0.0f, ds = 0.0f;
        if (j < visible) {
            float x = s[j] * scale;
            if (j < biased) x += bias[j];
            p = dms_expf(x - lse);
            ds = p * (dp[j] - D);
            if (dbias && j < biased) dbias[j] += ds;
        }
        s[j] = p;
        dp[j] = ds * scale;
    }
    for (int j = n; j < nfill; j++) s[j] = dp[j] = 0.0f;
}

static void transpose_scalar(const float *src, int64_t src_stride, int64_t n, int64_t d,
                            float *dst, int64_t ld, int64_t npad) {
    for (int64_t j = 0; j < n; j++) {
        const float *row = src + j * src_stride;
        for (int64_t e = 0; e < d; e++) dst[e * ld + j] = row[e];
    }
    for (int64_t e = 0; e < d; e++)
        for (int64_t j = n; j < npad; j++) dst[e * ld + j] = 0.0f;
}

static const ta_ops ops_scalar = {rows_scalar,    cols_scalar,      fwd_row_scalar,
                                   bwd_row_scalar, transpose_scalar, 1};

// =============================================================================================
// AVX2
// =============================================================================================
#if DMS_X86

// One 16-column strip at a time: 2·MR accumulators, 2 loads of b and MR broadcasts per k.
// Row m's accumulators are named variables acc<m>0 and acc<m>1 (columns 0-7 and 8-15), not
// arrays, so that every compiler keeps them in registers; rows m >= MR vanish at compile time.
#define TILE_FOR_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define TILE_DECLARE(m) __m256 acc##m##0 = _mm256_setzero_ps(), acc##m##1 = _mm256_setzero_ps();
#define TILE_LOAD(m)                                                                              \
    if (MR > m && accumulate) {                                                                   \
        acc##m##0 = _mm256_loadu_ps(cp[m] + n0);                                                  \
        acc##m##1 = _mm256_loadu_ps(cp[m] + n0 + 8);                                              \
    }
#define TILE_FMA(m, x_ptr)                                                                        \
    if (MR > m) {                                                                                 \
        const __m256 x = _mm256_broadcast_ss(x_ptr);                                              \
        acc##m##0 = _mm256_fmadd_ps(x, b0, acc##m##0);                                            \
        acc##m##1 = _mm256_fmadd_ps(x, b1, acc##m##1);                                            \
    }
#define TILE_STORE(m)                                                                             \
    if (MR > m) {                                                                                 \
        _mm256_storeu_ps(cp[m] + n0, acc##m##0);                                                  \
        _mm256_storeu_ps(cp[m] + n0 + 8, acc##m##1);                                              \
    }

DMS_AVX2_INLINE void rows_tile(const int MR, const float *const *a, int64_t K, const float *b,
                               int64_t ldb, int64_t n, float *const *c, const float *alpha,
                               int accumulate) {
    const float *a0 = a[0], *a1 = MR > 1 ? a[1] : a0, *a2 = MR > 2 ? a[2] : a0;
    const float *a3 = MR > 3 ? a[3] : a0, *a4 = MR > 4 ? a[4] : a0, *a5 = MR > 5 ? a[5] : a0;
    float *const *cp = c;
    for (int64_t n0 = 0; n0 < n; n0 += 16) {
        TILE_FOR_ROWS(TILE_DECLARE)
        TILE_FOR_ROWS(TILE_LOAD)
        if (accumulate && alpha) {
#define TILE_SCALE(m)                                                                             \
    if (MR > m) {                                                                                 \
        const __m256 al = _mm256_set1_ps(alpha[m]);                                               \
        acc##m##0 = _mm256_mul_ps(acc##m##0, al);                                                 \
        acc##m##1 = _mm256_mul_ps(acc##m##1, al);                                                 \
    }
            TILE_FOR_ROWS(TILE_SCALE)
#undef TILE_SCALE
        }
        const float *bk = b + n0;
        for (int64_t k = 0; k < K; k++, bk += ldb) {
            const __m256 b0 = _mm256_loadu_ps(bk), b1 = _mm256_loadu_ps(bk + 8);
            TILE_FMA(0, a0 + k) TILE_FMA(1, a1 + k) TILE_FMA(2, a2 + k)
            TILE_FMA(3, a3 + k) TILE_FMA(4, a4 + k) TILE_FMA(5, a5 + k)
        }
        TILE_FOR_ROWS(TILE_STORE)
    }
}

DMS_AVX2_INLINE void cols_tile(const int MR, const float *a, int64_t lda, int64_t q0, int64_t q1,
                               int64_t G, const float *b, int64_t ldq, int64_t ldh, int64_t n,
                               float *const *c, int accumulate) {
    float *const *cp = c;
    for (int64_t n0 = 0; n0 < n; n0 += 16) {
        TILE_FOR_ROWS(TILE_DECLARE)
        TILE_FOR_ROWS(TILE_LOAD)
        const float *ak = a + q0 * G * lda;
        for (int64_t q = q0; q < q1; q++) {
            const float *bk = b + q * ldq + n0;
            for (int64_t h = 0; h < G; h++, ak += lda, bk += ldh) {
                const __m256 b0 = _mm256_loadu_ps(bk), b1 = _mm256_loadu_ps(bk + 8);
                TILE_FMA(0, ak) TILE_FMA(1, ak + 1) TILE_FMA(2, ak + 2)
                TILE_FMA(3, ak + 3) TILE_FMA(4, ak + 4) TILE_FMA(5, ak + 5)
            }
        }
        TILE_FOR_ROWS(TILE_STORE)
    }
}

// The tile kernels specialised for each row count (the switch picks a fully unrolled copy).
DMS_AVX2 static void rows_avx2(int mr, const float *const *a, int64_t K, const float *b,
                               int64_t ldb, int64_t n, float *const *c, const float *alpha,
                               int accumulate) {
    switch (mr) {
    case 1: rows_tile(1, a, K, b, ldb, n, c, alpha, accumulate); break;
    case 2: rows_tile(2, a, K, b, ldb, n, c, alpha, accumulate); break;
    case 3: rows_tile(3, a, K, b, ldb, n, c, alpha, accumulate); break;
    case 4: rows_tile(4, a, K, b, ldb, n, c, alpha, accumulate); break;
    case 5: rows_tile(5, a, K, b, ldb, n, c, alpha, accumulate); break;
    default: rows_tile(6, a, K, b, ldb, n, c, alpha, accumulate); break;
    }
}

DMS_AVX2 static void cols_avx2(int mr, const float *a, int64_t lda, int64_t q0, int64_t q1,
                               int64_t G, const float *b, int64_t ldq, int64_t ldh, int64_t n,
                               float *const *c, int accumulate) {
    switch (mr) {
    case 1: cols_tile(1, a, lda, q0, q1, G, b, ldq, ldh, n, c, accumulate); break;
    case 2: cols_tile(2, a, lda, q0, q1, G, b, ldq, ldh, n, c, accumulate); break;
    case 3: cols_tile(3, a, lda, q0, q1, G, b, ldq, ldh, n, c, accumulate); break;
    case 4: cols_tile(4, a, lda, q0, q1, G, b, ldq, ldh, n, c, accumulate); break;
    case 5: cols_tile(5, a, lda, q0, q1, G, b, ldq, ldh, n, c, accumulate); break;
    default: cols_tile(6, a, lda, q0, q1, G, b, ldq, ldh, n, c, accumulate); break;
    }
}

// scale·s + (bias where the column index < biased); idx holds the column indices.
DMS_AVX2_INLINE __m256 biased_score(const float *s, const float *bias, int j, int biased,
                                    __m256i idx, __m256 vscale) {
    const __m256 x = _mm256_loadu_ps(s + j);
    if (j >= biased) return _mm256_mul_ps(x, vscale);
    const __m256 in_bias = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(biased), idx));
    return _mm256_fmadd_ps(x, vscale, _mm256_and_ps(in_bias, _mm256_loadu_ps(bias + j)));
}

DMS_AVX2 static float fwd_row_avx2(float *s, int n, int visible, int biased, float scale,
                                   const float *bias, float *m, float *l) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i vvis = _mm256_set1_epi32(visible);
    const __m256 vscale = _mm256_set1_ps(scale), ninf = _mm256_set1_ps(-INFINITY);
    __m256 vmax = ninf;
    for (int j = 0; j < n; j += 8) {
        const __m256i idx = _mm256_add_epi32(_mm256_set1_epi32(j), lane);
        __m256 x = biased_score(s, bias, j, biased, idx, vscale);
        x = _mm256_blendv_ps(ninf, x, _mm256_castsi256_ps(_mm256_cmpgt_epi32(vvis, idx)));
        _mm256_storeu_ps(s + j, x);
        vmax = _mm256_max_ps(vmax, x);
    }
    const float bm = dms_hmax256(vmax);
    const float mn = *m > bm ? *m : bm;
    if (mn == -INFINITY) {  // nothing visible yet
        for (int j = 0; j < n; j++) s[j] = 0.0f;
        return 1.0f;
    }
    const float alpha = dms_expf(*m - mn);
    const __m256 vmn = _mm256_set1_ps(mn);
    __m256 vsum = _mm256_setzero_ps();
    for (int j = 0; j < n; j += 8) {
        const __m256 p = dms_exp256(_mm256_sub_ps(_mm256_loadu_ps(s + j), vmn));
        _mm256_storeu_ps(s + j, p);
        vsum = _mm256_add_ps(vsum, p);
    }
    *l = *l * alpha + dms_hsum256(vsum);
    *m = mn;
    return alpha;
}

DMS_AVX2 static void bwd_row_avx2(float *s, float *dp, int n, int nfill, int visible, int biased,
                                  float scale, const float *bias, float lse, float D,
                                  float *dbias) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i vvis = _mm256_set1_epi32(visible), vbias = _mm256_set1_epi32(biased);
    const __m256 vscale = _mm256_set1_ps(scale), vlse = _mm256_set1_ps(lse), vD = _mm256_set1_ps(D);
    for (int j = 0; j < n; j += 8) {
        const __m256i idx = _mm256_add_epi32(_mm256_set1_epi32(j), lane);
        const __m256 x = biased_score(s, bias, j, biased, idx, vscale);
        // masked columns become exact zeros whatever their (finite or not) scores
        const __m256 visible_mask = _mm256_castsi256_ps(_mm256_cmpgt_epi32(vvis, idx));
        const __m256 p = _mm256_and_ps(visible_mask, dms_exp256(_mm256_sub_ps(x, vlse)));
        const __m256 ds = _mm256_and_ps(visible_mask,
                                        _mm256_mul_ps(p, _mm256_sub_ps(_mm256_loadu_ps(dp + j), vD)));
        if (dbias && j < biased) {
            const __m256 in_bias = _mm256_castsi256_ps(_mm256_cmpgt_epi32(vbias, idx));
            _mm256_storeu_ps(dbias + j, _mm256_add_ps(_mm256_loadu_ps(dbias + j),
                                                      _mm256_and_ps(in_bias, ds)));
        }
        _mm256_storeu_ps(s + j, p);
        _mm256_storeu_ps(dp + j, _mm256_mul_ps(ds, vscale));
    }
    for (int j = n; j < nfill; j++) s[j] = dp[j] = 0.0f;
}

// 8×8 blocks transposed in registers (d is a multiple of 16 on this path).
DMS_AVX2 static void transpose_avx2(const float *src, int64_t src_stride, int64_t n, int64_t d,
                                    float *dst, int64_t ld, int64_t npad) {
    for (int64_t j0 = 0; j0 < npad; j0 += 8) {
        for (int64_t e0 = 0; e0 < d; e0 += 8) {
            __m256 r[8];
            for (int t = 0; t < 8; t++)
                r[t] = j0 + t < n ? _mm256_loadu_ps(src + (j0 + t) * src_stride + e0) : _mm256_setzero_ps();
            const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
            const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
            const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
            const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
            const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xee);
            const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xee);
            const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xee);
            const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xee);
            float *o = dst + e0 * ld + j0;
            _mm256_storeu_ps(o + 0 * ld, _mm256_permute2f128_ps(u0, u4, 0x20));
            _mm256_storeu_ps(o + 1 * ld, _mm256_permute2f128_ps(u1, u5, 0x20));
            _mm256_storeu_ps(o + 2 * ld, _mm256_permute2f128_ps(u2, u6, 0x20));
            _mm256_storeu_ps(o + 3 * ld, _mm256_permute2f128_ps(u3, u7, 0x20));
            _mm256_storeu_ps(o + 4 * ld, _mm256_permute2f128_ps(u0, u4, 0x31));
            _mm256_storeu_ps(o + 5 * ld, _mm256_permute2f128_ps(u1, u5, 0x31));
            _mm256_storeu_ps(o + 6 * ld, _mm256_permute2f128_ps(u2, u6, 0x31));
            _mm256_storeu_ps(o + 7 * ld, _mm256_permute2f128_ps(u3, u7, 0x31));
        }
    }
}

static const ta_ops ops_avx2 = {rows_avx2,    cols_avx2,      fwd_row_avx2,
                                bwd_row_avx2, transpose_avx2, 16};

#endif  // DMS_X86

static const ta_ops *pick_ops(int64_t d) {
#if DMS_X86
    if (dms_use_avx2() && d % 16 == 0) return &ops_avx2;
#endif
    (void)d;
    return &ops_scalar;
}

// n bias values into dst (zeros when bias is NULL), zero-padded to npad columns (the row
// operations read whole vectors).
static void copy_bias_block(const float *bias, int64_t n, float *dst, int64_t npad) {
    for (int64_t j = 0; j < npad; j++) dst[j] = bias && j < n ? bias[j] : 0.0f;
}

// =============================================================================================
// Forward
// =============================================================================================

typedef struct {
    const ta_ops *ops;
    int64_t T, Hq, Hkv, d, G, window, bk, n_qblocks, n_head_splits;
    const float *q, *k, *v, *key_bias;
    float scale;
    float *out, *lse;
} fwd_ctx;

static void fwd_task(void *vctx, int task, int ntasks) {
    (void)ntasks;
    const fwd_ctx *c = (const fwd_ctx *)vctx;
    const ta_ops *ops = c->ops;
    const int64_t d = c->d, T = c->T, bk = c->bk;
    const int64_t per_qblock = c->Hkv * c->n_head_splits;
    const int64_t qb = c->n_qblocks - 1 - task / per_qblock;  // the most keys first
    const int64_t g = (task % per_qblock) / c->n_head_splits;
    const int64_t h0 = g * c->G + (task % c->n_head_splits) * FWD_HEADS;
    const int64_t nh = min64(FWD_HEADS, (g + 1) * c->G - h0);
    const int64_t i0 = qb * FWD_BQ, nq = min64(FWD_BQ, T - i0), rows = nq * nh;
    const int64_t ldq = c->Hq * d, ldkv = c->Hkv * d;
    const float *qh = c->q + h0 * d;  // row (i, hh): qh + i·ldq + hh·d; out likewise
    float *oh = c->out + h0 * d;

    _Alignas(32) float kt_stack[FWD_KT_FLOATS];
    float *kt = bk * d <= FWD_KT_FLOATS ? kt_stack : (float *)malloc((size_t)(bk * d) * sizeof(float));
    _Alignas(32) float s[TA_MR * FWD_BK_MAX];
    _Alignas(32) float bias[FWD_BK_MAX];
    float m[FWD_BQ * FWD_HEADS], l[FWD_BQ * FWD_HEADS], alpha[TA_MR];
    for (int64_t r = 0; r < rows; r++) {
        m[r] = -INFINITY;
        l[r] = 0.0f;
    }
    const int64_t last_query = i0 + nq - 1;
    for (int64_t j0 = 0; j0 <= last_query; j0 += bk) {
        const int64_t nk = min64(bk, last_query + 1 - j0);
        ops->transpose(c->k + j0 * ldkv + g * d, ldkv, nk, d, kt, bk, round_up(nk, 16));
        if (c->key_bias) copy_bias_block(c->key_bias + g * T + j0, nk, bias, round_up(nk, 16));
        const float *vblock = c->v + j0 * ldkv + g * d;
        for (int64_t r0 = 0; r0 < rows; r0 += TA_MR) {
            const int mr = (int)min64(TA_MR, rows - r0);
            const int64_t i_hi = i0 + (r0 + mr - 1) / nh;
            if (i_hi < j0) continue;  // the whole tile is above the diagonal
            const int64_t nvis = min64(nk, i_hi - j0 + 1);
            const int n = (int)round_up(nvis, ops->lanes);
            const float *qrow[TA_MR];
            float *srow[TA_MR], *orow[TA_MR];
            for (int t = 0; t < mr; t++) {
                const int64_t i = i0 + (r0 + t) / nh, hh = (r0 + t) % nh;
                qrow[t] = qh + i * ldq + hh * d;
                orow[t] = oh + i * ldq + hh * d;
                srow[t] = s + t * FWD_BK_MAX;
            }
            ops->rows(mr, qrow, d, kt, bk, n, srow, NULL, 0);
            for (int t = 0; t < mr; t++) {
                const int64_t i = i0 + (r0 + t) / nh;
                const int visible = (int)clamp64(i - j0 + 1, 0, nvis);
                const int biased = c->key_bias ? (int)clamp64(i - c->window - j0, 0, visible) : 0;
                alpha[t] = ops->fwd_row(srow[t], n, visible, biased, c->scale, bias, &m[r0 + t],
                                        &l[r0 + t]);
            }
            // the first key block starts every row (key 0 is visible to all queries)
            ops->rows(mr, (const float *const *)srow, nvis, vblock, ldkv, d, orow, alpha, j0 > 0);
        }
    }
    for (int64_t r = 0; r < rows; r++) {
        const int64_t i = i0 + r / nh, hh = r % nh;
        float *o = oh + i * ldq + hh * d;
        const float inv = 1.0f / l[r];
        for (int64_t e = 0; e < d; e++) o[e] *= inv;
        c->lse[(h0 + hh) * T + i] = m[r] + dms_logf(l[r]);
    }
    if (kt != kt_stack) free(kt);
}

void dms_train_attention_forward(dms_pool *pool, int64_t T, int64_t Hq, int64_t Hkv, int64_t d,
                                 const float *q, const float *k, const float *v,
                                 const float *key_bias, int64_t window, float scale, float *out,
                                 float *lse) {
    if (T <= 0 || Hq <= 0 || Hkv <= 0 || d <= 0) return;
    fwd_ctx c = {0};
    c.ops = pick_ops(d);
    c.T = T;
    c.Hq = Hq;
    c.Hkv = Hkv;
    c.d = d;
    c.G = Hq / Hkv;
    c.window = window;
    c.bk = clamp64(FWD_KT_FLOATS / d / 16 * 16, 16, FWD_BK_MAX);
    c.n_qblocks = (T + FWD_BQ - 1) / FWD_BQ;
    c.n_head_splits = (c.G + FWD_HEADS - 1) / FWD_HEADS;
    c.q = q;
    c.k = k;
    c.v = v;
    c.key_bias = key_bias;
    c.scale = scale;
    c.out = out;
    c.lse = lse;
    dms_pool_run(pool, fwd_task, &c, (int)(c.n_qblocks * Hkv * c.n_head_splits));
}

// =============================================================================================
// Backward
// =============================================================================================

// The fixed split of each KV head's key blocks into chunks of about equal causal work (block b
// meets the T − 64b queries at or below its first key). Returns the chunk count; chunk c covers
// blocks first_block[c]..<first_block[c+1].
static int plan_key_chunks(int64_t T, int64_t Hkv, int64_t first_block[BWD_MAX_CHUNKS + 1]) {
    const int64_t nblocks = (T + TA_BK - 1) / TA_BK;
    const int chunks = (int)clamp64((BWD_TASKS + Hkv - 1) / Hkv, 1, min64(nblocks, BWD_MAX_CHUNKS));
    double total = 0.0;
    for (int64_t b = 0; b < nblocks; b++) total += (double)(T - b * TA_BK);
    first_block[0] = 0;
    double done = 0.0;
    int64_t b = 0;
    for (int c = 1; c < chunks; c++) {
        const double target = total * c / chunks;
        // at least one block per chunk, and one left for each chunk still to come
        const int64_t last_allowed = nblocks - (chunks - c);
        do {
            done += (double)(T - b * TA_BK);
            b++;
        } while (b < last_allowed && done + 0.5 * (double)(T - b * TA_BK) < target);
        first_block[c] = b;
    }
    first_block[chunks] = nblocks;
    return chunks;
}

typedef struct {
    int64_t queries_per_panel, panel_rows, work_floats;
    int chunks;
    int64_t first_block[BWD_MAX_CHUNKS + 1];
    size_t D_offset, partial_offset[BWD_MAX_CHUNKS], work_offset, total;
} bwd_plan;

// Scratch layout: D [T][Hq]; dq partials of chunks 1.. ([T − first key][Hq][d] each); one
// workspace per task (K and V blocks transposed, P and dS panels, bias and dbias blocks). Every
// region starts on a 16-float boundary. Nothing in it is read before it is written.
static void plan_backward(int64_t T, int64_t Hq, int64_t Hkv, int64_t d, bwd_plan *p) {
    const int64_t G = Hq / Hkv;
    p->queries_per_panel = max64(1, BWD_PANEL_ROWS / G);
    p->panel_rows = p->queries_per_panel * G;
    p->work_floats = round_up(2 * d * TA_BK + 2 * p->panel_rows * TA_BK + 2 * TA_BK, 16);
    p->chunks = plan_key_chunks(T, Hkv, p->first_block);
    size_t at = 0;
    p->D_offset = at;
    at += (size_t)round_up(T * Hq, 16);
    p->partial_offset[0] = 0;  // chunk 0 writes dq itself
    for (int c = 1; c < p->chunks; c++) {
        p->partial_offset[c] = at;
        at += (size_t)round_up((T - p->first_block[c] * TA_BK) * Hq * d, 16);
    }
    p->work_offset = at;
    at += (size_t)(Hkv * p->chunks * p->work_floats);
    p->total = at;
}

size_t dms_train_attention_backward_scratch(int64_t T, int64_t Hq, int64_t Hkv, int64_t d) {
    if (T <= 0 || Hq <= 0 || Hkv <= 0 || d <= 0) return 0;
    bwd_plan p;
    plan_backward(T, Hq, Hkv, d, &p);
    return p.total;
}

typedef struct {
    const ta_ops *ops;
    const bwd_plan *plan;
    int64_t T, Hq, Hkv, d, G, window;
    const float *q, *k, *v, *key_bias, *out, *lse, *dout;
    float scale;
    float *dq, *dk, *dv, *dkey_bias, *scratch;
} bwd_ctx;

#define D_ROWS_PER_TASK 64

// D[i·Hq + h] = dout[i,h]·out[i,h] for a block of queries.
static void bwd_D_task(void *vctx, int task, int ntasks) {
    (void)ntasks;
    const bwd_ctx *c = (const bwd_ctx *)vctx;
    float *D = c->scratch + c->plan->D_offset;
    const int64_t i1 = min64(c->T, (int64_t)(task + 1) * D_ROWS_PER_TASK);
    for (int64_t r = (int64_t)task * D_ROWS_PER_TASK * c->Hq; r < i1 * c->Hq; r++)
        D[r] = dms_dot8(c->dout + r * c->d, c->out + r * c->d, c->d);
}

static void bwd_task(void *vctx, int task, int ntasks) {
    (void)ntasks;
    const bwd_ctx *c = (const bwd_ctx *)vctx;
    const bwd_plan *p = c->plan;
    const ta_ops *ops = c->ops;
    const int64_t T = c->T, Hq = c->Hq, d = c->d, G = c->G;
    const int64_t ldq = Hq * d, ldkv = c->Hkv * d, chunk = task / c->Hkv, g = task % c->Hkv;
    const int64_t first_block = p->first_block[chunk], end_block = p->first_block[chunk + 1];
    const float *D = c->scratch + p->D_offset;
    // dq rows of this task: row (i, hh) at dq_rows + (i − dq_origin)·ldq + hh·d
    const int64_t dq_origin = chunk == 0 ? 0 : first_block * TA_BK;
    float *dq_rows = (chunk == 0 ? c->dq : c->scratch + p->partial_offset[chunk]) + g * G * d;

    float *kt = c->scratch + p->work_offset + (size_t)task * (size_t)p->work_floats;
    float *vt = kt + d * TA_BK;
    float *P = vt + d * TA_BK;           // [panel_rows][TA_BK]
    float *dS = P + p->panel_rows * TA_BK;
    float *bias = dS + p->panel_rows * TA_BK;
    float *dbias = c->dkey_bias ? bias + TA_BK : NULL;

    for (int64_t kb = first_block; kb < end_block; kb++) {
        const int64_t j0 = kb * TA_BK, nk = min64(TA_BK, T - j0), npad = round_up(nk, 16);
        const float *kblock = c->k + j0 * ldkv + g * d, *vblock = c->v + j0 * ldkv + g * d;
        ops->transpose(kblock, ldkv, nk, d, kt, TA_BK, npad);
        ops->transpose(vblock, ldkv, nk, d, vt, TA_BK, npad);
        // a NULL key_bias is a zero bias: dkey_bias is still its gradient
        copy_bias_block(c->key_bias ? c->key_bias + g * T + j0 : NULL, nk, bias, npad);
        if (dbias)
            for (int64_t j = 0; j < npad; j++) dbias[j] = 0.0f;
        for (int64_t ip = j0; ip < T; ip += p->queries_per_panel) {
            const int64_t nq = min64(p->queries_per_panel, T - ip), nrows = nq * G;
            // panel row r = (query ip + r/G, head g·G + r%G): at qpanel + (r/G)·ldq + (r%G)·d
            const float *qpanel = c->q + ip * ldq + g * G * d;
            const float *dopanel = c->dout + ip * ldq + g * G * d;
            for (int64_t r0 = 0; r0 < nrows; r0 += TA_MR) {
                const int mr = (int)min64(TA_MR, nrows - r0);
                const int64_t i_hi = ip + (r0 + mr - 1) / G;
                const int64_t nvis = min64(nk, i_hi - j0 + 1);
                const int n = (int)round_up(nvis, ops->lanes);
                const float *qrow[TA_MR], *dorow[TA_MR];
                float *prow[TA_MR], *dsrow[TA_MR], *dqrow[TA_MR];
                for (int t = 0; t < mr; t++) {
                    const int64_t r = r0 + t, i = ip + r / G, hh = r % G;
                    qrow[t] = qpanel + (r / G) * ldq + hh * d;
                    dorow[t] = dopanel + (r / G) * ldq + hh * d;
                    prow[t] = P + r * TA_BK;
                    dsrow[t] = dS + r * TA_BK;
                    dqrow[t] = dq_rows + (i - dq_origin) * ldq + hh * d;
                }
                ops->rows(mr, qrow, d, kt, TA_BK, n, prow, NULL, 0);
                ops->rows(mr, dorow, d, vt, TA_BK, n, dsrow, NULL, 0);
                for (int t = 0; t < mr; t++) {
                    const int64_t r = r0 + t, i = ip + r / G, h = g * G + r % G;
                    const int visible = (int)clamp64(i - j0 + 1, 0, nvis);
                    const int biased = (int)clamp64(i - c->window - j0, 0, visible);
                    ops->bwd_row(prow[t], dsrow[t], n, (int)npad, visible, biased, c->scale, bias,
                                 c->lse[h * T + i], D[i * Hq + h], dbias);
                }
                // the chunk's first key block starts every dq row of the chunk
                ops->rows(mr, (const float *const *)dsrow, nvis, kblock, ldkv, d, dqrow, NULL,
                          kb > first_block);
            }
            // dv += Pᵀ·dout and dk += dSᵀ·q over the rows at or below each key tile's first key
            for (int64_t jt = 0; jt < nk; jt += TA_MR) {
                const int mr = (int)min64(TA_MR, nk - jt);
                const int64_t first_query = clamp64(j0 + jt - ip, 0, nq);
                float *dvrow[TA_MR], *dkrow[TA_MR];
                for (int t = 0; t < mr; t++) {
                    dvrow[t] = c->dv + (j0 + jt + t) * ldkv + g * d;
                    dkrow[t] = c->dk + (j0 + jt + t) * ldkv + g * d;
                }
                ops->cols(mr, P + jt, TA_BK, first_query, nq, G, dopanel, ldq, d, d, dvrow, ip > j0);
                ops->cols(mr, dS + jt, TA_BK, first_query, nq, G, qpanel, ldq, d, d, dkrow, ip > j0);
            }
        }
        if (dbias) memcpy(c->dkey_bias + g * T + j0, dbias, (size_t)nk * sizeof(float));
    }
}

#define REDUCE_ROWS_PER_TASK 64

// dq += the partials of chunks 1.. in chunk order, for a block of queries.
static void bwd_reduce_task(void *vctx, int task, int ntasks) {
    (void)ntasks;
    const bwd_ctx *c = (const bwd_ctx *)vctx;
    const bwd_plan *p = c->plan;
    const int64_t ldq = c->Hq * c->d;
    const int64_t i1 = min64(c->T, (int64_t)(task + 1) * REDUCE_ROWS_PER_TASK);
    for (int64_t i = (int64_t)task * REDUCE_ROWS_PER_TASK; i < i1; i++) {
        float *row = c->dq + i * ldq;
        for (int ch = 1; ch < p->chunks; ch++) {
            const int64_t origin = p->first_block[ch] * TA_BK;
            if (i < origin) break;
            const float *part = c->scratch + p->partial_offset[ch] + (i - origin) * ldq;
            for (int64_t e = 0; e < ldq; e++) row[e] += part[e];
        }
    }
}

void dms_train_attention_backward(dms_pool *pool, int64_t T, int64_t Hq, int64_t Hkv, int64_t d,
                                  const float *q, const float *k, const float *v,
                                  const float *key_bias, int64_t window, float scale,
                                  const float *out, const float *lse, const float *dout,
                                  float *dq, float *dk, float *dv, float *dkey_bias,
                                  float *scratch) {
    if (T <= 0 || Hq <= 0 || Hkv <= 0 || d <= 0) return;
    bwd_plan plan;
    plan_backward(T, Hq, Hkv, d, &plan);
    bwd_ctx c = {0};
    c.ops = pick_ops(d);
    c.plan = &plan;
    c.T = T;
    c.Hq = Hq;
    c.Hkv = Hkv;
    c.d = d;
    c.G = Hq / Hkv;
    c.window = window;
    c.q = q;
    c.k = k;
    c.v = v;
    c.key_bias = key_bias;
    c.out = out;
    c.lse = lse;
    c.dout = dout;
    c.scale = scale;
    c.dq = dq;
    c.dk = dk;
    c.dv = dv;
    c.dkey_bias = dkey_bias;
    c.scratch = scratch;
    const int row_blocks = (int)((T + D_ROWS_PER_TASK - 1) / D_ROWS_PER_TASK);
    dms_pool_run(pool, bwd_D_task, &c, row_blocks);
    dms_pool_run(pool, bwd_task, &c, (int)(Hkv * plan.chunks));
    if (plan.chunks > 1)
        dms_pool_run(pool, bwd_reduce_task, &c, (int)((T + REDUCE_ROWS_PER_TASK - 1) / REDUCE_ROWS_PER_TASK));
}
