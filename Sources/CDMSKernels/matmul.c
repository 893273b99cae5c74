// matmul.c — y[t][r] = sum_c W[r][c] * x[t][c] for f32/f16/bf16/Q8_0/Q4_0/Q4_1 weights.
//
// n == 1 (decode): a memory-bound mat-vec straight from the encoded weights. Each thread streams
// one contiguous range of rows (in ~16 KB chunks; idle threads then help with the other ranges).
//   Q4_1: sum((d*q+m)*x) = d*sum(q*x) + m*sum(x) per block (block sums of x computed once).
//   Q4_0: d*sum(q*x) - 8*d*sum(x);  Q8_0: d*sum(q*x);  f16/bf16/f32: converted on the fly.
// 2 <= n <= 16 (batched decode, short chunks; AVX2 and cols % 32 == 0): each weight block is
// dequantized in registers once and used for every token (see "small batches" below).
// n <= 3 otherwise: one mat-vec per token.
// larger n (prefill): panels of 16 weight rows x 256 columns are dequantized and transposed into an
// f32 buffer on the stack ([k][16]) and a 16-row x 6-token FMA microkernel (12 ymm accumulators)
// runs over all tokens of the task. Every y element is one sequential FMA chain over k in every
// tile shape, so the result never depends on the tiling or the thread count.
// dms_matmul_per_token takes the n == 1 path token by token: a token's results are then the same
// whatever the batch (the paths above round differently from each other).
#include "dms_internal.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

#define MV_CHUNK_BYTES 16384
#define MV_MAX_TOKENS 3  // n <= this runs as n mat-vecs
#define GEMM_MR 16
#define GEMM_NR 6
#define GEMM_KC 256

#define MV_MAX_PARTS 64

#define SB_MAX_TOKENS 16  // 2..this many tokens: the small-batch kernel (AVX2, cols % 32 == 0)
#define SB_TILE 8         // tokens whose accumulators stay in registers together
#define SB_ROWS 16        // rows per task

struct mm_ctx;
typedef void (*mv_range_fn)(const struct mm_ctx *c, int64_t r0, int64_t r1);

typedef struct mm_ctx {
    dms_wtype type;
    const uint8_t *W;
    size_t rb;  // bytes per row
    int64_t rows, cols, n;
    const float *x;
    float *y;
    const float *xs4;  // mat-vec Q4: per block {sum(x_block), sum(x_block), 0, 0}
    const float *xh;   // mat-vec Q4_0/Q4_1: x / 16
    // mat-vec scheduling: `nparts` contiguous row ranges (one per thread, so each thread streams
    // its own contiguous part of W); chunks of `chunk_rows` are claimed from the front of a range,
    // by its owner first and by the other threads once their own range is exhausted.
    int nparts;
    int64_t chunk_rows;
    int64_t part_begin[MV_MAX_PARTS + 1];
    struct {
        _Alignas(64) _Atomic int64_t next;
    } cursor[MV_MAX_PARTS];
    int64_t ntc, tok_chunk;  // gemm: token chunks per panel and their size
} mm_ctx;

// Runs the chunks of range `task` and then helps with the other ranges.
static void mv_schedule(mm_ctx *c, int task, mv_range_fn fn) {
    for (int k = 0; k < c->nparts; k++) {
        int q = (task + k) % c->nparts;
        const int64_t end = c->part_begin[q + 1];
        for (;;) {
            int64_t r0 = atomic_fetch_add_explicit(&c->cursor[q].next, c->chunk_rows, memory_order_relaxed);
            if (r0 >= end) break;
            int64_t r1 = r0 + c->chunk_rows < end ? r0 + c->chunk_rows : end;
            fn(c, r0, r1);
        }
    }
}


// =============================================================================================
// Scalar paths
// =============================================================================================

// Portable path: rows are dequantized 256 columns at a time and dotted with 8 partial sums.
static float dot_row_scalar(dms_wtype type, const uint8_t *w, const float *x, int64_t cols) {
    if (type == DMS_WTYPE_F32) return dms_dot8((const float *)w, x, cols);
    float tmp[256];
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int64_t c0 = 0; c0 < cols; c0 += 256) {
        int64_t nc = cols - c0 < 256 ? cols - c0 : 256;
        dms_dequant_range(type, w, c0, nc, tmp);
        dms_dot8_acc(tmp, x + c0, nc, acc);
    }
    return dms_sum8(acc);
}

static void mv_rows_scalar(const mm_ctx *c, int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) c->y[r] = dot_row_scalar(c->type, c->W + r * c->rb, c->x, c->cols);
}

static void mv_task_scalar(void *vctx, int task, int ntasks) {
    (void)ntasks;
    mv_schedule((mm_ctx *)vctx, task, mv_rows_scalar);
}

static void gemm_task_scalar(void *vctx, int task, int ntasks) {
    (void)ntasks;
    const mm_ctx *c = (const mm_ctx *)vctx;
    int64_t panel = task / c->ntc, tc = task % c->ntc;
    int64_t r0 = panel * GEMM_MR, r1 = r0 + GEMM_MR;
    if (r1 > c->rows) r1 = c->rows;
    int64_t t0 = tc * c->tok_chunk, t1 = t0 + c->tok_chunk;
    if (t1 > c->n) t1 = c->n;
    float stackbuf[4096];
    float *w = c->cols <= 4096 ? stackbuf : (float *)malloc((size_t)c->cols * sizeof(float));
    for (int64_t r = r0; r < r1; r++) {
        dms_dequant_range(c->type, c->W + r * c->rb, 0, c->cols, w);
        for (int64_t t = t0; t < t1; t++) {
            c->y[t * c->rows + r] = dms_dot8(w, c->x + t * c->cols, c->cols);
        }
    }
    if (w != stackbuf) free(w);
}

