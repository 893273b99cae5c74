// lowrank.c — LoRA updates y += scale * B (A x), token by token.
//
// B arrives transposed ([rank][outputs]), so the up-projection is `rank` vector AXPYs across the
// outputs. Row by row it would be `outputs` dot products of length rank: for rank 8, a horizontal
// sum per output, which made these tiny products cost as much as a tenth of a batched decode step.
// Each token is computed alone by the same code, so its result never depends on the batch or on
// the thread that runs it.
#include "dms_internal.h"

// One update as a token's computation reads it (the token's x, scratch r and output row y are
// passed beside it).
typedef struct {
    const float *A, *Bt;
    int64_t rank, inputs, outputs;
    float scale;
} lr_args;

typedef struct {
    const dms_low_rank *updates;
    int count;
    int64_t inputs;
    const float *x;
    int64_t n;
    float scale;
    float *reduced;  // a token's scratch is reduced + t * stride (the largest rank)
    int64_t stride;
} lr_ctx;

static void lr_down_scalar(const float *A, int64_t rank, int64_t inputs, const float *x, float *r) {
    for (int64_t j = 0; j < rank; j++) r[j] = dms_dot8(A + j * inputs, x, inputs);
}

static void lr_token_scalar(const lr_args *c, const float *x, float *r, float *y) {
    lr_down_scalar(c->A, c->rank, c->inputs, x, r);
    for (int64_t o = 0; o < c->outputs; o++) {
        float d = 0.0f;
        for (int64_t j = 0; j < c->rank; j++) d += r[j] * c->Bt[j * c->outputs + o];
        y[o] += c->scale * d;
    }
}

#if DMS_X86

// Eight values of A from element i, f32 or (half) f16 holding f32 values exactly: the same floats.
DMS_AVX2_INLINE __m256 lr_load8(const void *A, int64_t i, int half) {
    return half ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)A + i)))
                : _mm256_loadu_ps((const float *)A + i);
}

DMS_AVX2_INLINE float lr_at(const void *A, int64_t i, int half) {
    return half ? dms_h2f(((const uint16_t *)A)[i]) : ((const float *)A)[i];
}

// r[j] = A[j] · x for four rows at once (x loaded once for all four).
DMS_AVX2_INLINE void lr_down4(const void *A, int half, int64_t inputs, const float *x, float *r) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= inputs; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        a0 = _mm256_fmadd_ps(lr_load8(A, i, half), v, a0);
        a1 = _mm256_fmadd_ps(lr_load8(A, inputs + i, half), v, a1);
        a2 = _mm256_fmadd_ps(lr_load8(A, 2 * inputs + i, half), v, a2);
        a3 = _mm256_fmadd_ps(lr_load8(A, 3 * inputs + i, half), v, a3);
    }
    r[0] = dms_hsum256(a0);
    r[1] = dms_hsum256(a1);
    r[2] = dms_hsum256(a2);
    r[3] = dms_hsum256(a3);
    for (; i < inputs; i++)
        for (int k = 0; k < 4; k++) r[k] += lr_at(A, k * inputs + i, half) * x[i];
}

DMS_AVX2_INLINE void lr_down1(const void *A, int half, int64_t inputs, const float *x, float *r) {
    __m256 a = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= inputs; i += 8) a = _mm256_fmadd_ps(lr_load8(A, i, half), _mm256_loadu_ps(x + i), a);
    *r = dms_hsum256(a);
    for (; i < inputs; i++) *r += lr_at(A, i, half) * x[i];
}

// A x for `rank` rows of A, in f32 or f16: each row's sum is the same operations either way, and
// whichever rows are computed together.
DMS_AVX2_INLINE void lr_down_rows(const void *A, int half, int64_t rank, int64_t inputs, const float *x, float *r) {
    const size_t row = (size_t)inputs * (half ? 2 : 4);
    int64_t j = 0;
    for (; j + 4 <= rank; j += 4) lr_down4((const char *)A + j * row, half, inputs, x, r + j);
    for (; j < rank; j++) lr_down1((const char *)A + j * row, half, inputs, x, r + j);
}

DMS_AVX2 static void lr_down_avx2(const float *A, int64_t rank, int64_t inputs, const float *x, float *r) {
    lr_down_rows(A, 0, rank, inputs, x, r);
}

DMS_AVX2 static void lr_down_f16_avx2(const uint16_t *A, int64_t rank, int64_t inputs, const float *x, float *r) {
    lr_down_rows(A, 1, rank, inputs, x, r);
}

