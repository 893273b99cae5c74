// matmul_int8.c — products with 8-bit activations on AVX-512 VNNI.
//
// x is quantized per token and block of 32 columns as Q8_0 quantizes (d = max|x|/127,
// q = round(x/d)), then multiplied with the weights' integers. A task takes 16 weight rows and
// a tile of up to 16 tokens. For each block the rows' bytes are transposed in registers so that
// one zmm holds 4 consecutive columns of all 16 rows (a dword per row): vpdpbusd with a token's
// 4 bytes broadcast adds 64 products into the 16 rows' integer sums at once. Per block and token the integer sums are
// scaled by d_w * d_x into f32 accumulators, one zmm per token holding its 16 outputs, so no
// horizontal sums are needed and the weights are read and transposed once for all tokens.
//   Q4_1: w = d*q + m:  y += d*dx*sum(q*qx) + m*(dx*sum(qx))
//   Q4_0: w = d*(q-8):  y += d*dx*sum(q*qx) - 8d*(dx*sum(qx))
//   Q8_0: vpdpbusd multiplies unsigned by signed bytes, so x goes in as qx+128 and each integer
//         sum starts at -128*sum(q): it ends at exactly sum(q*qx).
// Each y element is the same sequence of operations whatever the thread count, the number of
// tokens and the other tokens' values: a token's results do not depend on its batch.
#include "dms_internal.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#define I8_TILE 16  // most tokens per task (their accumulators stay in registers)
#define I8_ROWS 16  // rows per task: one zmm of dword lanes

typedef struct {
    dms_wtype type;
    const uint8_t *W;
    size_t rb, bb;  // bytes per row and per block
    int64_t rows, cols, nb, n;
    int64_t tiles;      // token tiles of I8_TILE (the last may be shorter)
    const uint8_t *xq;  // [n][cols]: q as int8 (Q4 types) or q+128 as uint8 (Q8_0)
    const float *xd;    // [n][nb]: d
    const float *xs;    // [n][nb]: d * sum(q)
    float *y;
} i8_ctx;

#if DMS_X86

// The quantized input lives in a per-thread buffer that only grows (freed when the thread ends),
// so a decode step does not allocate.
typedef struct {
    size_t capacity;
    uint8_t bytes[];
} i8_scratch;

static pthread_key_t i8_scratch_key;
static pthread_once_t i8_scratch_once = PTHREAD_ONCE_INIT;

static void i8_scratch_key_create(void) { pthread_key_create(&i8_scratch_key, free); }

// At least `bytes` of this thread's scratch, or NULL when memory runs out.
static uint8_t *i8_scratch_reserve(size_t bytes) {
    pthread_once(&i8_scratch_once, i8_scratch_key_create);
    i8_scratch *s = (i8_scratch *)pthread_getspecific(i8_scratch_key);
    if (!s || s->capacity < bytes) {
        i8_scratch *grown = (i8_scratch *)malloc(sizeof(i8_scratch) + bytes);
        if (!grown) return NULL;
        grown->capacity = bytes;
        free(s);
        pthread_setspecific(i8_scratch_key, grown);
        s = grown;
    }
    return s->bytes;
}

// Quantizes n rows of x (cols a multiple of 32) block by block.
DMS_VNNI static void i8_quantize(const float *x, int64_t n, int64_t cols, int offset128, uint8_t *xq,
                                 float *xd, float *xs) {
    const int64_t nb = cols / 32;
    const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127);
    const __m512i off = _mm512_set1_epi32(offset128 ? 128 : 0);
    for (int64_t t = 0; t < n; t++) {
        for (int64_t g = 0; g < nb; g++) {
            const float *xb = x + t * cols + 32 * g;
            const __m512 a = _mm512_loadu_ps(xb), b = _mm512_loadu_ps(xb + 16);
            const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(a), _mm512_abs_ps(b)));
            const float id = amax > 0.0f ? 127.0f / amax : 0.0f;
            // round to nearest (even); the clamp also maps a NaN's integer to -127
            __m512i qa = _mm512_cvtps_epi32(_mm512_mul_ps(a, _mm512_set1_ps(id)));
            __m512i qb = _mm512_cvtps_epi32(_mm512_mul_ps(b, _mm512_set1_ps(id)));
            qa = _mm512_max_epi32(_mm512_min_epi32(qa, hi), lo);
            qb = _mm512_max_epi32(_mm512_min_epi32(qb, hi), lo);
            const float d = amax / 127.0f;
            xd[t * nb + g] = d;
            xs[t * nb + g] = d * (float)_mm512_reduce_add_epi32(_mm512_add_epi32(qa, qb));
            uint8_t *q = xq + t * cols + 32 * g;
            _mm_storeu_si128((__m128i *)q, _mm512_cvtepi32_epi8(_mm512_add_epi32(qa, off)));
            _mm_storeu_si128((__m128i *)(q + 16), _mm512_cvtepi32_epi8(_mm512_add_epi32(qb, off)));
        }
    }
}