// =============================================================================================
// AVX2 mat-vec
// =============================================================================================
#if DMS_X86

// Nibbles/bytes are spread to 32-bit lanes with in-lane vpshufb from a 16-byte broadcast
// (vpmovzxbd ymm is a lane-crossing shuffle with 1/cycle throughput on Zen 3). For Q4 the high
// nibble is kept in place (16*q) and meets x/16, precomputed once per call (exact scaling), which
// saves a shift. Q8_0 bytes are sign-extended from memory (vpmovsxbd ymm, m64), which streams
// better than the broadcast + vpshufb form. All products are therefore exactly those of q*x.
DMS_AVX2_INLINE __m256i shuf_lo8(void) {  // lane 0: bytes 0..3, lane 1: bytes 4..7 -> low byte of dwords
    return _mm256_setr_epi8(0, -1, -1, -1, 1, -1, -1, -1, 2, -1, -1, -1, 3, -1, -1, -1,
                            4, -1, -1, -1, 5, -1, -1, -1, 6, -1, -1, -1, 7, -1, -1, -1);
}
DMS_AVX2_INLINE __m256i shuf_hi8(void) {  // bytes 8..15
    return _mm256_setr_epi8(8, -1, -1, -1, 9, -1, -1, -1, 10, -1, -1, -1, 11, -1, -1, -1,
                            12, -1, -1, -1, 13, -1, -1, -1, 14, -1, -1, -1, 15, -1, -1, -1);
}
// sum_j q_j * x_j over one Q4 block (q = raw nibbles), 8 lanes.
DMS_AVX2_INLINE __m256 q4_dot(const uint8_t *qs, const float *xb, const float *xhb, __m256i sl,
                              __m256i sh, __m256i m0f, __m256i mf0) {
    __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)qs));
    __m256i a = _mm256_shuffle_epi8(v, sl);
    __m256i b = _mm256_shuffle_epi8(v, sh);
    __m256 q0 = _mm256_cvtepi32_ps(_mm256_and_si256(a, m0f));
    __m256 q1 = _mm256_cvtepi32_ps(_mm256_and_si256(b, m0f));
    __m256 q2 = _mm256_cvtepi32_ps(_mm256_and_si256(a, mf0));
    __m256 q3 = _mm256_cvtepi32_ps(_mm256_and_si256(b, mf0));
    __m256 t = _mm256_mul_ps(q0, _mm256_loadu_ps(xb));
    t = _mm256_fmadd_ps(q1, _mm256_loadu_ps(xb + 8), t);
    t = _mm256_fmadd_ps(q2, _mm256_loadu_ps(xhb + 16), t);
    t = _mm256_fmadd_ps(q3, _mm256_loadu_ps(xhb + 24), t);
    return t;
}
#define Q4_DOT(qs, xb, xhb) q4_dot((qs), (xb), (xhb), sl, sh, m0f, mf0)

// Q4_1: a += d * sum(q*x); am += {d, m, ., .} * {xs, xs, 0, 0}: lane 1 collects m * sum(x).
// Q4_0: same with the 4 bytes after d read as a dummy m; lane 0 collects d * sum(x), and the row
//       result is sum(a) - 8 * lane0, i.e. d*sum((q-8)*x) per block.
#define Q41_ROW(wp, a, am)                                                                        \
    do {                                                                                          \
        const uint8_t *blk_ = (wp) + 20 * b;                                                      \
        __m128 dm_ = _mm_cvtph_ps(_mm_castps_si128(_mm_load_ss((const float *)blk_)));            \
        __m256 t_ = Q4_DOT(blk_ + 4, x + 32 * b, xh + 32 * b);                                    \
        (a) = _mm256_fmadd_ps(_mm256_broadcastss_ps(dm_), t_, (a));                               \
        (am) = _mm_fmadd_ps(dm_, xsb, (am));                                                      \
    } while (0)

#define Q40_ROW(wp, a, am)                                                                        \
    do {                                                                                          \
        const uint8_t *blk_ = (wp) + 18 * b;                                                      \
        __m128 dm_ = _mm_cvtph_ps(_mm_castps_si128(_mm_load_ss((const float *)blk_)));            \
        __m256 t_ = Q4_DOT(blk_ + 2, x + 32 * b, xh + 32 * b);                                    \
        (a) = _mm256_fmadd_ps(_mm256_broadcastss_ps(dm_), t_, (a));                               \
        (am) = _mm_fmadd_ps(dm_, xsb, (am));                                                      \
    } while (0)

