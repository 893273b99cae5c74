// dispatch.c — run-time choice of the vector path, and small shared entry points.
#include "dms_internal.h"

#include <stdatomic.h>
#include <stdlib.h>

// -1 unknown, 0 scalar, 1 avx2+fma+f16c, 2 the same plus AVX-512 VNNI (8-bit dot products)
static atomic_int g_isa = -1;

static int detect_isa(void) {
    const char *env = getenv("DMS_KERNELS_ISA");
    int cap = 2;
    if (env && (strcmp(env, "scalar") == 0 || strcmp(env, "SCALAR") == 0)) cap = 0;
    if (env && (strcmp(env, "avx2") == 0 || strcmp(env, "AVX2") == 0)) cap = 1;
    int level = 0;
#if DMS_X86 && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
        __builtin_cpu_supports("f16c")) {
        level = 1;
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vnni")) level = 2;
    }
#endif
    return level < cap ? level : cap;
}

static int isa_level(void) {
    int v = atomic_load_explicit(&g_isa, memory_order_relaxed);
    if (v < 0) {
        v = detect_isa();
        atomic_store_explicit(&g_isa, v, memory_order_relaxed);
    }
    return v;
}

int dms_use_avx2(void) { return isa_level() >= 1; }
int dms_use_avx512vnni(void) { return isa_level() >= 2; }

const char *dms_kernels_isa(void) {
    switch (isa_level()) {
    case 2: return "avx512vnni+avx2+fma+f16c";
    case 1: return "avx2+fma+f16c";
    default: return "scalar";
    }
}

size_t dms_row_bytes(dms_wtype type, int64_t cols) {
    switch (type) {
    case DMS_WTYPE_F32: return (size_t)cols * 4;
    case DMS_WTYPE_F16:
    case DMS_WTYPE_BF16: return (size_t)cols * 2;
    case DMS_WTYPE_Q8_0: return (size_t)(cols / 32) * 34;
    case DMS_WTYPE_Q4_0: return (size_t)(cols / 32) * 18;
    case DMS_WTYPE_Q4_1: return (size_t)(cols / 32) * 20;
    }
    return 0;
}
