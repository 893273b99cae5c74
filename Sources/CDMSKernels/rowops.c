// rowops.c — rmsnorm, swiglu, add, softmax, rope.
#include "dms_internal.h"

// =============================================================================================
// Scalar
// =============================================================================================

static void rmsnorm_scalar(const float *x, const float *w, float *out, int64_t n, float eps) {
    float ss = dms_dot8(x, x, n);
    float r = 1.0f / dms_sqrtf(ss / (float)n + eps);
    for (int64_t i = 0; i < n; i++) out[i] = w ? (x[i] * r) * w[i] : x[i] * r;
}

static void swiglu_scalar(const float *g, const float *u, float *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float s = g[i] / (1.0f + dms_expf(-g[i]));
        out[i] = s * u[i];
    }
}

static void softmax_scalar(float *x, int64_t n) {
    float m = -INFINITY;
    for (int64_t i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        x[i] = dms_expf(x[i] - m);
        s += x[i];
    }
    float inv = 1.0f / s;
    for (int64_t i = 0; i < n; i++) x[i] *= inv;
}

// =============================================================================================
// AVX2
// =============================================================================================
#if DMS_X86

DMS_AVX2 static void rmsnorm_avx2(const float *x, const float *w, float *out, int64_t n, float eps) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 v0 = _mm256_loadu_ps(x + i), v1 = _mm256_loadu_ps(x + i + 8);
        a0 = _mm256_fmadd_ps(v0, v0, a0);
        a1 = _mm256_fmadd_ps(v1, v1, a1);
    }
    for (; i + 8 <= n; i += 8) {
        __m256 v0 = _mm256_loadu_ps(x + i);
        a0 = _mm256_fmadd_ps(v0, v0, a0);
    }
    float ss = dms_hsum256(_mm256_add_ps(a0, a1));
    for (; i < n; i++) ss += x[i] * x[i];
    float r = 1.0f / dms_sqrtf(ss / (float)n + eps);
    __m256 vr = _mm256_set1_ps(r);
    for (i = 0; i + 8 <= n; i += 8) {
        __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), vr);
        if (w) v = _mm256_mul_ps(v, _mm256_loadu_ps(w + i));
        _mm256_storeu_ps(out + i, v);
    }
    for (; i < n; i++) out[i] = w ? (x[i] * r) * w[i] : x[i] * r;
}

DMS_AVX2 static void swiglu_avx2(const float *g, const float *u, float *out, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, dms_swiglu256(_mm256_loadu_ps(g + i), _mm256_loadu_ps(u + i)));
    if (i < n) {
        float gb[8] = {0}, ub[8] = {0}, ob[8];
        memcpy(gb, g + i, (size_t)(n - i) * 4);
        memcpy(ub, u + i, (size_t)(n - i) * 4);
        _mm256_storeu_ps(ob, dms_swiglu256(_mm256_loadu_ps(gb), _mm256_loadu_ps(ub)));
        memcpy(out + i, ob, (size_t)(n - i) * 4);
    }
}

DMS_AVX2 static void add_avx2(float *y, const float *x, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_loadu_ps(x + i)));
    for (; i < n; i++) y[i] += x[i];
}

DMS_AVX2 static void softmax_avx2(float *x, int64_t n) {
    if (n <= 0) return;
    __m256 vm = _mm256_set1_ps(-INFINITY);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) vm = _mm256_max_ps(vm, _mm256_loadu_ps(x + i));
    float m = dms_hmax256(vm);
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    vm = _mm256_set1_ps(m);
    __m256 vs = _mm256_setzero_ps();
    for (i = 0; i + 8 <= n; i += 8) {
        __m256 e = dms_exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
        _mm256_storeu_ps(x + i, e);
        vs = _mm256_add_ps(vs, e);
    }
    float s = dms_hsum256(vs);
    if (i < n) {
        float b[8];
        for (int j = 0; j < 8; j++) b[j] = -INFINITY;
        memcpy(b, x + i, (size_t)(n - i) * 4);
        _mm256_storeu_ps(b, dms_exp256(_mm256_sub_ps(_mm256_loadu_ps(b), vm)));
        for (int64_t j = 0; j < n - i; j++) {
            x[i + j] = b[j];
            s += b[j];
        }
    }
    __m256 vinv = _mm256_set1_ps(1.0f / s);
    float inv = 1.0f / s;
    for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vinv));
    for (; i < n; i++) x[i] *= inv;
}