// Q8_0: bytes are sign-extended straight from memory (vpmovsxbd; the 8-byte load is folded in).
#define Q80_ROW(wp, a, am)                                                                        \
    do {                                                                                          \
        const uint8_t *blk_ = (wp) + 34 * b;                                                      \
        uint16_t dh_;                                                                             \
        memcpy(&dh_, blk_, 2);                                                                    \
        __m256 d_ = _mm256_broadcastss_ps(_mm_cvtph_ps(_mm_cvtsi32_si128(dh_)));                  \
        __m256 q0_ = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(blk_ + 2))));  \
        __m256 q1_ = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(blk_ + 10)))); \
        __m256 q2_ = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(blk_ + 18)))); \
        __m256 q3_ = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(blk_ + 26)))); \
        __m256 t_ = _mm256_mul_ps(q0_, _mm256_loadu_ps(x + 32 * b));                              \
        t_ = _mm256_fmadd_ps(q1_, _mm256_loadu_ps(x + 32 * b + 8), t_);                           \
        t_ = _mm256_fmadd_ps(q2_, _mm256_loadu_ps(x + 32 * b + 16), t_);                          \
        t_ = _mm256_fmadd_ps(q3_, _mm256_loadu_ps(x + 32 * b + 24), t_);                          \
        (a) = _mm256_fmadd_ps(d_, t_, (a));                                                       \
        (void)(am);                                                                               \
    } while (0)

DMS_AVX2_INLINE float mv_finish(int kind, __m256 a, __m128 am) {
    if (kind == 1) return dms_hsum256(a) + _mm_cvtss_f32(_mm_movehdup_ps(am));  // Q4_1
    if (kind == 0) return dms_hsum256(a) - 8.0f * _mm_cvtss_f32(am);            // Q4_0
    return dms_hsum256(a);                                                      // Q8_0
}

// One row's arithmetic is the same whether it runs in a group of MV_R rows or alone. (Measured on
// Zen 3: Q4 and Q8_0 rows run best one at a time: with several rows interleaved the hardware
// prefetcher loses the Q8_0 streams and the mat-vec drops from ~12 to ~5 GB/s per core.)
#define DEFINE_MV_BLOCKED(name, ROW, KIND, MV_R)                                                        \
    DMS_AVX2 static void name(const mm_ctx *c, int64_t r0, int64_t r1) {                          \
        const int64_t nb = c->cols / 32;                                                          \
        const size_t rb = c->rb;                                                                  \
        const __m256i m0f = _mm256_set1_epi32(0x0f), mf0 = _mm256_set1_epi32(0xf0);               \
        const __m256i sl = shuf_lo8(), sh = shuf_hi8();                                           \
        (void)m0f; (void)mf0; (void)sl; (void)sh;                                                 \
        const float *x = c->x, *xh = c->xh;                                                       \
        (void)xh;                                                                                 \
        int64_t r = r0;                                                                           \
        for (; r + MV_R <= r1; r += MV_R) {                                                       \
            const uint8_t *w[MV_R];                                                               \
            __m256 a[MV_R];                                                                       \
            __m128 am[MV_R];                                                                      \
            for (int i = 0; i < MV_R; i++) {                                                      \
                w[i] = c->W + (r + i) * rb;                                                       \
                a[i] = _mm256_setzero_ps();                                                       \
                am[i] = _mm_setzero_ps();                                                         \
            }                                                                                     \
            for (int64_t b = 0; b < nb; b++) {                                                    \
                __m128 xsb = KIND == 2 ? _mm_setzero_ps() : _mm_loadu_ps(c->xs4 + 4 * b);         \
                (void)xsb;                                                                        \
                for (int i = 0; i < MV_R; i++) ROW(w[i], a[i], am[i]);                            \
            }                                                                                     \
            for (int i = 0; i < MV_R; i++) c->y[r + i] = mv_finish(KIND, a[i], am[i]);            \
        }                                                                                         \
        for (; r < r1; r++) {                                                                     \
            const uint8_t *w0 = c->W + r * rb;                                                    \
            __m256 a0 = _mm256_setzero_ps();                                                      \
            __m128 am0 = _mm_setzero_ps();                                                        \
            for (int64_t b = 0; b < nb; b++) {                                                    \
                __m128 xsb = KIND == 2 ? _mm_setzero_ps() : _mm_loadu_ps(c->xs4 + 4 * b);         \
                (void)xsb;                                                                        \
                ROW(w0, a0, am0);                                                                 \
            }                                                                                     \
            c->y[r] = mv_finish(KIND, a0, am0);                                                   \
        }                                                                                         \
    }

DEFINE_MV_BLOCKED(mv_q8_0_avx2, Q80_ROW, 2, 1)

DEFINE_MV_BLOCKED(mv_q4_1_avx2, Q41_ROW, 1, 1)
DEFINE_MV_BLOCKED(mv_q4_0_avx2, Q40_ROW, 0, 1)

// --- f32 / f16 / bf16 -----------------------------------------------------------------------
DMS_AVX2_INLINE __m256 load8_typed(dms_wtype type, const uint8_t *row, int64_t c) {
    if (type == DMS_WTYPE_F32) return _mm256_loadu_ps((const float *)row + c);
    if (type == DMS_WTYPE_F16) return dms_load_h8((const uint16_t *)row + c);
    return dms_load_bf8((const uint16_t *)row + c);
}
DMS_INLINE float load1_typed(dms_wtype type, const uint8_t *row, int64_t c) {
    if (type == DMS_WTYPE_F32) return ((const float *)row)[c];
    if (type == DMS_WTYPE_F16) return dms_h2f(((const uint16_t *)row)[c]);
    return dms_bf2f(((const uint16_t *)row)[c]);
}

