// dms_kernels.h — the numeric kernels of swift-dms. They know nothing of models: only weight
// encodings, vectors, pages of keys and values, and a worker pool.
//
// Every entry point is plain C99 with a portable scalar path; x86-64 builds add AVX2/FMA/F16C
// variants selected once at run time (per-function target attributes, no global compiler flags).
//
// The attention of whole training sequences (forward and backward, for DMS retrofit training) is
// declared in dms_train_attention.h.
#ifndef DMS_KERNELS_H
#define DMS_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Weight encodings, laid out exactly as GGML stores them (row-major, a row = `cols` elements).
typedef enum {
    DMS_WTYPE_F32 = 0,
    DMS_WTYPE_F16 = 1,
    DMS_WTYPE_BF16 = 2,
    DMS_WTYPE_Q8_0 = 3,  // blocks of 32: f16 d, int8 q[32];            x = d*q
    DMS_WTYPE_Q4_0 = 4,  // blocks of 32: f16 d, uint8 qs[16];           x = d*(nibble-8)
    DMS_WTYPE_Q4_1 = 5,  // blocks of 32: f16 d, f16 m, uint8 qs[16];    x = d*nibble + m
} dms_wtype;
// Q4 nibbles: element j (0..15) is qs[j] & 0x0F, element j+16 is qs[j] >> 4.

/// Bytes one row of `cols` elements occupies (cols must be a multiple of 32 for block types).
size_t dms_row_bytes(dms_wtype type, int64_t cols);

/// Name of the vector path chosen at run time ("avx512vnni+avx2+fma+f16c", "avx2+fma+f16c" or
/// "scalar"; the environment variable DMS_KERNELS_ISA=avx2 or =scalar caps it).
const char *dms_kernels_isa(void);

// ---------------------------------------------------------------------------------------------
// Worker pool: persistent threads that spin briefly then sleep; `run` blocks until all tasks end.
typedef struct dms_pool dms_pool;
typedef void (*dms_task_fn)(void *ctx, int task, int ntasks);
dms_pool *dms_pool_create(int nthreads);     // nthreads includes the caller's thread
void dms_pool_destroy(dms_pool *pool);
int dms_pool_threads(const dms_pool *pool);
/// Runs fn(ctx, i, ntasks) for i in 0..<ntasks over the pool's threads (caller participates).
void dms_pool_run(dms_pool *pool, dms_task_fn fn, void *ctx, int ntasks);

// ---------------------------------------------------------------------------------------------
// Linear algebra. W is [rows][cols] in `type`; x is [n][cols] f32; y is [n][rows] f32.
// y[t][r] = sum_c W[r][c] * x[t][c]. Splits the work over the pool (pool may be NULL = 1 thread).
// Results are independent of the thread count.
void dms_matmul(dms_pool *pool, dms_wtype type, const void *W, int64_t rows, int64_t cols,
                const float *x, int64_t n, float *y);

/// Like dms_matmul, but a token's row of y is the same bits whatever n and the other tokens of x:
/// dms_matmul's single-token path, token by token. For the small products applied per sequence
/// of a batch (eviction-decision logits), so a sequence's results do not depend on
/// what runs beside it.
void dms_matmul_per_token(dms_pool *pool, dms_wtype type, const void *W, int64_t rows, int64_t cols,
                          const float *x, int64_t n, float *y);

/// One LoRA update of dms_low_rank_accumulate.
typedef struct {
    const float *down, *up_by_rank;
    int64_t rank, outputs;
    float *output;
    /// The same two matrices in f16 holding exactly their values (an adapter stored in f16), or
    /// NULL: the 8-bit products' fused updates then read these, half the bytes, with the same
    /// results. dms_low_rank_accumulate reads only the f32 ones.
    const uint16_t *down_f16, *up_by_rank_f16;
} dms_low_rank;

/// LoRA updates of one input: y_k[t][o] += scale * sum_j B_k[o][j] * (A_k x[t])[j] for t < n, with
/// A [rank][inputs] and B given transposed, Bt = [rank][outputs]; x is [n][inputs], each output is
/// [n][outputs]. All `count` updates run in one pool run (the pool splits the tokens); `scratch`
/// holds n * (the largest rank) floats. A token's rows are the same bits whatever n, the other
/// tokens, the other updates of the group and the thread count.
void dms_low_rank_accumulate(dms_pool *pool, const dms_low_rank *updates, int count, int64_t inputs,
                             const float *x, int64_t n, float scale, float *scratch);