// 16 bytes at `off` of each of the 16 rows' block, transposed: B[j] holds dword j of every row.
DMS_VNNI_INLINE void i8_transpose16(const uint8_t *const *rowp, size_t off, __m512i *B) {
    __m512i A[4];
    for (int k = 0; k < 4; k++) {  // lane L of A[k] is row k + 4L
        __m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)(rowp[k] + off)));
        v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(rowp[k + 4] + off)), 1);
        v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(rowp[k + 8] + off)), 2);
        A[k] = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(rowp[k + 12] + off)), 3);
    }
    const __m512i t0 = _mm512_unpacklo_epi32(A[0], A[1]), t1 = _mm512_unpackhi_epi32(A[0], A[1]);
    const __m512i t2 = _mm512_unpacklo_epi32(A[2], A[3]), t3 = _mm512_unpackhi_epi32(A[2], A[3]);
    B[0] = _mm512_unpacklo_epi64(t0, t2);  // element 4L + k = row 4L + k
    B[1] = _mm512_unpackhi_epi64(t0, t2);
    B[2] = _mm512_unpacklo_epi64(t1, t3);
    B[3] = _mm512_unpackhi_epi64(t1, t3);
}

DMS_VNNI_INLINE int32_t i8_dword(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

// Rows [r0, r0 + 16) (the last row repeated past the end) for tokens [t0, t0 + T).
DMS_VNNI_INLINE void i8_rows(const int T, const dms_wtype type, const i8_ctx *c, int64_t r0, int64_t t0) {
    const int64_t nb = c->nb, cols = c->cols;
    const int q8 = type == DMS_WTYPE_Q8_0, q41 = type == DMS_WTYPE_Q4_1;
    const size_t qoff = q8 ? 2 : q41 ? 4 : 2;  // the quantized bytes follow the block's header
    const uint8_t *rowp[I8_ROWS];
    _Alignas(64) int32_t idx[I8_ROWS];
    for (int i = 0; i < I8_ROWS; i++) {
        const int64_t r = r0 + i < c->rows ? r0 + i : c->rows - 1;
        rowp[i] = c->W + r * c->rb;
        idx[i] = (int32_t)((r - r0) * (int64_t)c->rb);
    }
    const __m512i hdr_idx = _mm512_load_si512(idx);
    const __m512i nib = _mm512_set1_epi8(0x0f), ones = _mm512_set1_epi8(1);
    __m512 acc[I8_TILE];
    for (int t = 0; t < T; t++) acc[t] = _mm512_setzero_ps();
    for (int64_t g = 0; g < nb; g++) {
        const size_t boff = (size_t)g * c->bb;
        const __m512i hdr = _mm512_i32gather_epi32(hdr_idx, c->W + r0 * c->rb + boff, 1);
        const __m512 d = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(hdr));
        __m512i W[8];
        __m512i init = _mm512_setzero_si512();
        __m512 m = _mm512_setzero_ps();
        if (q8) {
            i8_transpose16(rowp, boff + qoff, W);
            i8_transpose16(rowp, boff + qoff + 16, W + 4);
            __m512i s = _mm512_setzero_si512();
            for (int j = 0; j < 8; j++) s = _mm512_dpbusd_epi32(s, ones, W[j]);
            init = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(s, 7));
        } else {
            __m512i B[4];
            i8_transpose16(rowp, boff + qoff, B);
            for (int j = 0; j < 4; j++) {
                W[j] = _mm512_and_si512(B[j], nib);
                W[j + 4] = _mm512_and_si512(_mm512_srli_epi32(B[j], 4), nib);
            }
            m = q41 ? _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(hdr, 16)))
                    : _mm512_mul_ps(d, _mm512_set1_ps(-8.0f));
        }
        for (int t = 0; t < T; t++) {
            const uint8_t *xb = c->xq + (t0 + t) * cols + 32 * g;
            __m512i s = init;
            for (int j = 0; j < 8; j++) {
                const __m512i xj = _mm512_set1_epi32(i8_dword(xb + 4 * j));
                s = q8 ? _mm512_dpbusd_epi32(s, xj, W[j]) : _mm512_dpbusd_epi32(s, W[j], xj);
            }
            const __m512 scale = _mm512_mul_ps(d, _mm512_set1_ps(c->xd[(t0 + t) * nb + g]));
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), scale, acc[t]);
            if (!q8) acc[t] = _mm512_fmadd_ps(m, _mm512_set1_ps(c->xs[(t0 + t) * nb + g]), acc[t]);
        }
    }
    const int64_t valid = c->rows - r0 < I8_ROWS ? c->rows - r0 : I8_ROWS;
    const __mmask16 keep = (__mmask16)((1u << valid) - 1u);
    for (int t = 0; t < T; t++) _mm512_mask_storeu_ps(c->y + (t0 + t) * c->rows + r0, keep, acc[t]);
}