// One row's dot product; identical per-row sequence whether called in a group of 4 or alone.
DMS_AVX2_INLINE void mv_float_rows(const dms_wtype type, const mm_ctx *c, int64_t r, const int R) {
    const int64_t cols = c->cols;
    const float *x = c->x;
    const uint8_t *w[4];
    __m256 a[4], b[4];
    for (int i = 0; i < R; i++) {
        w[i] = c->W + (r + i) * c->rb;
        a[i] = _mm256_setzero_ps();
        b[i] = _mm256_setzero_ps();
    }
    int64_t k = 0;
    for (; k + 16 <= cols; k += 16) {
        __m256 x0 = _mm256_loadu_ps(x + k), x1 = _mm256_loadu_ps(x + k + 8);
        for (int i = 0; i < R; i++) {
            a[i] = _mm256_fmadd_ps(load8_typed(type, w[i], k), x0, a[i]);
            b[i] = _mm256_fmadd_ps(load8_typed(type, w[i], k + 8), x1, b[i]);
        }
    }
    for (; k + 8 <= cols; k += 8) {
        __m256 x0 = _mm256_loadu_ps(x + k);
        for (int i = 0; i < R; i++) a[i] = _mm256_fmadd_ps(load8_typed(type, w[i], k), x0, a[i]);
    }
    for (int i = 0; i < R; i++) {
        float s = dms_hsum256(_mm256_add_ps(a[i], b[i]));
        for (int64_t kk = k; kk < cols; kk++) s += load1_typed(type, w[i], kk) * x[kk];
        c->y[r + i] = s;
    }
}

#define DEFINE_MV_FLOAT(name, TYPE)                                                               \
    DMS_AVX2 static void name(const mm_ctx *c, int64_t r0, int64_t r1) {                          \
        int64_t r = r0;                                                                           \
        for (; r + 4 <= r1; r += 4) mv_float_rows(TYPE, c, r, 4);                                 \
        for (; r < r1; r++) mv_float_rows(TYPE, c, r, 1);                                         \
    }
DEFINE_MV_FLOAT(mv_f32_avx2, DMS_WTYPE_F32)
DEFINE_MV_FLOAT(mv_f16_avx2, DMS_WTYPE_F16)
DEFINE_MV_FLOAT(mv_bf16_avx2, DMS_WTYPE_BF16)

static void mv_rows_avx2(const mm_ctx *c, int64_t r0, int64_t r1) {
    switch (c->type) {
    case DMS_WTYPE_F32: mv_f32_avx2(c, r0, r1); break;
    case DMS_WTYPE_F16: mv_f16_avx2(c, r0, r1); break;
    case DMS_WTYPE_BF16: mv_bf16_avx2(c, r0, r1); break;
    case DMS_WTYPE_Q8_0: mv_q8_0_avx2(c, r0, r1); break;
    case DMS_WTYPE_Q4_0: mv_q4_0_avx2(c, r0, r1); break;
    case DMS_WTYPE_Q4_1: mv_q4_1_avx2(c, r0, r1); break;
    }
}

static void mv_task_avx2(void *vctx, int task, int ntasks) {
    (void)ntasks;
    mv_schedule((mm_ctx *)vctx, task, mv_rows_avx2);
}

DMS_AVX2 static void prepare_x_avx2(const float *x, int64_t cols, float *xh) {
    const __m256 s = _mm256_set1_ps(0.0625f);
    for (int64_t k = 0; k < cols; k += 8) _mm256_storeu_ps(xh + k, _mm256_mul_ps(_mm256_loadu_ps(x + k), s));
}

// Per-block sums of x for the Q4 mat-vec, as {xs_b, xs_b, 0, 0}.
DMS_AVX2 static void block_sums_avx2(const float *x, int64_t nb, float *xs4) {
    for (int64_t b = 0; b < nb; b++) {
        __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_loadu_ps(x + 32 * b), _mm256_loadu_ps(x + 32 * b + 8)),
                                 _mm256_add_ps(_mm256_loadu_ps(x + 32 * b + 16), _mm256_loadu_ps(x + 32 * b + 24)));
        float t = dms_hsum256(s);
        xs4[4 * b + 0] = t;
        xs4[4 * b + 1] = t;
        xs4[4 * b + 2] = 0.0f;
        xs4[4 * b + 3] = 0.0f;
    }
}

// =============================================================================================
// AVX2 GEMM (n > 1)
// =============================================================================================