/// Like dms_matmul, but where the CPU has 8-bit dot products (AVX-512 VNNI) and W is Q8_0, Q4_0
/// or Q4_1, x is quantized to 8 bits per token and block of 32 columns (Q8_0's scheme, as
/// llama.cpp quantizes activations) and multiplied in integers: several times faster for small
/// batches and prefill, with that quantization's error: |y - exact| <= sum over blocks of
/// (d/2) * sum_c |W[r][c]|, d = max|x_block| / 127. A token's results are then independent of
/// the other tokens in x and of n. Every other case is exactly dms_matmul.
/// Results are independent of the thread count.
void dms_matmul_int8(dms_pool *pool, dms_wtype type, const void *W, int64_t rows, int64_t cols,
                     const float *x, int64_t n, float *y);

/// One product y = W x of a group sharing the input x: W is [rows][cols] in `type`, y is [n][rows].
/// `repacked` is NULL or W as dms_int8_repack wrote it, which the 8-bit path then reads instead.
typedef struct {
    dms_wtype type;
    const void *weights;
    const void *repacked;
    int64_t rows;
    float *output;
} dms_product;

/// Bytes of W's copy in the layout the 8-bit product reads fastest (its row blocks' scales and
/// transposed quantized bytes in one stream), or 0 where that path does not apply to W.
size_t dms_int8_repacked_bytes(dms_wtype type, int64_t rows, int64_t cols);
/// Writes that copy of W to `out` (dms_int8_repacked_bytes of it); returns 0, writing nothing,
/// where it does not apply. Products with it give the same bits as with W.
int dms_int8_repack(dms_wtype type, const void *W, int64_t rows, int64_t cols, void *out);

/// The most products dms_matmul_group takes.
#define DMS_MATMUL_GROUP_MAX 3

/// LoRA updates added to the products of a group (dms_matmul_group, dms_matmul_swiglu):
/// product k's output[t] += scale * B_k (A_k x[t]) where updates[k].down is not NULL, for the
/// tokens t with rows[t] != 0 (every token when rows is NULL). updates[k].outputs must be the
/// product's rows; updates[k].output is ignored (the product's output is used). `scratch` holds
/// n * (the sum of the ranks) floats.
typedef struct {
    const dms_low_rank *updates;  // one per product
    float scale;
    const uint8_t *rows;
    float *scratch;
} dms_low_rank_group;

/// The products of `count` (at most DMS_MATMUL_GROUP_MAX) matrices with the same x: each output
/// is exactly what dms_matmul_int8 (int8_activations != 0) or dms_matmul gives, but x is
/// quantized once and all products share one pool run. With `low_rank` (may be NULL), the LoRA
/// updates are added: on the 8-bit path by the tasks that compute the product rows, before they
/// store them (no second pass over the outputs, which the other core may have written);
/// otherwise afterwards, exactly as dms_low_rank_accumulate adds them. Either way a token's
/// results do not depend on the other tokens, n or the thread count.
void dms_matmul_group(dms_pool *pool, const dms_product *products, int count, int64_t cols,
                      const float *x, int64_t n, int int8_activations, const dms_low_rank_group *low_rank);

/// gate.output = silu(W_gate x) * (W_up x), and up.output = W_up x (gate.rows == up.rows): the
/// products as dms_matmul_group computes them (with `low_rank`'s two updates, gate's then up's,
/// added before the SwiGLU), with the SwiGLU applied by the tasks that compute them (on 8-bit
/// activations) rather than afterwards on one thread.
void dms_matmul_swiglu(dms_pool *pool, dms_product gate, dms_product up, int64_t cols, const float *x,
                       int64_t n, int int8_activations, const dms_low_rank_group *low_rank);

/// Dequantizes one row (cols elements) to f32.
void dms_dequantize_row(dms_wtype type, const void *src, float *dst, int64_t cols);

