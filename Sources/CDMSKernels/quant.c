// quant.c — f16/bf16 conversions and row dequantization.
#include "dms_internal.h"

// ---- scalar ------------------------------------------------------------------------------

static void dequant_range_scalar(dms_wtype type, const void *row, int64_t c0, int64_t nc,
                                 float *dst) {
    switch (type) {
    case DMS_WTYPE_F32: memcpy(dst, (const float *)row + c0, (size_t)nc * 4); return;
    case DMS_WTYPE_F16: {
        const uint16_t *s = (const uint16_t *)row + c0;
        for (int64_t i = 0; i < nc; i++) dst[i] = dms_h2f(s[i]);
        return;
    }
    case DMS_WTYPE_BF16: {
        const uint16_t *s = (const uint16_t *)row + c0;
        for (int64_t i = 0; i < nc; i++) dst[i] = dms_bf2f(s[i]);
        return;
    }
    case DMS_WTYPE_Q8_0: {
        const dms_block_q8_0 *b = (const dms_block_q8_0 *)row + c0 / 32;
        for (int64_t k = 0; k < nc / 32; k++) {
            float d = dms_h2f(b[k].d);
            for (int j = 0; j < 32; j++) dst[k * 32 + j] = d * (float)b[k].qs[j];
        }
        return;
    }
    case DMS_WTYPE_Q4_0: {
        const dms_block_q4_0 *b = (const dms_block_q4_0 *)row + c0 / 32;
        for (int64_t k = 0; k < nc / 32; k++) {
            float d = dms_h2f(b[k].d);
            for (int j = 0; j < 16; j++) {
                dst[k * 32 + j] = d * (float)((int)(b[k].qs[j] & 0x0f) - 8);
                dst[k * 32 + j + 16] = d * (float)((int)(b[k].qs[j] >> 4) - 8);
            }
        }
        return;
    }
    case DMS_WTYPE_Q4_1: {
        const dms_block_q4_1 *b = (const dms_block_q4_1 *)row + c0 / 32;
        for (int64_t k = 0; k < nc / 32; k++) {
            float d = dms_h2f(b[k].d), m = dms_h2f(b[k].m);
            for (int j = 0; j < 16; j++) {
                dst[k * 32 + j] = d * (float)(b[k].qs[j] & 0x0f) + m;
                dst[k * 32 + j + 16] = d * (float)(b[k].qs[j] >> 4) + m;
            }
        }
        return;
    }
    }
}

// ---- AVX2 --------------------------------------------------------------------------------
#if DMS_X86

DMS_AVX2 static void dequant_range_avx2(dms_wtype type, const void *row, int64_t c0, int64_t nc,
                                        float *dst) {
    switch (type) {
    case DMS_WTYPE_F32: memcpy(dst, (const float *)row + c0, (size_t)nc * 4); return;
    case DMS_WTYPE_F16: {
        const uint16_t *s = (const uint16_t *)row + c0;
        int64_t i = 0;
        for (; i + 8 <= nc; i += 8) _mm256_storeu_ps(dst + i, dms_load_h8(s + i));
        for (; i < nc; i++) dst[i] = dms_h2f(s[i]);
        return;
    }
    case DMS_WTYPE_BF16: {
        const uint16_t *s = (const uint16_t *)row + c0;
        int64_t i = 0;
        for (; i + 8 <= nc; i += 8) _mm256_storeu_ps(dst + i, dms_load_bf8(s + i));
        for (; i < nc; i++) dst[i] = dms_bf2f(s[i]);
        return;
    }
    case DMS_WTYPE_Q8_0: {
        const dms_block_q8_0 *b = (const dms_block_q8_0 *)row + c0 / 32;
        for (int64_t k = 0; k < nc / 32; k++) {
            __m256 d = _mm256_set1_ps(dms_h2f(b[k].d));
            for (int j = 0; j < 4; j++) {
                __m256i q = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(b[k].qs + 8 * j)));
                _mm256_storeu_ps(dst + k * 32 + 8 * j, _mm256_mul_ps(d, _mm256_cvtepi32_ps(q)));
            }
        }
        return;
    }
    case DMS_WTYPE_Q4_0:
    case DMS_WTYPE_Q4_1: {
        const int is1 = type == DMS_WTYPE_Q4_1;
        const size_t bsz = is1 ? 20 : 18;
        const uint8_t *base = (const uint8_t *)row + (size_t)(c0 / 32) * bsz;
        const __m256i m4 = _mm256_set1_epi32(0x0f);
        const __m256i eight = _mm256_set1_epi32(is1 ? 0 : 8);
        for (int64_t k = 0; k < nc / 32; k++) {
            const uint8_t *blk = base + (size_t)k * bsz;
            uint16_t dh, mh = 0;
            memcpy(&dh, blk, 2);
            if (is1) memcpy(&mh, blk + 2, 2);
            const uint8_t *qs = blk + (is1 ? 4 : 2);
            __m256 d = _mm256_set1_ps(dms_h2f(dh));
            __m256 m = _mm256_set1_ps(is1 ? dms_h2f(mh) : 0.0f);
            for (int j = 0; j < 2; j++) {
                __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(qs + 8 * j)));
                __m256i lo = _mm256_sub_epi32(_mm256_and_si256(v, m4), eight);
                __m256i hi = _mm256_sub_epi32(_mm256_srli_epi32(v, 4), eight);
                __m256 flo = _mm256_mul_ps(d, _mm256_cvtepi32_ps(lo));
                __m256 fhi = _mm256_mul_ps(d, _mm256_cvtepi32_ps(hi));
                if (is1) {
                    flo = _mm256_add_ps(flo, m);
                    fhi = _mm256_add_ps(fhi, m);
                }
                _mm256_storeu_ps(dst + k * 32 + 8 * j, flo);
                _mm256_storeu_ps(dst + k * 32 + 16 + 8 * j, fhi);
            }
        }
        return;
    }
    }
}

