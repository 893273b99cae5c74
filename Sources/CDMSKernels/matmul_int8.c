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
//   Q8_0: vpdpbusd multiplies unsigned by signed bytes, so w goes in as q+128 (a sign-bit flip)
//         and each integer sum starts at -128*sum(qx): it ends at exactly sum(q*qx).
// Products that share an input (q/k/v, gate/up) share its quantization and one pool run; a
// gate/up pair also applies the SwiGLU in the task that finishes a block of up rows.
// LoRA updates join the same run: the quantization tasks also compute each token's A x, and the
// task that computes a block of product rows adds scale * B (A x) before storing them, the same
// operations dms_low_rank_accumulate does afterwards, without a second pass over the outputs.
// Each y element is the same sequence of operations whatever the thread count, the number of
// tokens and the other tokens' values: a token's results do not depend on its batch.
#include "dms_internal.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#define I8_TILE 16  // most tokens per task (their accumulators stay in registers)
#define I8_ROWS 16  // rows per task: one zmm of dword lanes
#define I8_PREFETCH 4  // blocks ahead

// One weight matrix of a group that shares the quantized input.
typedef struct {
    dms_wtype type;
    const uint8_t *W;
    const uint8_t *R;  // the same weights in the repacked layout (dms_int8_repack), or NULL
    size_t rb, bb;  // bytes per row and per block
    int64_t rows, rblocks;
    float *y;
    const float *lr_down, *lr_up;  // its LoRA update (A [rank][cols], B [rank][rows]), or NULL
    const uint16_t *lr_down16, *lr_up16;  // the same in f16, or NULL
    int64_t lr_rank, lr_offset;    // and where its A x starts in a token's row of lr_reduced
} i8_product;

typedef struct {
    int64_t cols, nb, n;
    int64_t tiles;      // token tiles of I8_TILE (the last may be shorter)
    int8_t *xq;   // [n][cols]: q (written by the quantization tasks, then read)
    float *xd;    // [n][nb]: d
    float *xs;    // [n][nb]: d * sum(q)
    int32_t *xi;  // [n][nb]: sum(q)
    int swiglu;  // p[0] is the gate and p[1] the up projection: tasks also write silu(gate) * up
    int64_t prefetch_rows;  // how far ahead a task prefetches weight rows (the next row block)
    float *lr_reduced;        // [n][lr_stride]: each update's A x (NULL without LoRA)
    int64_t lr_stride;
    float lr_scale;
    const uint8_t *lr_rows;  // the tokens the updates apply to (NULL: all)
    i8_product p[DMS_MATMUL_GROUP_MAX];
    int64_t first_task[DMS_MATMUL_GROUP_MAX + 1];
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
DMS_VNNI static void i8_quantize(const float *x, int64_t n, int64_t cols, int8_t *xq, float *xd, float *xs,
                                 int32_t *xi) {
    const int64_t nb = cols / 32;
    const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127);
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
            const int32_t sum = _mm512_reduce_add_epi32(_mm512_add_epi32(qa, qb));
            xd[t * nb + g] = d;
            xs[t * nb + g] = d * (float)sum;
            xi[t * nb + g] = sum;
            int8_t *q = xq + t * cols + 32 * g;
            _mm_storeu_si128((__m128i *)q, _mm512_cvtepi32_epi8(qa));
            _mm_storeu_si128((__m128i *)(q + 16), _mm512_cvtepi32_epi8(qb));
        }
    }
}

typedef struct {
    const float *x;
    const i8_ctx *c;
    int count;  // products
} i8_quantize_ctx;

