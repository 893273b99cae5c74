// dms_train_attention.h — causal attention over a whole training sequence, dense, with a soft
// per-key eviction bias: the forward and backward passes used to retrofit DMS into a model.
//
// One layer, one sequence of T tokens. Layouts are token-major like the model's buffers:
//   q, out, dout, dq: [T][Hq][d]    k, v, dk, dv: [T][Hkv][d]    key_bias, dkey_bias: [Hkv][T]
//   lse: [Hq][T]
// Query head h uses KV head g = h / G with G = Hq / Hkv (Hq must be a multiple of Hkv).
//
//   score(h,i,j) = scale * q[i,h]·k[j,g] + (i - j > window ? key_bias[g][j] : 0)   for j <= i
//   P = softmax over j of score (keys j > i are masked);  out[i,h] = Σ_j P[h,i,j] v[j,g]
//   lse[h][i] = log Σ_j exp(score(h,i,j))
//
// key_bias holds log(1 - p_evict) values: <= 0, finite, possibly very negative (-50000); NULL
// means no bias. window >= 0.
//
// Both passes split their work over `pool` (NULL = the calling thread only) into a fixed set of
// tasks and give the same bits for every thread count. Every output is overwritten, never
// accumulated into. Pointers need only float alignment. d must be at least 1; the AVX2 path is
// used when d is a multiple of 16 (the portable path otherwise).
#ifndef DMS_TRAIN_ATTENTION_H
#define DMS_TRAIN_ATTENTION_H

#include <stddef.h>
#include <stdint.h>

#include "dms_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Forward pass: writes out [T][Hq][d] and lse [Hq][T] (needed by the backward pass).
void dms_train_attention_forward(dms_pool *pool, int64_t T, int64_t Hq, int64_t Hkv, int64_t d,
                                 const float *q, const float *k, const float *v,
                                 const float *key_bias, int64_t window, float scale, float *out,
                                 float *lse);

/// Floats of scratch memory dms_train_attention_backward needs. It does not depend on the
/// thread count: the backward pass splits its work the same way for every pool.
size_t dms_train_attention_backward_scratch(int64_t T, int64_t Hq, int64_t Hkv, int64_t d);

/// Backward pass given dout [T][Hq][d] and the forward's out and lse. With
/// D[h,i] = dout[i,h]·out[i,h] and dS = P ⊙ (dout·v − D):
///   dq[i,h] = scale Σ_j dS[h,i,j] k[j,g]          dk[j,g] = scale Σ_{h in g} Σ_i dS[h,i,j] q[i,h]
///   dv[j,g] = Σ_{h in g} Σ_i P[h,i,j] dout[i,h]   dkey_bias[g][j] = Σ_{h in g} Σ_{i-j>window} dS[h,i,j]
/// dkey_bias may be NULL (not computed); it is computed the same way whether key_bias is NULL
/// (a zero bias) or not. scratch holds dms_train_attention_backward_scratch(...) floats.
void dms_train_attention_backward(dms_pool *pool, int64_t T, int64_t Hq, int64_t Hkv, int64_t d,
                                  const float *q, const float *k, const float *v,
                                  const float *key_bias, int64_t window, float scale,
                                  const float *out, const float *lse, const float *dout,
                                  float *dq, float *dk, float *dv, float *dkey_bias,
                                  float *scratch);

#ifdef __cplusplus
}
#endif
#endif