// One function per (type, token count), so the accumulators stay in registers.
typedef void (*i8_rows_fn)(const i8_ctx *, int64_t, int64_t);
#define I8_FN(TYPE, T)                                                                            \
    DMS_VNNI static void i8_rows_##TYPE##_##T(const i8_ctx *c, int64_t r0, int64_t t0) {          \
        i8_rows(T, DMS_WTYPE_##TYPE, c, r0, t0);                                                  \
    }
#define I8_FNS(TYPE)                                                                              \
    I8_FN(TYPE, 1) I8_FN(TYPE, 2) I8_FN(TYPE, 3) I8_FN(TYPE, 4) I8_FN(TYPE, 5) I8_FN(TYPE, 6)     \
    I8_FN(TYPE, 7) I8_FN(TYPE, 8) I8_FN(TYPE, 9) I8_FN(TYPE, 10) I8_FN(TYPE, 11) I8_FN(TYPE, 12)  \
    I8_FN(TYPE, 13) I8_FN(TYPE, 14) I8_FN(TYPE, 15) I8_FN(TYPE, 16)                               \
    static const i8_rows_fn i8_rows_##TYPE[I8_TILE + 1] = {                                       \
        NULL, i8_rows_##TYPE##_1, i8_rows_##TYPE##_2, i8_rows_##TYPE##_3, i8_rows_##TYPE##_4,     \
        i8_rows_##TYPE##_5, i8_rows_##TYPE##_6, i8_rows_##TYPE##_7, i8_rows_##TYPE##_8,           \
        i8_rows_##TYPE##_9, i8_rows_##TYPE##_10, i8_rows_##TYPE##_11, i8_rows_##TYPE##_12,        \
        i8_rows_##TYPE##_13, i8_rows_##TYPE##_14, i8_rows_##TYPE##_15, i8_rows_##TYPE##_16};
I8_FNS(Q8_0)
I8_FNS(Q4_0)
I8_FNS(Q4_1)

static void i8_task(void *vctx, int task, int ntasks) {
    (void)ntasks;
    const i8_ctx *c = (const i8_ctx *)vctx;
    const i8_rows_fn *fns = c->type == DMS_WTYPE_Q8_0 ? i8_rows_Q8_0
                            : c->type == DMS_WTYPE_Q4_0 ? i8_rows_Q4_0 : i8_rows_Q4_1;
    // consecutive tasks share a row block, so its weights are still in cache for the next tile
    const int64_t rblock = task / c->tiles, t0 = (task % c->tiles) * I8_TILE;
    const int64_t T = c->n - t0 < I8_TILE ? c->n - t0 : I8_TILE;
    fns[T](c, rblock * I8_ROWS, t0);
}

#endif  // DMS_X86

int dms_matmul_int8_vnni(dms_pool *pool, dms_wtype type, const void *W, int64_t rows, int64_t cols,
                         const float *x, int64_t n, float *y) {
#if DMS_X86
    if (n < 1 || rows <= 0 || cols <= 0 || cols % 32 != 0) return 0;
    if (type != DMS_WTYPE_Q8_0 && type != DMS_WTYPE_Q4_0 && type != DMS_WTYPE_Q4_1) return 0;
    if (!dms_use_avx512vnni()) return 0;
    const size_t rb = dms_row_bytes(type, cols);
    if (rb > (size_t)INT32_MAX / I8_ROWS) return 0;  // the header gather takes 32-bit offsets
    const int64_t nb = cols / 32;
    const size_t qbytes = ((size_t)(n * cols) + 63) / 64 * 64;
    const int64_t tiles = (n + I8_TILE - 1) / I8_TILE, rblocks = (rows + I8_ROWS - 1) / I8_ROWS;
    if (tiles * rblocks > INT32_MAX) return 0;
    uint8_t *buf = i8_scratch_reserve(qbytes + 2 * (size_t)(n * nb) * sizeof(float));
    if (!buf) return 0;
    i8_ctx c = {type, (const uint8_t *)W, rb, rb / (size_t)nb, rows, cols, nb, n, tiles, buf,
                (const float *)(buf + qbytes), (const float *)(buf + qbytes) + n * nb, y};
    i8_quantize(x, n, cols, type == DMS_WTYPE_Q8_0, buf, (float *)c.xd, (float *)c.xs);
    dms_pool_run(pool, i8_task, &c, (int)(tiles * rblocks));
    return 1;
#else
    (void)pool; (void)type; (void)W; (void)rows; (void)cols; (void)x; (void)n; (void)y;
    return 0;
#endif
}

void dms_matmul_int8(dms_pool *pool, dms_wtype type, const void *W, int64_t rows, int64_t cols,
                     const float *x, int64_t n, float *y) {
    if (!dms_matmul_int8_vnni(pool, type, W, rows, cols, x, n, y))
        dms_matmul(pool, type, W, rows, cols, x, n, y);
}