DMS_AVX2_INLINE void transpose8(__m256 *r) {
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

// Builds P[k][16] (k < kc) for rows r0..r0+15 (rows past `nrows` are zero), columns k0..k0+kc.
DMS_AVX2 static void gemm_pack(const mm_ctx *c, int64_t r0, int nrows, int64_t k0, int64_t kc,
                               float *P, float *tmp /* [8][GEMM_KC] */) {
    for (int g = 0; g < 2; g++) {
        for (int i = 0; i < 8; i++) {
            int ri = 8 * g + i;
            float *dst = tmp + i * GEMM_KC;
            if (ri < nrows)
                dms_dequant_range(c->type, c->W + (r0 + ri) * c->rb, k0, kc, dst);
            else
                memset(dst, 0, (size_t)kc * sizeof(float));
        }
        int64_t k = 0;
        for (; k + 8 <= kc; k += 8) {
            __m256 v[8];
            for (int i = 0; i < 8; i++) v[i] = _mm256_loadu_ps(tmp + i * GEMM_KC + k);
            transpose8(v);
            for (int j = 0; j < 8; j++) _mm256_storeu_ps(P + (k + j) * GEMM_MR + 8 * g, v[j]);
        }
        for (; k < kc; k++)
            for (int i = 0; i < 8; i++) P[k * GEMM_MR + 8 * g + i] = tmp[i * GEMM_KC + k];
    }
}

// acc[t][0..16] (+)= sum_k P[k][0..16] * x[t][k], t < T. `first` starts from zero, otherwise
// continues from y. Partial panels (nvalid < 16) use masked loads/stores.
DMS_AVX2_INLINE void gemm_micro(const int T, const float *P, int64_t kc, const float *x,
                                int64_t ldx, float *y, int64_t ldy, int first, int nvalid) {
    __m256 c0[GEMM_NR], c1[GEMM_NR];
    __m256i mk0 = _mm256_setzero_si256(), mk1 = _mm256_setzero_si256();
    if (nvalid < 16) {
        const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        mk0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nvalid), idx);
        mk1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nvalid - 8), idx);
    }
    for (int t = 0; t < T; t++) {
        if (first) {
            c0[t] = _mm256_setzero_ps();
            c1[t] = _mm256_setzero_ps();
        } else if (nvalid == 16) {
            c0[t] = _mm256_loadu_ps(y + t * ldy);
            c1[t] = _mm256_loadu_ps(y + t * ldy + 8);
        } else {
            c0[t] = _mm256_maskload_ps(y + t * ldy, mk0);
            c1[t] = _mm256_maskload_ps(y + t * ldy + 8, mk1);
        }
    }
    const float *xt[GEMM_NR];
    for (int t = 0; t < T; t++) xt[t] = x + t * ldx;
    for (int64_t k = 0; k < kc; k++) {
        __m256 w0 = _mm256_loadu_ps(P + k * GEMM_MR), w1 = _mm256_loadu_ps(P + k * GEMM_MR + 8);
        for (int t = 0; t < T; t++) {
            __m256 b = _mm256_broadcast_ss(xt[t] + k);
            c0[t] = _mm256_fmadd_ps(w0, b, c0[t]);
            c1[t] = _mm256_fmadd_ps(w1, b, c1[t]);
        }
    }
    for (int t = 0; t < T; t++) {
        if (nvalid == 16) {
            _mm256_storeu_ps(y + t * ldy, c0[t]);
            _mm256_storeu_ps(y + t * ldy + 8, c1[t]);
        } else {
            _mm256_maskstore_ps(y + t * ldy, mk0, c0[t]);
            _mm256_maskstore_ps(y + t * ldy + 8, mk1, c1[t]);
        }
    }
}

#define DEFINE_MICRO(T)                                                                           \
    DMS_AVX2 static void gemm_micro_##T(const float *P, int64_t kc, const float *x, int64_t ldx,  \
                                        float *y, int64_t ldy, int first, int nvalid) {           \
        gemm_micro(T, P, kc, x, ldx, y, ldy, first, nvalid);                                      \
    }
DEFINE_MICRO(1)
DEFINE_MICRO(2)
DEFINE_MICRO(3)
DEFINE_MICRO(4)
DEFINE_MICRO(5)
DEFINE_MICRO(6)

typedef void (*gemm_micro_fn)(const float *, int64_t, const float *, int64_t, float *, int64_t,
                              int, int);
static const gemm_micro_fn gemm_micros[GEMM_NR + 1] = {NULL, gemm_micro_1, gemm_micro_2,
                                                       gemm_micro_3, gemm_micro_4, gemm_micro_5,
                                                       gemm_micro_6};

DMS_AVX2 static void gemm_task_avx2(void *vctx, int task, int ntasks) {
    (void)ntasks;
    const mm_ctx *c = (const mm_ctx *)vctx;
    int64_t panel = task / c->ntc, tc = task % c->ntc;
    int64_t r0 = panel * GEMM_MR;
    int nrows = (int)(c->rows - r0 < GEMM_MR ? c->rows - r0 : GEMM_MR);
    int64_t t0 = tc * c->tok_chunk, t1 = t0 + c->tok_chunk;
    if (t1 > c->n) t1 = c->n;
    _Alignas(32) float P[GEMM_KC * GEMM_MR];
    _Alignas(32) float tmp[8 * GEMM_KC];
    for (int64_t k0 = 0; k0 < c->cols; k0 += GEMM_KC) {
        int64_t kc = c->cols - k0 < GEMM_KC ? c->cols - k0 : GEMM_KC;
        gemm_pack(c, r0, nrows, k0, kc, P, tmp);
        for (int64_t t = t0; t < t1; t += GEMM_NR) {
            int T = (int)(t1 - t < GEMM_NR ? t1 - t : GEMM_NR);
            gemm_micros[T](P, kc, c->x + t * c->cols + k0, c->cols, c->y + t * c->rows + r0,
                           c->rows, k0 == 0, nrows);
        }
    }
}

// =============================================================================================
// AVX2 small batches (2 <= n <= SB_MAX_TOKENS): each weight block is dequantized in registers
// once and multiplied into the accumulators of up to SB_TILE tokens, so the weights stream once
// per call (like the mat-vec) with no packing. Columns go in passes of ~16 KB of x so the tokens'
// x stays in L1; the accumulators of a chunk of SB_ROWS rows wait in a small buffer between
// passes. Each y[t][r] is a fixed sequence of FMAs given n, whatever the thread count.
// =============================================================================================