// The first index holding the largest value: a max pass (NaNs skipped: max_ps returns its second
// operand, the running maximum, when the first is NaN) and a pass for its first position.
DMS_AVX2 static int64_t argmax_avx2(const float *x, int64_t n) {
    __m256 vm = _mm256_set1_ps(x[0]);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) vm = _mm256_max_ps(_mm256_loadu_ps(x + i), vm);
    float m = dms_hmax256(vm);
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    const __m256 target = _mm256_set1_ps(m);
    for (i = 0; i + 8 <= n; i += 8) {
        int hits = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + i), target, _CMP_EQ_OQ));
        if (hits) return i + __builtin_ctz((unsigned)hits);
    }
    for (; i < n; i++)
        if (x[i] == m) return i;
    return 0;
}

#endif  // DMS_X86

// =============================================================================================
// Entry points
// =============================================================================================

void dms_rmsnorm(const float *x, const float *w, float *out, int64_t n, float eps) {
    if (n <= 0) return;
#if DMS_X86
    if (dms_use_avx2()) { rmsnorm_avx2(x, w, out, n, eps); return; }
#endif
    rmsnorm_scalar(x, w, out, n, eps);
}

void dms_swiglu(const float *gate, const float *up, float *out, int64_t n) {
#if DMS_X86
    if (dms_use_avx2()) { swiglu_avx2(gate, up, out, n); return; }
#endif
    swiglu_scalar(gate, up, out, n);
}

void dms_add(float *y, const float *x, int64_t n) {
#if DMS_X86
    if (dms_use_avx2()) { add_avx2(y, x, n); return; }
#endif
    for (int64_t i = 0; i < n; i++) y[i] += x[i];
}

int64_t dms_argmax(const float *x, int64_t n) {
    if (n <= 0 || x[0] != x[0]) return 0;  // a NaN first value is never beaten
#if DMS_X86
    if (dms_use_avx2()) return argmax_avx2(x, n);
#endif
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

void dms_softmax(float *x, int64_t n) {
#if DMS_X86
    if (dms_use_avx2()) { softmax_avx2(x, n); return; }
#endif
    softmax_scalar(x, n);
}

// RoPE. cos/sin of (float)pos * inv_freq[i] in f32 (as Hugging Face computes them), cached per
// thread for the last (inv_freq contents, dim, pos) so the heads of one token share them.
#define ROPE_CACHE_MAX 512
typedef struct {
    int64_t pos, half;
    const float *inv_ptr;
    float inv[ROPE_CACHE_MAX];
    float cs[ROPE_CACHE_MAX], sn[ROPE_CACHE_MAX];
} rope_cache;
static _Thread_local rope_cache tls_rope = {.pos = -1, .half = -1, .inv_ptr = NULL};

void dms_rope(float *x, int64_t dim, int64_t pos, const float *inv_freq, int interleaved) {
    const int64_t half = dim / 2;
    float cbuf[64], sbuf[64];
    const float *cs, *sn;
    if (half <= ROPE_CACHE_MAX) {
        rope_cache *rc = &tls_rope;
        if (!(rc->pos == pos && rc->half == half && rc->inv_ptr == inv_freq &&
              memcmp(rc->inv, inv_freq, (size_t)half * sizeof(float)) == 0)) {
            for (int64_t i = 0; i < half; i++) {
                float a = (float)pos * inv_freq[i];
                dms_sincosf(a, &rc->sn[i], &rc->cs[i]);
                rc->inv[i] = inv_freq[i];
            }
            rc->pos = pos;
            rc->half = half;
            rc->inv_ptr = inv_freq;
        }
        cs = rc->cs;
        sn = rc->sn;
    } else {
        cs = NULL;
        sn = NULL;
    }
    for (int64_t i0 = 0; i0 < half; i0 += 64) {
        int64_t nb = half - i0 < 64 ? half - i0 : 64;
        const float *c = cs ? cs + i0 : cbuf, *s = sn ? sn + i0 : sbuf;
        if (!cs) {
            for (int64_t i = 0; i < nb; i++) {
                float a = (float)pos * inv_freq[i0 + i];
                dms_sincosf(a, &sbuf[i], &cbuf[i]);
            }
        }
        // q*cos + rotate(q)*sin, products rounded separately as PyTorch does.
        if (interleaved) {
            for (int64_t i = 0; i < nb; i++) {
                float *p = x + 2 * (i0 + i);
                float x0 = p[0], x1 = p[1];
                float a = x0 * c[i], b = x1 * s[i];
                float e = x1 * c[i], f = x0 * s[i];
                p[0] = a - b;
                p[1] = e + f;
            }
        } else {
            for (int64_t i = 0; i < nb; i++) {
                float *p = x + i0 + i;
                float x0 = p[0], x1 = p[half];
                float a = x0 * c[i], b = x1 * s[i];
                float e = x1 * c[i], f = x0 * s[i];
                p[0] = a - b;
                p[half] = e + f;
            }
        }
    }
}