// Quantizes a range of tokens into the context's buffers, and computes a range of the LoRA rows'
// A x for every token: split by rows, a single token's A x does not wait on one thread (the A
// matrices come from memory, as the weights do).
static void i8_quantize_task(void *vctx, int task, int ntasks) {
    const i8_quantize_ctx *q = (const i8_quantize_ctx *)vctx;
    const i8_ctx *c = q->c;
    const int64_t t0 = c->n * task / ntasks, t1 = c->n * (task + 1) / ntasks, nb = c->nb, cols = c->cols;
    i8_quantize(q->x + t0 * cols, t1 - t0, cols, c->xq + t0 * cols, c->xd + t0 * nb, c->xs + t0 * nb, c->xi + t0 * nb);
    if (!c->lr_reduced) return;
    const int64_t j0 = c->lr_stride * task / ntasks, j1 = c->lr_stride * (task + 1) / ntasks;
    for (int64_t t = 0; t < c->n; t++) {
        float *reduced = c->lr_reduced + t * c->lr_stride;
        if (c->lr_rows && !c->lr_rows[t]) {  // finite values for the unused products
            memset(reduced + j0, 0, sizeof(float) * (size_t)(j1 - j0));
            continue;
        }
        for (int k = 0; k < q->count; k++) {  // this task's rows of each update (each row's sum is the same alone)
            const i8_product *p = &c->p[k];
            const int64_t lo = j0 > p->lr_offset ? j0 : p->lr_offset;
            const int64_t hi = j1 < p->lr_offset + p->lr_rank ? j1 : p->lr_offset + p->lr_rank;
            if (p->lr_down && lo < hi) {
                const int64_t first = (lo - p->lr_offset) * cols;
                dms_low_rank_down(p->lr_down + first, p->lr_down16 ? p->lr_down16 + first : NULL, hi - lo, cols,
                                  q->x + t * cols, reduced + lo);
            }
        }
    }
}

