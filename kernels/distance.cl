// Nearest-neighbour search: squared row norms and a per-query top-k merge over one chunk of
// GEMM dot products (the GEMM itself is gemm_registers.cl or gemm_tiled.cl). One work-item
// per row or query; a query's k best candidates live in private memory across the chunk.

#ifndef MAX_K
#define MAX_K 64   // capacity of the private top-k list; the backend passes the next power of two >= k
#endif

// Inserts a candidate into a sorted list of the k smallest squared distances. Rows arrive in index
// order, so an equal distance never displaces an earlier row (ties keep the lower index).
inline void offer(float* best, float* bestIndex, const int k, const float d2, const float index)
{
    if (!(d2 < best[k - 1])) return;
    int i = k - 1;
    while (i > 0 && best[i - 1] > d2) {
        best[i] = best[i - 1];
        bestIndex[i] = bestIndex[i - 1];
        --i;
    }
    best[i] = d2;
    bestIndex[i] = index;
}

// A query's list between chunks lives in distances/indices: `first` starts it empty (index 2^24,
// above any row), `last` turns the squared distances into distances.
inline void load_list(float* best, float* bestIndex, __global const float* d, __global const float* ix, const int k, const int first)
{
    for (int j = 0; j < k; ++j) {
        best[j] = first ? INFINITY : d[j];
        bestIndex[j] = first ? 16777216.0f : ix[j];
    }
}

inline void store_list(const float* best, const float* bestIndex, __global float* d, __global float* ix, const int k, const int last)
{
    for (int j = 0; j < k; ++j) {
        d[j] = last ? sqrt(best[j]) : best[j];
        ix[j] = bestIndex[j];
    }
}

__kernel void row_norms(__global const float* restrict x, const int xOffset, const int rows, const int dim,
                        __global float* restrict norms)
{
    const int r = get_global_id(0);
    if (r >= rows) return;
    __global const float* row = x + xOffset + (size_t)r * dim;
    float s = 0.0f;
    for (int j = 0; j < dim; ++j) s += row[j] * row[j];
    norms[r] = s;
}

// Merges bank rows chunkStart..chunkStart+cols-1 into each query's sorted list of the k smallest
// squared distances (ties: lower bank index first). dots is [queries, cols]. The lists live in
// distances/indices between chunks; `first` starts them empty, `last` turns them into distances.
__kernel void topk_merge(__global const float* restrict dots, const int cols, const int chunkStart,
                         __global const float* restrict queryNorms, __global const float* restrict bankNorms,
                         const int queries, const int k, const int first, const int last,
                         __global float* restrict distances, const int dOffset,
                         __global float* restrict indices, const int iOffset)
{
    const int q = get_global_id(0);
    if (q >= queries) return;
    float best[MAX_K];
    float bestIndex[MAX_K];
    __global float* d = distances + dOffset + (size_t)q * k;
    __global float* ix = indices + iOffset + (size_t)q * k;
    load_list(best, bestIndex, d, ix, k, first);
    const float qn = queryNorms[q];
    __global const float* line = dots + (size_t)q * cols;
    for (int c = 0; c < cols; ++c) {
        const float d2 = fmax(qn + bankNorms[chunkStart + c] - 2.0f * line[c], 0.0f);
        offer(best, bestIndex, k, d2, (float)(chunkStart + c));
    }
    store_list(best, bestIndex, d, ix, k, last);
}

// The clipped distance sqrt(sum_j min(|q_j - b_j|, clip)^2), summed directly (it has no GEMM form):
// one work-item per query merges bank rows chunkStart..chunkStart+cols-1 into its sorted list of
// the k smallest squared distances, as topk_merge does.
__kernel void clipped_topk(__global const float* restrict queries, const int qOffset,
                           __global const float* restrict bank, const int bOffset,
                           const int nQueries, const int dim, const int chunkStart, const int cols, const float clip,
                           const int k, const int first, const int last,
                           __global float* restrict distances, const int dOffset,
                           __global float* restrict indices, const int iOffset)
{
    const int q = get_global_id(0);
    if (q >= nQueries) return;
    float best[MAX_K];
    float bestIndex[MAX_K];
    __global float* d = distances + dOffset + (size_t)q * k;
    __global float* ix = indices + iOffset + (size_t)q * k;
    load_list(best, bestIndex, d, ix, k, first);
    __global const float* query = queries + qOffset + (size_t)q * dim;
    for (int c = 0; c < cols; ++c) {
        __global const float* row = bank + bOffset + (size_t)(chunkStart + c) * dim;
        float d2 = 0.0f;
        for (int j = 0; j < dim; ++j) {
            const float t = fmin(fabs(query[j] - row[j]), clip);
            d2 = fma(t, t, d2);
        }
        offer(best, bestIndex, k, d2, (float)(chunkStart + c));
    }
    store_list(best, bestIndex, d, ix, k, last);
}