/// f16/bf16 <-> f32 conversions of n elements.
void dms_f16_to_f32(const uint16_t *src, float *dst, int64_t n);
void dms_f32_to_f16(const float *src, uint16_t *dst, int64_t n);
void dms_bf16_to_f32(const uint16_t *src, float *dst, int64_t n);
void dms_f32_to_bf16(const float *src, uint16_t *dst, int64_t n);

// ---------------------------------------------------------------------------------------------
// Elementwise and row kernels (single-threaded; callers parallelise across rows if needed).
/// out[i] = x[i] / sqrt(mean(x^2) + eps) * w[i]   (w may be NULL = ones). out may alias x.
void dms_rmsnorm(const float *x, const float *w, float *out, int64_t n, float eps);
/// out[i] = silu(gate[i]) * up[i]. out may alias gate.
void dms_swiglu(const float *gate, const float *up, float *out, int64_t n);
/// y[i] += x[i]
void dms_add(float *y, const float *x, int64_t n);
/// The first index of the largest of n values (NaNs never win; 0 when x[0] is NaN or n is 0).
int64_t dms_argmax(const float *x, int64_t n);
/// In-place softmax over n values; returns nothing. Stable (subtracts max).
void dms_softmax(float *x, int64_t n);

/// Rotary embedding of one head vector of `dim` values in place, at position `pos`, with
/// inv_freq[i] (dim/2 values). interleaved=1 rotates pairs (2i, 2i+1) (GGUF Llama layout);
/// interleaved=0 rotates pairs (i, i+dim/2) (Hugging Face / NEOX layout).
void dms_rope(float *x, int64_t dim, int64_t pos, const float *inv_freq, int interleaved);

// ---------------------------------------------------------------------------------------------
// Attention of G query heads that share one KV head, over keys/values held in pages.
// Page p holds `page_size` slots; slot s of a page is at kpages[p] + s*head_dim elements.
// kv_type is DMS_WTYPE_F32, DMS_WTYPE_F16 or DMS_WTYPE_BF16.
// The visible slots are 0..<n_slots (page-major) except those with mask[s] == 0 when mask != NULL.
// q: [G][head_dim] f32; out: [G][head_dim] f32; scale multiplies q·k. With no visible slot at
// all, out is zero.
// Keys and values are each read once for all G heads. Single-threaded: parallelise over KV heads,
// or split long contexts with dms_attention_partial + dms_attention_merge.
void dms_attention(dms_wtype kv_type, const void *const *kpages, const void *const *vpages,
                   int64_t page_size, int64_t n_slots, const uint8_t *mask, int64_t head_dim,
                   const float *q, int64_t G, float scale, float *out);

/// Partial attention over slots [slot_begin, slot_end) for split-K (flash-decoding): writes the
/// unnormalised output acc[G][head_dim], the running max m[G] and sum l[G]; merge partials with
/// dms_attention_merge. A chunk with no visible slot yields m = -INFINITY, l = 0, acc = 0.
/// `mask` (if not NULL) is indexed by absolute slot number, as in dms_attention.
void dms_attention_partial(dms_wtype kv_type, const void *const *kpages, const void *const *vpages,
                           int64_t page_size, int64_t slot_begin, int64_t slot_end,
                           const uint8_t *mask, int64_t head_dim, const float *q, int64_t G,
                           float scale, float *acc, float *m, float *l);
/// Merges `parts` partials (acc: [parts][G][head_dim], m,l: [parts][G]) into out [G][head_dim].
void dms_attention_merge(int64_t parts, int64_t G, int64_t head_dim, const float *acc,
                         const float *m, const float *l, float *out);

/// Softmax attention probabilities of the G queries over slots 0..<n_slots (mask as above),
/// averaged over the G heads, into weights[n_slots] (0 for masked slots). scores is scratch of
/// n_slots floats. head_dim at most 512. For eviction policies that rank tokens by attention.
void dms_attention_weights(dms_wtype kv_type, const void *const *kpages, int64_t page_size,
                           int64_t n_slots, const uint8_t *mask, int64_t head_dim, const float *q,
                           int64_t G, float scale, float *weights, float *scores);

#ifdef __cplusplus
}
#endif
#endif