// Tokens are quantized independently, so a batch of several splits them over the pool (on one
// thread, this serial step left the other core waiting); LoRA rows always split.
static void i8_quantize_parallel(dms_pool *pool, const float *x, const i8_ctx *c, int count) {
    const int64_t threads = dms_pool_threads(pool);
    i8_quantize_ctx q = {x, c, count};
    dms_pool_run(pool, i8_quantize_task, &q, (int)(c->n < 2 * threads && !c->lr_reduced ? 1 : threads));
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

DMS_VNNI_INLINE int32_t i8_dword(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

// Rows [r0, r0 + 16) of product p (the last row repeated past the end) for tokens [t0, t0 + T).
// vpdpbusd multiplies unsigned by signed bytes: Q4 nibbles are the unsigned side; Q8_0 weights go
// in as q + 128 (a sign-bit flip) and each sum starts at -128 * sum(qx), so it ends at exactly
// sum(q * qx).
DMS_VNNI_INLINE void i8_rows(const int T, const dms_wtype type, const i8_ctx *c, const i8_product *p, int64_t r0,
                             int64_t t0) {
    const int64_t nb = c->nb, cols = c->cols;
    const int q8 = type == DMS_WTYPE_Q8_0, q41 = type == DMS_WTYPE_Q4_1;
    const size_t qoff = q8 ? 2 : q41 ? 4 : 2;  // the quantized bytes follow the block's header
    const uint8_t *rowp[I8_ROWS];
    _Alignas(64) int32_t idx[I8_ROWS];
    for (int i = 0; i < I8_ROWS; i++) {
        const int64_t r = r0 + i < p->rows ? r0 + i : p->rows - 1;
        rowp[i] = p->W + r * p->rb;
        idx[i] = (int32_t)((r - r0) * (int64_t)p->rb);
    }
    const __m512i hdr_idx = _mm512_load_si512(idx);
    const int next_rows = r0 + I8_ROWS + c->prefetch_rows <= p->rows;
    const size_t next_bytes = (size_t)c->prefetch_rows * p->rb;
    // repacked: the row block's blocks one after the other, each I8_ROWS * bb bytes
    const uint8_t *group = p->R ? p->R + (size_t)(r0 / I8_ROWS) * I8_ROWS * p->rb : NULL;
    const size_t gbb = (size_t)I8_ROWS * p->bb;
    const __m512i nib = _mm512_set1_epi8(0x0f), sign = _mm512_set1_epi8((char)0x80);
    __m512 acc[I8_TILE];
    for (int t = 0; t < T; t++) acc[t] = _mm512_setzero_ps();
    for (int64_t g = 0; g < nb; g++) {
        const size_t boff = (size_t)g * p->bb;
        __m512 d, m = _mm512_setzero_ps();
        __m512i W[8], B[8];
        if (group) {
            // I8_ROWS f16 scales, I8_ROWS f16 minimums (Q4_1), then B as i8_transpose16 gives it
            const uint8_t *blk = group + (size_t)g * gbb;
            if (g + I8_PREFETCH < nb)
                for (size_t line = 0; line < gbb; line += 64)
                    _mm_prefetch((const char *)blk + I8_PREFETCH * gbb + line, _MM_HINT_T0);
            if (next_rows)
                for (size_t line = 0; line < gbb; line += 64)
                    _mm_prefetch((const char *)blk + next_bytes + line, _MM_HINT_T1);  // the next row block
            d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)blk));
            if (q41) m = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(blk + 32)));
            const uint8_t *quants = blk + (q41 ? 64 : 32);
            for (int j = 0; j < (q8 ? 8 : 4); j++) B[j] = _mm512_loadu_si512(quants + 64 * j);
        } else {
            if (g + I8_PREFETCH < nb)
                for (int i = 0; i < I8_ROWS; i++) _mm_prefetch((const char *)rowp[i] + boff + I8_PREFETCH * p->bb, _MM_HINT_T0);
            // the same block of the next row block, which this thread's next task takes (the pool
            // gives each thread a contiguous range of tasks), so that task does not start on 16
            // cache misses
            if (next_rows)
                for (int i = 0; i < I8_ROWS; i++) _mm_prefetch((const char *)rowp[i] + boff + next_bytes, _MM_HINT_T1);
            const __m512i hdr = _mm512_i32gather_epi32(hdr_idx, p->W + r0 * p->rb + boff, 1);
            d = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(hdr));
            if (q41) m = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(hdr, 16)));
            i8_transpose16(rowp, boff + qoff, B);
            if (q8) i8_transpose16(rowp, boff + qoff + 16, B + 4);
        }
        if (q8) {
            for (int j = 0; j < 8; j++) W[j] = _mm512_xor_si512(B[j], sign);
        } else {
            for (int j = 0; j < 4; j++) {
                W[j] = _mm512_and_si512(B[j], nib);
                W[j + 4] = _mm512_and_si512(_mm512_srli_epi32(B[j], 4), nib);
            }
            if (!q41) m = _mm512_mul_ps(d, _mm512_set1_ps(-8.0f));
        }
        for (int t = 0; t < T; t++) {
            const int8_t *xb = c->xq + (t0 + t) * cols + 32 * g;
            // two chains of 4 rather than one of 8 (vpdpbusd's latency bounds a long one); integer
            // sums, so the result is the same
            __m512i s0 = q8 ? _mm512_set1_epi32(-128 * c->xi[(t0 + t) * nb + g]) : _mm512_setzero_si512();
            __m512i s1 = _mm512_setzero_si512();
            for (int j = 0; j < 8; j += 2) {
                s0 = _mm512_dpbusd_epi32(s0, W[j], _mm512_set1_epi32(i8_dword(xb + 4 * j)));
                s1 = _mm512_dpbusd_epi32(s1, W[j + 1], _mm512_set1_epi32(i8_dword(xb + 4 * j + 4)));
            }
            const __m512i s = _mm512_add_epi32(s0, s1);
            const __m512 scale = _mm512_mul_ps(d, _mm512_set1_ps(c->xd[(t0 + t) * nb + g]));
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), scale, acc[t]);
            if (!q8) acc[t] = _mm512_fmadd_ps(m, _mm512_set1_ps(c->xs[(t0 + t) * nb + g]), acc[t]);
        }
    }
    const int64_t valid = p->rows - r0 < I8_ROWS ? p->rows - r0 : I8_ROWS;
    const __mmask16 keep = (__mmask16)((1u << valid) - 1u);
    if (p->lr_up) {  // y += scale * B (A x), as dms_low_rank_accumulate computes it
        // each row of B once for all tokens, and a chain per token (its A x is zero where the
        // update does not apply, and then not added)
        const float *r = c->lr_reduced + t0 * c->lr_stride + p->lr_offset;
        __m512 delta[I8_TILE];
        for (int t = 0; t < T; t++) delta[t] = _mm512_setzero_ps();
        for (int64_t j = 0; j < p->lr_rank; j++) {
            const __m512 b = p->lr_up16 ? _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(keep, p->lr_up16 + j * p->rows + r0))
                                        : _mm512_maskz_loadu_ps(keep, p->lr_up + j * p->rows + r0);
            for (int t = 0; t < T; t++) delta[t] = _mm512_fmadd_ps(_mm512_set1_ps(r[t * c->lr_stride + j]), b, delta[t]);
        }
        const __m512 lr_scale = _mm512_set1_ps(c->lr_scale);
        for (int t = 0; t < T; t++)
            if (!c->lr_rows || c->lr_rows[t0 + t]) acc[t] = _mm512_add_ps(acc[t], _mm512_mul_ps(lr_scale, delta[t]));
    }
    for (int t = 0; t < T; t++) _mm512_mask_storeu_ps(p->y + (t0 + t) * p->rows + r0, keep, acc[t]);
    if (c->swiglu && p == &c->p[1]) {  // the up projection: the gate's rows are done, apply SwiGLU
        float *gate = c->p[0].y + r0;
        for (int t = 0; t < T; t++) {
            float *gt = gate + (t0 + t) * p->rows;
            const __m512 g = _mm512_maskz_loadu_ps(keep, gt);
            const __m256 lo = dms_swiglu256(_mm512_castps512_ps256(g), _mm512_castps512_ps256(acc[t]));
            const __m256 hi = dms_swiglu256(_mm512_extractf32x8_ps(g, 1), _mm512_extractf32x8_ps(acc[t], 1));
            _mm512_mask_storeu_ps(gt, keep, _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1));
        }
    }
}