// Dequantizes columns 32g..32g+31 of a row into w[0..3] (8 columns each).
DMS_AVX2_INLINE void sb_dequant32(dms_wtype type, const uint8_t *row, int64_t g, __m256 *w) {
    switch (type) {
    case DMS_WTYPE_Q4_1:
    case DMS_WTYPE_Q4_0: {
        const int is1 = type == DMS_WTYPE_Q4_1;
        const uint8_t *blk = row + (is1 ? 20 : 18) * g;
        // {d, m} (Q4_0: {d, next bytes}) converted together by F16C
        const __m128 dm = _mm_cvtph_ps(_mm_castps_si128(_mm_load_ss((const float *)blk)));
        const __m256 d = _mm256_broadcastss_ps(dm);
        // Q4_0: d*(q-8) = fma(d, q, -8d) exactly (-8d is exact and d*q is not rounded in the fma)
        const __m256 m = is1 ? _mm256_broadcastss_ps(_mm_movehdup_ps(dm)) : _mm256_mul_ps(d, _mm256_set1_ps(-8.0f));
        const __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(blk + (is1 ? 4 : 2))));
        const __m256i a = _mm256_shuffle_epi8(v, shuf_lo8()), b = _mm256_shuffle_epi8(v, shuf_hi8());
        const __m256i lo = _mm256_set1_epi32(0x0f);
        w[0] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(_mm256_and_si256(a, lo)), m);
        w[1] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(_mm256_and_si256(b, lo)), m);
        w[2] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(_mm256_srli_epi32(a, 4)), m);
        w[3] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(_mm256_srli_epi32(b, 4)), m);
        return;
    }
    case DMS_WTYPE_Q8_0: {
        const uint8_t *blk = row + 34 * g;
        uint16_t dh;
        memcpy(&dh, blk, 2);
        const __m256 d = _mm256_broadcastss_ps(_mm_cvtph_ps(_mm_cvtsi32_si128(dh)));
        for (int j = 0; j < 4; j++)
            w[j] = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(
                                        _mm_loadl_epi64((const __m128i *)(blk + 2 + 8 * j)))));
        return;
    }
    case DMS_WTYPE_F32:
    case DMS_WTYPE_F16:
    case DMS_WTYPE_BF16:
        for (int j = 0; j < 4; j++) w[j] = load8_typed(type, row, 32 * g + 8 * j);
        return;
    }
}

// acc[0..T) (+)= W[row][32*g0 .. 32*g1) . x[t][same]. Each token has two accumulators in `buf`
// ([T][2][8]). Tiles of up to 4 tokens use both (even and odd 8-column slices), so that at
// least 8 independent FMA chains hide the FMA latency; larger tiles use the first (the second
// stays zero).
DMS_AVX2_INLINE void sb_tile(const int T, dms_wtype type, const uint8_t *row, int64_t g0, int64_t g1,
                             const float *x, int64_t ldx, float *buf, int first) {
    const int two = T <= 4;
    __m256 acc[SB_TILE], acc2[4];
    for (int t = 0; t < T; t++) {
        acc[t] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(buf + 16 * t);
        if (two) acc2[t] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(buf + 16 * t + 8);
    }
    for (int64_t g = g0; g < g1; g++) {
        __m256 w[4];
        sb_dequant32(type, row, g, w);
        const float *xg = x + 32 * g;
        for (int t = 0; t < T; t++) {
            const float *xt = xg + t * ldx;
            if (two) {
                acc[t] = _mm256_fmadd_ps(w[0], _mm256_loadu_ps(xt), acc[t]);
                acc2[t] = _mm256_fmadd_ps(w[1], _mm256_loadu_ps(xt + 8), acc2[t]);
                acc[t] = _mm256_fmadd_ps(w[2], _mm256_loadu_ps(xt + 16), acc[t]);
                acc2[t] = _mm256_fmadd_ps(w[3], _mm256_loadu_ps(xt + 24), acc2[t]);
            } else {
                acc[t] = _mm256_fmadd_ps(w[0], _mm256_loadu_ps(xt), acc[t]);
                acc[t] = _mm256_fmadd_ps(w[1], _mm256_loadu_ps(xt + 8), acc[t]);
                acc[t] = _mm256_fmadd_ps(w[2], _mm256_loadu_ps(xt + 16), acc[t]);
                acc[t] = _mm256_fmadd_ps(w[3], _mm256_loadu_ps(xt + 24), acc[t]);
            }
        }
    }
    for (int t = 0; t < T; t++) {
        _mm256_storeu_ps(buf + 16 * t, acc[t]);
        if (two) _mm256_storeu_ps(buf + 16 * t + 8, acc2[t]);
        else if (first) _mm256_storeu_ps(buf + 16 * t + 8, _mm256_setzero_ps());
    }
}

