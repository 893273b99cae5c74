// dispatch.c — run-time choice of the vector path, and small shared entry points.
#include "dms_internal.h"

#include <stdatomic.h>
#include <stdlib.h>

static atomic_int g_isa = -1;  // -1 unknown, 0 scalar, 1 avx2+fma+f16c

static int detect_isa(void) {
    const char *env = getenv("DMS_KERNELS_ISA");
    if (env && (strcmp(env, "scalar") == 0 || strcmp(env, "SCALAR") == 0)) return 0;
#if DMS_X86 && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
        __builtin_cpu_supports("f16c"))
        return 1;
#endif
    return 0;
}

int dms_use_avx2(void) {
    int v = atomic_load_explicit(&g_isa, memory_order_relaxed);
    if (v < 0) {
        v = detect_isa();
        atomic_store_explicit(&g_isa, v, memory_order_relaxed);
    }
    return v;
}

const char *dms_kernels_isa(void) { return dms_use_avx2() ? "avx2+fma+f16c" : "scalar"; }

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