DMS_AVX2 static void f32_to_f16_avx2(const float *src, uint16_t *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) dst[i] = dms_f2h(src[i]);
}

DMS_AVX2 static void f16_to_f32_avx2(const uint16_t *src, float *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, dms_load_h8(src + i));
    for (; i < n; i++) dst[i] = dms_h2f(src[i]);
}

DMS_AVX2 static void bf16_to_f32_avx2(const uint16_t *src, float *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, dms_load_bf8(src + i));
    for (; i < n; i++) dst[i] = dms_bf2f(src[i]);
}

DMS_AVX2 static void f32_to_bf16_avx2(const float *src, uint16_t *dst, int64_t n) {
    int64_t i = 0;
    const __m256i absmask = _mm256_set1_epi32(0x7fffffff);
    const __m256i inf = _mm256_set1_epi32(0x7f800000);
    const __m256i one = _mm256_set1_epi32(1);
    const __m256i bias = _mm256_set1_epi32(0x7fff);
    const __m256i qbit = _mm256_set1_epi32(0x40);
    for (; i + 8 <= n; i += 8) {
        __m256i u = _mm256_castps_si256(_mm256_loadu_ps(src + i));
        __m256i isnan = _mm256_cmpgt_epi32(_mm256_and_si256(u, absmask), inf);
        __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), one);
        __m256i r = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(u, bias), lsb), 16);
        __m256i nanr = _mm256_or_si256(_mm256_srli_epi32(u, 16), qbit);
        r = _mm256_blendv_epi8(r, nanr, isnan);
        __m256i packed = _mm256_packus_epi32(r, r);  // per 128-bit lane: r0..3 r0..3 | r4..7 r4..7
        packed = _mm256_permute4x64_epi64(packed, 0x08);
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_castsi256_si128(packed));
    }
    for (; i < n; i++) dst[i] = dms_f2bf(src[i]);
}

#endif  // DMS_X86

// ---- entry points ------------------------------------------------------------------------

void dms_dequant_range(dms_wtype type, const void *row, int64_t c0, int64_t nc, float *dst) {
#if DMS_X86
    if (dms_use_avx2()) {
        dequant_range_avx2(type, row, c0, nc, dst);
        return;
    }
#endif
    dequant_range_scalar(type, row, c0, nc, dst);
}

void dms_dequantize_row(dms_wtype type, const void *src, float *dst, int64_t cols) {
    dms_dequant_range(type, src, 0, cols, dst);
}

void dms_f16_to_f32(const uint16_t *src, float *dst, int64_t n) {
#if DMS_X86
    if (dms_use_avx2()) { f16_to_f32_avx2(src, dst, n); return; }
#endif
    for (int64_t i = 0; i < n; i++) dst[i] = dms_h2f(src[i]);
}

void dms_f32_to_f16(const float *src, uint16_t *dst, int64_t n) {
#if DMS_X86
    if (dms_use_avx2()) { f32_to_f16_avx2(src, dst, n); return; }
#endif
    for (int64_t i = 0; i < n; i++) dst[i] = dms_f2h(src[i]);
}

void dms_bf16_to_f32(const uint16_t *src, float *dst, int64_t n) {
#if DMS_X86
    if (dms_use_avx2()) { bf16_to_f32_avx2(src, dst, n); return; }
#endif
    for (int64_t i = 0; i < n; i++) dst[i] = dms_bf2f(src[i]);
}

void dms_f32_to_bf16(const float *src, uint16_t *dst, int64_t n) {
#if DMS_X86
    if (dms_use_avx2()) { f32_to_bf16_avx2(src, dst, n); return; }
#endif
    for (int64_t i = 0; i < n; i++) dst[i] = dms_f2bf(src[i]);
}