// One function per (type, tile size), so the type switch and the token loop are resolved at
// compile time and the accumulators stay in registers.
typedef void (*sb_tile_fn)(const uint8_t *, int64_t, int64_t, const float *, int64_t, float *, int);
#define SB_TILE_FN(TYPE, T)                                                                       \
    DMS_AVX2 static void sb_tile_##TYPE##_##T(const uint8_t *row, int64_t g0, int64_t g1,         \
                                              const float *x, int64_t ldx, float *buf, int first) { \
        sb_tile(T, DMS_WTYPE_##TYPE, row, g0, g1, x, ldx, buf, first);                            \
    }
#define SB_TILE_FNS(TYPE)                                                                         \
    SB_TILE_FN(TYPE, 1) SB_TILE_FN(TYPE, 2) SB_TILE_FN(TYPE, 3) SB_TILE_FN(TYPE, 4)               \
    SB_TILE_FN(TYPE, 5) SB_TILE_FN(TYPE, 6) SB_TILE_FN(TYPE, 7) SB_TILE_FN(TYPE, 8)               \
    static const sb_tile_fn sb_tiles_##TYPE[SB_TILE + 1] = {                                      \
        NULL, sb_tile_##TYPE##_1, sb_tile_##TYPE##_2, sb_tile_##TYPE##_3, sb_tile_##TYPE##_4,     \
        sb_tile_##TYPE##_5, sb_tile_##TYPE##_6, sb_tile_##TYPE##_7, sb_tile_##TYPE##_8};
SB_TILE_FNS(F32)
SB_TILE_FNS(F16)
SB_TILE_FNS(BF16)
SB_TILE_FNS(Q8_0)
SB_TILE_FNS(Q4_0)
SB_TILE_FNS(Q4_1)

static const sb_tile_fn *sb_tiles_for(dms_wtype type) {
    switch (type) {
    case DMS_WTYPE_F32: return sb_tiles_F32;
    case DMS_WTYPE_F16: return sb_tiles_F16;
    case DMS_WTYPE_BF16: return sb_tiles_BF16;
    case DMS_WTYPE_Q8_0: return sb_tiles_Q8_0;
    case DMS_WTYPE_Q4_0: return sb_tiles_Q4_0;
    case DMS_WTYPE_Q4_1: return sb_tiles_Q4_1;
    }
    return NULL;
}

// The totals of 8 consecutive tokens' accumulator pairs (`acc` as in sb_tile), in one vector.
DMS_AVX2_INLINE __m256 sb_sum8(const float *acc) {
    __m256 v[8];
    for (int j = 0; j < 8; j++) v[j] = _mm256_add_ps(_mm256_load_ps(acc + 16 * j), _mm256_load_ps(acc + 16 * j + 8));
    const __m256 h0123 = _mm256_hadd_ps(_mm256_hadd_ps(v[0], v[1]), _mm256_hadd_ps(v[2], v[3]));
    const __m256 h4567 = _mm256_hadd_ps(_mm256_hadd_ps(v[4], v[5]), _mm256_hadd_ps(v[6], v[7]));
    return _mm256_add_ps(_mm256_permute2f128_ps(h0123, h4567, 0x20), _mm256_permute2f128_ps(h0123, h4567, 0x31));
}

// Task = rows [SB_ROWS*task, +SB_ROWS). Tokens go in ceil(n/SB_TILE) tiles of near-equal size.
DMS_AVX2 static void small_batch_task_avx2(void *vctx, int task, int ntasks) {
    (void)ntasks;
    const mm_ctx *c = (const mm_ctx *)vctx;
    const sb_tile_fn *tiles = sb_tiles_for(c->type);
    const int64_t r0 = (int64_t)task * SB_ROWS;
    const int64_t r1 = r0 + SB_ROWS < c->rows ? r0 + SB_ROWS : c->rows;
    const int64_t ntiles = (c->n + SB_TILE - 1) / SB_TILE;
    // passes of about 16 KB of x (n tokens x 32*kc_groups columns), 2 to 16 groups
    const int64_t groups = c->cols / 32;
    int64_t kc_groups = 128 / c->n;
    kc_groups = kc_groups < 2 ? 2 : kc_groups > 16 ? 16 : kc_groups;
    _Alignas(32) float acc[SB_ROWS * SB_MAX_TOKENS * 16];
    for (int64_t g0 = 0; g0 < groups; g0 += kc_groups) {
        const int64_t g1 = g0 + kc_groups < groups ? g0 + kc_groups : groups;
        for (int64_t r = r0; r < r1; r++) {
            float *racc = acc + (r - r0) * SB_MAX_TOKENS * 16;
            for (int64_t i = 0; i < ntiles; i++) {
                const int64_t t0 = c->n * i / ntiles, t1 = c->n * (i + 1) / ntiles;
                tiles[t1 - t0](c->W + r * c->rb, g0, g1, c->x + t0 * c->cols, c->cols, racc + 16 * t0, g0 == 0);
            }
        }
    }
    for (int64_t r = r0; r < r1; r++) {
        const float *racc = acc + (r - r0) * SB_MAX_TOKENS * 16;
        int64_t t = 0;
        for (; t + 8 <= c->n; t += 8) {  // 8 totals at once (which tokens go by 8 depends on n only)
            _Alignas(32) float total[8];
            _mm256_store_ps(total, sb_sum8(racc + 16 * t));
            for (int j = 0; j < 8; j++) c->y[(t + j) * c->rows + r] = total[j];
        }
        for (; t < c->n; t++) {
            const float *a = racc + 16 * t;
            c->y[t * c->rows + r] = dms_hsum256(_mm256_add_ps(_mm256_load_ps(a), _mm256_load_ps(a + 8)));
        }
    }
}

#endif  // DMS_X86

// =============================================================================================
// Entry point
// =============================================================================================

static void mm_init(mm_ctx *c, dms_wtype type, const void *W, int64_t rows, int64_t cols, const float *x,
                    int64_t n, float *y) {
    memset(c, 0, offsetof(mm_ctx, part_begin));
    c->type = type;
    c->W = (const uint8_t *)W;
    c->rb = dms_row_bytes(type, cols);
    c->rows = rows;
    c->cols = cols;
    c->n = n;
    c->x = x;
    c->y = y;
}

// The panel path (prefill): each y element is one sequential chain over the columns, so a
// token's results depend on neither n nor the tiling.
static void matmul_panels(dms_pool *pool, mm_ctx *c) {
    const int64_t n = c->n;
    int64_t npanels = (c->rows + GEMM_MR - 1) / GEMM_MR;
    int64_t ntc = 1;
    int64_t want = 4 * (int64_t)dms_pool_threads(pool);
    if (npanels < want) {
        ntc = (want + npanels - 1) / npanels;
        int64_t maxc = (n + 23) / 24;  // keep >= ~24 tokens per chunk
        if (ntc > maxc) ntc = maxc;
        if (ntc < 1) ntc = 1;
    }
    int64_t chunk = (n + ntc - 1) / ntc;
    chunk = (chunk + GEMM_NR - 1) / GEMM_NR * GEMM_NR;
    ntc = (n + chunk - 1) / chunk;
    c->ntc = ntc;
    c->tok_chunk = chunk;
#if DMS_X86
    if (dms_use_avx2()) {
        dms_pool_run(pool, gemm_task_avx2, c, (int)(npanels * ntc));
        return;
    }
#endif
    dms_pool_run(pool, gemm_task_scalar, c, (int)(npanels * ntc));
}

void dms_matmul(dms_pool *pool, dms_wtype type, const void *W, int64_t rows, int64_t cols,
                const float *x, int64_t n, float *y) {
    if (rows <= 0 || n <= 0) return;
    const int small_batch = DMS_X86 && n > 1 && n <= SB_MAX_TOKENS && cols > 0 && cols % 32 == 0 && dms_use_avx2();
    if (n > 1 && n <= MV_MAX_TOKENS && !small_batch) {
        // a few tokens: one mat-vec per token beats packing panels (and matches n == 1 exactly)
        for (int64_t t = 0; t < n; t++) dms_matmul(pool, type, W, rows, cols, x + t * cols, 1, y + t * rows);
        return;
    }
    if (cols <= 0) {
        for (int64_t i = 0; i < rows * n; i++) y[i] = 0.0f;
        return;
    }
    mm_ctx c;
    mm_init(&c, type, W, rows, cols, x, n, y);
    const int nthreads = dms_pool_threads(pool);
    const int avx2 = dms_use_avx2();
    (void)avx2;

    if (n == 1) {
        // y is [1][rows] here (callers with n <= MV_MAX_TOKENS pass one token at a time).
        // one contiguous range per thread (multiples of 4 rows), chunks of ~16 KB of weights.
        // Results do not depend on the split: every row is computed alone by the same code.
        int parts = nthreads < MV_MAX_PARTS ? nthreads : MV_MAX_PARTS;
        if ((int64_t)parts > (rows + 3) / 4) parts = (int)((rows + 3) / 4);
        c.nparts = parts;
        for (int p = 0; p <= parts; p++) {
            int64_t b = (rows * p / parts + 3) / 4 * 4;
            c.part_begin[p] = b < rows ? b : rows;
        }
        c.part_begin[parts] = rows;
        for (int p = 0; p < parts; p++) atomic_init(&c.cursor[p].next, c.part_begin[p]);
        int64_t chunk = MV_CHUNK_BYTES / (int64_t)(c.rb ? c.rb : 1);
        chunk = (chunk + 3) / 4 * 4;
        c.chunk_rows = chunk < 4 ? 4 : chunk;
        int64_t ntasks = parts;
#if DMS_X86
        if (avx2) {
            // per-call precomputation shared by all rows: x/16 and block sums of x
            _Alignas(32) float stackbuf[4096 + 4 * 128];
            float *buf = NULL;
            if (type == DMS_WTYPE_Q4_1 || type == DMS_WTYPE_Q4_0) {
                int64_t nb = cols / 32;
                size_t need = (size_t)cols + 4 * (size_t)nb;
                buf = need <= sizeof stackbuf / sizeof(float) ? stackbuf
                                                               : (float *)malloc(need * sizeof(float));
                float *xh = buf;
                prepare_x_avx2(x, cols, xh);
                c.xh = xh;
                c.xs4 = buf + cols;
                block_sums_avx2(x, nb, buf + cols);
            }
            dms_pool_run(pool, mv_task_avx2, &c, (int)ntasks);
            if (buf && buf != stackbuf) free(buf);
            return;
        }
#endif
        dms_pool_run(pool, mv_task_scalar, &c, (int)ntasks);
        return;
    }

#if DMS_X86
    if (small_batch) {
        dms_pool_run(pool, small_batch_task_avx2, &c, (int)((rows + SB_ROWS - 1) / SB_ROWS));
        return;
    }
#endif
    matmul_panels(pool, &c);
}

void dms_matmul_per_token(dms_pool *pool, dms_wtype type, const void *W, int64_t rows, int64_t cols,
                          const float *x, int64_t n, float *y) {
    // one mat-vec per token: no panels to pack, which would cost more than these small products
    for (int64_t t = 0; t < n; t++) dms_matmul(pool, type, W, rows, cols, x + t * cols, 1, y + t * rows);
}
