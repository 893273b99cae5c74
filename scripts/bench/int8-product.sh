#!/usr/bin/env bash
# Times the 8-bit-activation product (dms_matmul_int8) alone on random Q4_1 weights: the best of
# 30 repetitions (each the mean of 5 calls) of ROWS x COLS weights times TOKENS tokens on THREADS
# threads, in ns per 16 rows x 32 columns x token. With RANK > 0 it then times a LoRA update of
# that rank on the same product (the weights repacked, as the decoder runs them), three ways in
# turn, the best of 100 rounds each: the product alone, the product then dms_low_rank_accumulate
# (a second pass over the outputs), and the update added by the product's own tasks. Builds the C
# kernels with clang into a temporary directory; nothing of the package is touched.
#
#   scripts/bench/int8-product.sh [TOKENS [THREADS [COLS [ROWS [RANK]]]]]   (defaults: 16 1 576 18432 0)
set -euo pipefail
cd "$(dirname "$0")/../.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat > "$work/bench.c" <<'C'
#include "dms_kernels.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main(int argc, char **argv) {
    const int n = atoi(argv[1]), threads = atoi(argv[2]);
    const int64_t cols = atoll(argv[3]), rows = atoll(argv[4]);
    const size_t rb = dms_row_bytes(DMS_WTYPE_Q4_1, cols);
    uint8_t *W = malloc(rb * rows);
    srand(1);
    for (size_t i = 0; i < rb * rows; i++) W[i] = (uint8_t)rand();
    for (int64_t r = 0; r < rows; r++)  // finite block scales and minimums (f16 0.0078 and -0.0078)
        for (int64_t b = 0; b < cols / 32; b++) { uint16_t *h = (uint16_t *)(W + r * rb + b * 20); h[0] = 0x2000; h[1] = 0xA000; }
    float *x = malloc(sizeof(float) * cols * n), *y = malloc(sizeof(float) * rows * n);
    for (int64_t i = 0; i < cols * n; i++) x[i] = rand() / (float)RAND_MAX - 0.5f;
    dms_pool *pool = threads > 1 ? dms_pool_create(threads) : NULL;
    double best = 1e9;
    for (int rep = 0; rep < 30; rep++) {
        const double t0 = now();
        for (int k = 0; k < 5; k++) dms_matmul_int8(pool, DMS_WTYPE_Q4_1, W, rows, cols, x, n, y);
        const double t = (now() - t0) / 5;
        if (t < best) best = t;
    }
    const double units = (double)rows / 16 * (double)(cols / 32) * n;
    printf("%s: %d tokens, %d threads, %lld x %lld Q4_1: best %.3f ms, %.2f ns per 16 rows x 32 columns x token\n",
           dms_kernels_isa(), n, threads, (long long)rows, (long long)cols, best * 1e3, best * 1e9 / units);
    const int64_t rank = atoll(argv[5]);
    if (rank <= 0) return 0;
    void *R = malloc(dms_int8_repacked_bytes(DMS_WTYPE_Q4_1, rows, cols));
    if (!dms_int8_repack(DMS_WTYPE_Q4_1, W, rows, cols, R)) { printf("no repacked layout on this CPU\n"); return 0; }
    float *A = malloc(sizeof(float) * rank * cols), *Bt = malloc(sizeof(float) * rank * rows);
    float *scratch = malloc(sizeof(float) * rank * n);
    for (int64_t i = 0; i < rank * cols; i++) A[i] = rand() / (float)RAND_MAX - 0.5f;
    for (int64_t i = 0; i < rank * rows; i++) Bt[i] = rand() / (float)RAND_MAX - 0.5f;
    const dms_product product = {DMS_WTYPE_Q4_1, W, R, rows, y};
    const dms_low_rank update = {A, Bt, rank, rows, y};
    const dms_low_rank_group fused = {&update, 0.5f, NULL, scratch};
    double ways[3] = {1e9, 1e9, 1e9};
    for (int rep = 0; rep < 100; rep++) {
        for (int way = 0; way < 3; way++) {
            const double t0 = now();
            for (int k = 0; k < 5; k++) {
                dms_matmul_group(pool, &product, 1, cols, x, n, 1, way == 2 ? &fused : NULL);
                if (way == 1) dms_low_rank_accumulate(pool, &update, 1, cols, x, n, 0.5f, scratch);
            }
            const double t = (now() - t0) / 5;
            if (t < ways[way]) ways[way] = t;
        }
    }
    printf("rank %lld LoRA: product alone %.1f us, then the update %.1f us, the update in the product %.1f us\n",
           (long long)rank, ways[0] * 1e6, ways[1] * 1e6, ways[2] * 1e6);
    return 0;
}
C
src=Sources/CDMSKernels
clang -O2 -I"$src/include" -I"$src" -o "$work/bench" "$work/bench.c" "$src"/*.c -lpthread -lm
"$work/bench" "${1:-16}" "${2:-1}" "${3:-576}" "${4:-18432}" "${5:-0}"
