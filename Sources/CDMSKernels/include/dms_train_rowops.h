// dms_train_rowops.h — the row kernels of retrofit training: the distillation loss and the
// backward passes of the inference row kernels (rmsnorm, swiglu). Single-threaded; callers
// parallelise over rows.
#ifndef DMS_TRAIN_ROWOPS_H
#define DMS_TRAIN_ROWOPS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// KL(softmax(student) || softmax(teacher)) over n logits, returned in double precision, and its
/// gradient with respect to the student logits, p_s * (log p_s - log p_t - KL), written to grad
/// (grad must not alias student or teacher).
double dms_kl_divergence(const float *student, const float *teacher, int64_t n, float *grad);

/// KL(softmax(teacher) || softmax(student)) over n logits, the other direction, and its gradient
/// with respect to the student logits, p_s - p_t, written to grad (which must not alias either).
double dms_kl_divergence_forward(const float *student, const float *teacher, int64_t n, float *grad);

/// Backward of out = x / rms(x) * w (w may be NULL = ones) for one row of n values:
/// dx += the gradient with respect to x given dout; dw (if not NULL) += dout * x / rms(x).
void dms_rmsnorm_backward(const float *x, const float *w, const float *dout, int64_t n, float eps,
                          float *dx, float *dw);

/// Backward of out = silu(gate) * up: dgate = dout * up * silu'(gate), dup = dout * silu(gate)
/// (both overwritten; dgate may alias dout).
void dms_swiglu_backward(const float *gate, const float *up, const float *dout, int64_t n,
                         float *dgate, float *dup);

#ifdef __cplusplus
}
#endif
#endif
