// train_rowops.c — distillation loss and row backward passes for retrofit training.
//
// The KL kernel is the hot one (a full vocabulary per position): one exponential per student
// logit and per teacher logit, sums in double so a KL of 1e-4 nats over 50K logits keeps its digits.
#include "dms_internal.h"
#include "dms_train_rowops.h"

// Second pass: grad holds exp(zs - ms); turns it into p_s and then the gradient.
static double kl_finish(const float *zs, const float *zt, int64_t n, float *grad, double ss,
                        double lse_diff) {
    const float inv = (float)(1.0 / ss);
    const float c = (float)(-lse_diff);
    double kl = 0;
    for (int64_t i = 0; i < n; i++) {
        float p = grad[i] * inv;
        kl += (double)p * (double)(zs[i] - zt[i] + c);
    }
    const float klf = (float)kl;
    for (int64_t i = 0; i < n; i++) {
        float p = grad[i] * inv;
        grad[i] = p * (zs[i] - zt[i] + c - klf);
    }
    return kl;
}

#if DMS_X86
DMS_AVX2 static void kl_exp_avx2(const float *zs, const float *zt, int64_t n, float ms, float mt,
                                 float *grad, double *ss, double *st) {
    __m256 vms = _mm256_set1_ps(ms), vmt = _mm256_set1_ps(mt);
    __m256d as = _mm256_setzero_pd(), at = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 es = dms_exp256(_mm256_sub_ps(_mm256_loadu_ps(zs + i), vms));
        __m256 et = dms_exp256(_mm256_sub_ps(_mm256_loadu_ps(zt + i), vmt));
        _mm256_storeu_ps(grad + i, es);
        as = _mm256_add_pd(as, _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(es)),
                                             _mm256_cvtps_pd(_mm256_extractf128_ps(es, 1))));
        at = _mm256_add_pd(at, _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(et)),
                                             _mm256_cvtps_pd(_mm256_extractf128_ps(et, 1))));
    }
    double bs[4], bt[4];
    _mm256_storeu_pd(bs, as);
    _mm256_storeu_pd(bt, at);
    double s = bs[0] + bs[1] + bs[2] + bs[3], t = bt[0] + bt[1] + bt[2] + bt[3];
    for (; i < n; i++) {
        grad[i] = dms_expf(zs[i] - ms);
        s += grad[i];
        t += dms_expf(zt[i] - mt);
    }
    *ss = s;
    *st = t;
}
#endif

// The first pass of both directions: the maxima, grad = exp(zs - ms), both exponential sums, and
// lse(zs) - lse(zt).
static double kl_prepare(const float *zs, const float *zt, int64_t n, float *grad, float *mt_out, double *ss_out,
                         double *st_out) {
    float ms = -INFINITY, mt = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        ms = zs[i] > ms ? zs[i] : ms;
        mt = zt[i] > mt ? zt[i] : mt;
    }
    double ss, st;
#if DMS_X86
    if (dms_use_avx2()) {
        kl_exp_avx2(zs, zt, n, ms, mt, grad, &ss, &st);
    } else
#endif
    {
        ss = 0;
        st = 0;
        for (int64_t i = 0; i < n; i++) {
            grad[i] = dms_expf(zs[i] - ms);
            ss += grad[i];
            st += dms_expf(zt[i] - mt);
        }
    }
    *mt_out = mt;
    *ss_out = ss;
    *st_out = st;
    return (double)ms + log(ss) - ((double)mt + log(st));
}

double dms_kl_divergence(const float *zs, const float *zt, int64_t n, float *grad) {
    if (n <= 0) return 0;
    float mt;
    double ss, st;
    const double lse_diff = kl_prepare(zs, zt, n, grad, &mt, &ss, &st);
    return kl_finish(zs, zt, n, grad, ss, lse_diff);
}

// KL(teacher || student) = sum p_t (z_t - z_s) + lse_s - lse_t; its gradient with respect to the
// student logits is p_s - p_t. grad holds exp(zs - ms) on entry.
static double kl_forward_finish(const float *zs, const float *zt, int64_t n, float mt, float *grad, double ss,
                                double st, double lse_diff) {
    const float inv_s = (float)(1.0 / ss), inv_t = (float)(1.0 / st);
    double kl = lse_diff;
    for (int64_t i = 0; i < n; i++) {
        const float pt = dms_expf(zt[i] - mt) * inv_t;
        kl += (double)pt * (double)(zt[i] - zs[i]);
        grad[i] = grad[i] * inv_s - pt;
    }
    return kl;
}

double dms_kl_divergence_forward(const float *zs, const float *zt, int64_t n, float *grad) {
    if (n <= 0) return 0;
    float mt;
    double ss, st;
    const double lse_diff = kl_prepare(zs, zt, n, grad, &mt, &ss, &st);
    return kl_forward_finish(zs, zt, n, mt, grad, ss, st, lse_diff);
}

void dms_rmsnorm_backward(const float *x, const float *w, const float *dout, int64_t n, float eps,
                          float *dx, float *dw) {
    double ss = 0, dot = 0;
    for (int64_t i = 0; i < n; i++) {
        ss += (double)x[i] * x[i];
        dot += (double)(w ? w[i] : 1.0f) * dout[i] * x[i];
    }
    const double r = 1.0 / sqrt(ss / (double)n + eps);
    const float rf = (float)r, k = (float)(r * r * r * dot / (double)n);
    for (int64_t i = 0; i < n; i++) {
        float wd = (w ? w[i] : 1.0f) * dout[i];
        dx[i] += rf * wd - k * x[i];
        if (dw) dw[i] += dout[i] * x[i] * rf;
    }
}

void dms_swiglu_backward(const float *gate, const float *up, const float *dout, int64_t n,
                         float *dgate, float *dup) {
    for (int64_t i = 0; i < n; i++) {
        const float g = gate[i], d = dout[i];
        const float s = 1.0f / (1.0f + dms_expf(-g));
        dup[i] = d * g * s;
        dgate[i] = d * up[i] * s * (1.0f + g * (1.0f - s));
    }
}