// One function per (type, token count), so the accumulators stay in registers.
typedef void (*i8_rows_fn)(const i8_ctx *, const i8_product *, int64_t, int64_t);
#define I8_FN(TYPE, T)                                                                                  \
    DMS_VNNI static void i8_rows_##TYPE##_##T(const i8_ctx *c, const i8_product *p, int64_t r0, int64_t t0) { \
        i8_rows(T, DMS_WTYPE_##TYPE, c, p, r0, t0);                                                     \
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

static void i8_product_rows(const i8_ctx *c, const i8_product *p, int64_t r0, int64_t t0, int64_t T) {
    const i8_rows_fn *fns = p->type == DMS_WTYPE_Q8_0 ? i8_rows_Q8_0
                            : p->type == DMS_WTYPE_Q4_0 ? i8_rows_Q4_0 : i8_rows_Q4_1;
    fns[T](c, p, r0, t0);
}

static void i8_task(void *vctx, int task, int ntasks) {
    (void)ntasks;
    const i8_ctx *c = (const i8_ctx *)vctx;
    int k = 0;
    while (task >= c->first_task[k + 1]) k++;
    const i8_product *p = &c->p[k];
    // consecutive tasks share a row block, so its weights are still in cache for the next tile
    const int64_t local = task - c->first_task[k];
    const int64_t r0 = (local / c->tiles) * I8_ROWS, t0 = (local % c->tiles) * I8_TILE;
    const int64_t T = c->n - t0 < I8_TILE ? c->n - t0 : I8_TILE;
    i8_product_rows(c, p, r0, t0, T);
    if (c->swiglu) i8_product_rows(c, &c->p[1], r0, t0, T);  // the up rows, which apply the SwiGLU
}

// Quantizes x once and runs every product (or the gate/up pair) in one pool run, with their LoRA
// updates (lr may be NULL); 0 where the 8-bit path does not apply.
static int i8_run(dms_pool *pool, const dms_product *products, int count, int swiglu, int64_t cols,
                  const float *x, int64_t n, const dms_low_rank_group *lr) {
    if (n < 1 || count < 1 || count > DMS_MATMUL_GROUP_MAX || cols <= 0 || cols % 32 != 0) return 0;
    if (!dms_use_avx512vnni()) return 0;
    i8_ctx c;
    memset(&c, 0, sizeof c);
    c.cols = cols;
    c.nb = cols / 32;
    c.n = n;
    c.tiles = (n + I8_TILE - 1) / I8_TILE;
    c.swiglu = swiglu;
    c.prefetch_rows = I8_ROWS;
    for (int k = 0; k < count; k++) {
        const dms_product *in = &products[k];
        if (in->type != DMS_WTYPE_Q8_0 && in->type != DMS_WTYPE_Q4_0 && in->type != DMS_WTYPE_Q4_1) return 0;
        if (in->rows <= 0) return 0;
        const size_t rb = dms_row_bytes(in->type, cols);
        if (rb > (size_t)INT32_MAX / I8_ROWS) return 0;  // the header gather takes 32-bit offsets
        c.p[k] = (i8_product){in->type, (const uint8_t *)in->weights, (const uint8_t *)in->repacked, rb,
                              rb / (size_t)c.nb, in->rows, (in->rows + I8_ROWS - 1) / I8_ROWS, in->output,
                              NULL, NULL, NULL, NULL, 0, 0};
        const dms_low_rank *u = lr ? &lr->updates[k] : NULL;
        if (u && u->down && u->rank > 0) {
            if (u->outputs != in->rows) return 0;
            c.p[k].lr_down = u->down;
            c.p[k].lr_up = u->up_by_rank;
            if (u->down_f16 && u->up_by_rank_f16) {
                c.p[k].lr_down16 = u->down_f16;
                c.p[k].lr_up16 = u->up_by_rank_f16;
            }
            c.p[k].lr_rank = u->rank;
            c.p[k].lr_offset = c.lr_stride;
            c.lr_stride += u->rank;
        }
    }
    if (c.lr_stride > 0) {
        c.lr_reduced = lr->scratch;
        c.lr_scale = lr->scale;
        c.lr_rows = lr->rows;
    }
    const int runs = swiglu ? 1 : count;  // with swiglu, a task does both products
    for (int k = 0; k < runs; k++) c.first_task[k + 1] = c.first_task[k] + c.p[k].rblocks * c.tiles;
    if (c.first_task[runs] > INT32_MAX) return 0;
    const size_t qbytes = ((size_t)(n * cols) + 63) / 64 * 64;
    uint8_t *buf = i8_scratch_reserve(qbytes + 3 * (size_t)(n * c.nb) * sizeof(float));
    if (!buf) return 0;
    float *xd = (float *)(buf + qbytes), *xs = xd + n * c.nb;
    int32_t *xi = (int32_t *)(xs + n * c.nb);
    c.xq = (int8_t *)buf;
    c.xd = xd;
    c.xs = xs;
    c.xi = xi;
    i8_quantize_parallel(pool, x, &c, count);
    dms_pool_run(pool, i8_task, &c, (int)c.first_task[runs]);
    return 1;
}

#endif  // DMS_X86

// The repacked layout, for each block of I8_ROWS rows (the last row repeated past the end) and
// each block of 32 columns: the rows' f16 scales, their f16 minimums (Q4_1), then their quantized
// bytes as i8_transpose16 arranges them in registers (a dword of every row per 64 bytes): the
// kernel then reads one stream of whole cache lines instead of 16 rows' 18-34 bytes gathered and
// transposed block by block. The same bytes in all; the products come out the same bits.
#if DMS_X86
static int i8_repackable(dms_wtype type, int64_t rows, int64_t cols) {
    return (type == DMS_WTYPE_Q8_0 || type == DMS_WTYPE_Q4_0 || type == DMS_WTYPE_Q4_1) && rows > 0 &&
           cols > 0 && cols % 32 == 0 && dms_use_avx512vnni();
}
#endif

size_t dms_int8_repacked_bytes(dms_wtype type, int64_t rows, int64_t cols) {
#if DMS_X86
    if (!i8_repackable(type, rows, cols)) return 0;
    return (size_t)((rows + I8_ROWS - 1) / I8_ROWS) * I8_ROWS * dms_row_bytes(type, cols);
#else
    (void)type; (void)rows; (void)cols;
    return 0;
#endif
}

#if DMS_X86
DMS_VNNI static void i8_repack(dms_wtype type, const uint8_t *W, int64_t rows, int64_t cols, uint8_t *out) {
    const size_t rb = dms_row_bytes(type, cols), bb = rb / (size_t)(cols / 32);
    const int q8 = type == DMS_WTYPE_Q8_0, q41 = type == DMS_WTYPE_Q4_1;
    const size_t qoff = q41 ? 4 : 2;
    for (int64_t r0 = 0; r0 < rows; r0 += I8_ROWS) {
        const uint8_t *rowp[I8_ROWS];
        for (int i = 0; i < I8_ROWS; i++) rowp[i] = W + (r0 + i < rows ? r0 + i : rows - 1) * rb;
        for (int64_t g = 0; g < cols / 32; g++) {
            const size_t boff = (size_t)g * bb;
            uint8_t *blk = out + (size_t)r0 * rb + (size_t)g * I8_ROWS * bb;
            for (int i = 0; i < I8_ROWS; i++) {
                memcpy(blk + 2 * i, rowp[i] + boff, 2);
                if (q41) memcpy(blk + 32 + 2 * i, rowp[i] + boff + 2, 2);
            }
            __m512i B[8];
            i8_transpose16(rowp, boff + qoff, B);
            if (q8) i8_transpose16(rowp, boff + qoff + 16, B + 4);
            uint8_t *quants = blk + (q41 ? 64 : 32);
            for (int j = 0; j < (q8 ? 8 : 4); j++) _mm512_storeu_si512(quants + 64 * j, B[j]);
        }
    }
}
#endif

int dms_int8_repack(dms_wtype type, const void *W, int64_t rows, int64_t cols, void *out) {
#if DMS_X86
    if (!i8_repackable(type, rows, cols)) return 0;
    i8_repack(type, (const uint8_t *)W, rows, cols, (uint8_t *)out);
    return 1;
#else
    (void)type; (void)W; (void)rows; (void)cols; (void)out;
    return 0;
#endif
}

int dms_matmul_int8_vnni(dms_pool *pool, dms_wtype type, const void *W, int64_t rows, int64_t cols,
                         const float *x, int64_t n, float *y) {
#if DMS_X86
    const dms_product product = {type, W, NULL, rows, y};
    return i8_run(pool, &product, 1, 0, cols, x, n, NULL);
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

void dms_matmul_group(dms_pool *pool, const dms_product *products, int count, int64_t cols, const float *x,
                      int64_t n, int int8_activations, const dms_low_rank_group *low_rank) {
#if DMS_X86
    if (int8_activations && i8_run(pool, products, count, 0, cols, x, n, low_rank)) return;
#else
    (void)int8_activations;
#endif
    for (int k = 0; k < count; k++)
        dms_matmul(pool, products[k].type, products[k].weights, products[k].rows, cols, x, n, products[k].output);
    if (low_rank) dms_low_rank_group_add(pool, products, count, low_rank, cols, x, n);
}

void dms_matmul_swiglu(dms_pool *pool, dms_product gate, dms_product up, int64_t cols, const float *x, int64_t n,
                       int int8_activations, const dms_low_rank_group *low_rank) {
    const dms_product pair[2] = {gate, up};
#if DMS_X86
    if (int8_activations && i8_run(pool, pair, 2, 1, cols, x, n, low_rank)) return;
#else
    (void)int8_activations;
#endif
    dms_matmul(pool, gate.type, gate.weights, gate.rows, cols, x, n, gate.output);
    dms_matmul(pool, up.type, up.weights, up.rows, cols, x, n, up.output);
    if (low_rank) dms_low_rank_group_add(pool, pair, 2, low_rank, cols, x, n);
    dms_swiglu(gate.output, up.output, gate.output, n * gate.rows);
}
