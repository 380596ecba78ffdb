// Single-thread rates of the fast nearest-neighbour search (gt_nn_search, gt_nn_scan) on the
// detector bench's banks and queries (`gpu-train bench --detector-data DIR`): `make bench-nn`.
//
// Time is the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID), best of REPEATS, so that a
// figure survives other processes sharing the cores; GFLOP/s counts 2 x features per pair.
#include "ckernels.h"
#include "neighbors.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REPEATS 5

static double cpu_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/// A float32 2-D NPY file (version 1, little-endian), as gpu-train bench writes them.
static float *load_npy(const char *path, size_t *rows, size_t *cols) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(1); }
    unsigned char head[10];
    if (fread(head, 1, 10, f) != 10) { fprintf(stderr, "%s: short\n", path); exit(1); }
    const size_t hlen = head[8] | (size_t)head[9] << 8;
    char *h = malloc(hlen + 1);
    if (fread(h, 1, hlen, f) != hlen) { fprintf(stderr, "%s: short\n", path); exit(1); }
    h[hlen] = 0;
    const char *s = strstr(h, "'shape': (");
    if (!s || !strstr(h, "<f4")) { fprintf(stderr, "%s: not a float32 array\n", path); exit(1); }
    if (sscanf(s, "'shape': (%zu, %zu)", rows, cols) != 2) { fprintf(stderr, "%s: bad shape\n", path); exit(1); }
    float *data = malloc(*rows * *cols * sizeof(float));
    if (fread(data, sizeof(float), *rows * *cols, f) != *rows * *cols) { fprintf(stderr, "%s: short data\n", path); exit(1); }
    fclose(f);
    free(h);
    return data;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s BANK.npy QUERIES.npy [queries] [clip] [candidates]\n", argv[0]); return 2; }
    size_t n, dim, nq, qdim;
    float *bank = load_npy(argv[1], &n, &dim), *queries = load_npy(argv[2], &nq, &qdim);
    if (qdim != dim) { fprintf(stderr, "dimensions differ\n"); return 1; }
    if (argc > 3) { size_t m = (size_t)atol(argv[3]); if (m < nq) nq = m; }
    const float clip = argc > 4 ? (float)atof(argv[4]) : 1.0f;
    const size_t k = 1, cand = argc > 5 ? (size_t)atol(argv[5]) : 16, padded = gt_nn_packed_rows(n);
    float *packed = malloc(padded * dim * sizeof(float)), *half = malloc(padded * sizeof(float));
    float *keys = malloc(padded * sizeof(float)), *direction = malloc(dim * sizeof(float));
    int32_t *order = malloc(padded * sizeof(int32_t));
    float *sq = malloc(nq * k * sizeof(float));
    int32_t *row = malloc(nq * k * sizeof(int32_t));
    unsigned char *cert = malloc(nq);
    const int isas[] = {GT_ISA_AVX512, GT_ISA_AVX2};
    double pack_best = 1e9;
    float max_norm = 0;
    for (int r = 0; r < REPEATS; r++) {
        const double t0 = cpu_seconds();
        max_norm = gt_nn_pack_bank(bank, n, dim, packed, half, order, keys, direction);
        const double t = cpu_seconds() - t0;
        if (t < pack_best) pack_best = t;
    }
    printf("bank %zu x %zu, %zu queries, clip %g; pack %.2f ms\n", n, dim, nq, clip, pack_best * 1e3);
    for (int a = 0; a < 2; a++) {
        if (!gt_isa_supported(isas[a])) continue;
        double best = 1e9;
        long proved = 0;
        for (int r = 0; r < REPEATS; r++) {
            const double t0 = cpu_seconds();
            proved = gt_nn_search(isas[a], packed, half, order, keys, direction, max_norm, n, bank, queries, nq, dim, k, cand, clip, sq, row, cert);
            const double t = cpu_seconds() - t0;
            if (t < best) best = t;
        }
        double check = 0;
        for (size_t i = 0; i < nq; i++) if (cert[i]) check += row[i] + sq[i];
        printf("%-7s search: %8.1f ms  %9.0f queries/s  %6.1f GFLOP/s  proved %ld/%zu  check %.6g\n",
               isas[a] == GT_ISA_AVX512 ? "avx512" : "avx2", best * 1e3, nq / best, 2.0 * dim * n * nq / best / 1e9, proved, nq, check);
    }
    return 0;
}