DMS_AVX2 static void lr_token_avx2(const lr_args *c, const float *x, float *r, float *y) {
    const int64_t rank = c->rank, outputs = c->outputs;
    int64_t j;
    lr_down_avx2(c->A, rank, c->inputs, x, r);
    const __m256 scale = _mm256_set1_ps(c->scale);
    int64_t o = 0;
    for (; o + 32 <= outputs; o += 32) {
        __m256 d0 = _mm256_setzero_ps(), d1 = _mm256_setzero_ps(), d2 = _mm256_setzero_ps(), d3 = _mm256_setzero_ps();
        for (j = 0; j < rank; j++) {
            const __m256 rj = _mm256_set1_ps(r[j]);
            const float *b = c->Bt + j * outputs + o;
            d0 = _mm256_fmadd_ps(rj, _mm256_loadu_ps(b), d0);
            d1 = _mm256_fmadd_ps(rj, _mm256_loadu_ps(b + 8), d1);
            d2 = _mm256_fmadd_ps(rj, _mm256_loadu_ps(b + 16), d2);
            d3 = _mm256_fmadd_ps(rj, _mm256_loadu_ps(b + 24), d3);
        }
        _mm256_storeu_ps(y + o, _mm256_add_ps(_mm256_loadu_ps(y + o), _mm256_mul_ps(scale, d0)));
        _mm256_storeu_ps(y + o + 8, _mm256_add_ps(_mm256_loadu_ps(y + o + 8), _mm256_mul_ps(scale, d1)));
        _mm256_storeu_ps(y + o + 16, _mm256_add_ps(_mm256_loadu_ps(y + o + 16), _mm256_mul_ps(scale, d2)));
        _mm256_storeu_ps(y + o + 24, _mm256_add_ps(_mm256_loadu_ps(y + o + 24), _mm256_mul_ps(scale, d3)));
    }
    for (; o + 8 <= outputs; o += 8) {
        __m256 d = _mm256_setzero_ps();
        for (j = 0; j < rank; j++) d = _mm256_fmadd_ps(_mm256_set1_ps(r[j]), _mm256_loadu_ps(c->Bt + j * outputs + o), d);
        _mm256_storeu_ps(y + o, _mm256_add_ps(_mm256_loadu_ps(y + o), _mm256_mul_ps(scale, d)));
    }
    for (; o < outputs; o++) {
        float d = 0.0f;
        for (j = 0; j < rank; j++) d = __builtin_fmaf(r[j], c->Bt[j * outputs + o], d);
        const float delta = c->scale * d;  // rounded, then added, as the vector lanes do (no fma)
        y[o] += delta;
    }
}

#endif  // DMS_X86

// Task k of ntasks takes a contiguous range of tokens and applies every update to each; a
// token's scratch is reused update after update.
static void lr_task(void *vctx, int task, int ntasks) {
    const lr_ctx *c = (const lr_ctx *)vctx;
    const int64_t t0 = c->n * task / ntasks, t1 = c->n * (task + 1) / ntasks;
#if DMS_X86
    const int vector = dms_use_avx2();
#endif
    for (int64_t t = t0; t < t1; t++) {
        for (int k = 0; k < c->count; k++) {
            const dms_low_rank *u = &c->updates[k];
            const lr_args a = {u->down, u->up_by_rank, u->rank, c->inputs, u->outputs, c->scale};
            const float *x = c->x + t * c->inputs;
            float *r = c->reduced + t * c->stride, *y = u->output + t * u->outputs;
#if DMS_X86
            if (vector) {
                lr_token_avx2(&a, x, r, y);
                continue;
            }
#endif
            lr_token_scalar(&a, x, r, y);
        }
    }
}

void dms_low_rank_down(const float *A, const uint16_t *A16, int64_t rank, int64_t inputs, const float *x, float *r) {
#if DMS_X86
    if (dms_use_avx2()) {
        if (A16)
            lr_down_f16_avx2(A16, rank, inputs, x, r);
        else
            lr_down_avx2(A, rank, inputs, x, r);
        return;
    }
#else
    (void)A16;
#endif
    lr_down_scalar(A, rank, inputs, x, r);
}

void dms_low_rank_group_add(dms_pool *pool, const dms_product *products, int count, const dms_low_rank_group *g,
                            int64_t inputs, const float *x, int64_t n) {
    int64_t first = 0;
    while (first < n) {  // each run of flagged rows in one call
        if (g->rows && !g->rows[first]) {
            first++;
            continue;
        }
        int64_t end = first + 1;
        while (end < n && (!g->rows || g->rows[end])) end++;
        dms_low_rank run[DMS_MATMUL_GROUP_MAX];
        int used = 0;
        for (int k = 0; k < count && k < DMS_MATMUL_GROUP_MAX; k++) {
            if (!g->updates[k].down) continue;
            run[used] = g->updates[k];
            run[used++].output = products[k].output + first * products[k].rows;
        }
        dms_low_rank_accumulate(pool, run, used, inputs, x + first * inputs, end - first, g->scale, g->scratch);
        first = end;
    }
}

void dms_low_rank_accumulate(dms_pool *pool, const dms_low_rank *updates, int count, int64_t inputs,
                             const float *x, int64_t n, float scale, float *scratch) {
    if (n <= 0 || count <= 0) return;
    int64_t stride = 0;  // tokens on different threads must not share scratch, whatever the ranks
    for (int k = 0; k < count; k++)
        if (updates[k].rank > stride) stride = updates[k].rank;
    lr_ctx c = {updates, count, inputs, x, n, scale, scratch, stride};
    const int64_t threads = dms_pool_threads(pool);
    dms_pool_run(pool, lr_task, &c, (int)(n < threads ? n : threads));
}
