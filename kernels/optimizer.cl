// Adam, Keras's form, with per-step constants computed on the host in double:
// m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= stepSize * m / (sqrt(v) + epsilon),
// stepSize = lr * sqrt(1 - b2^t) / (1 - b1^t).

#ifndef ADAM_PER_ITEM
#define ADAM_PER_ITEM 4   // parameters updated by each work-item
#endif

__kernel void adam(__global float* restrict p, const int pOffset,
                   __global const float* restrict g, const int gOffset,
                   __global float* restrict m, const int mOffset,
                   __global float* restrict v, const int vOffset,
                   const int count, const float beta1, const float beta2,
                   const float oneMinusBeta1, const float oneMinusBeta2,
                   const float stepSize, const float epsilon)
{
    const int first = get_global_id(0) * ADAM_PER_ITEM;
    for (int k = 0; k < ADAM_PER_ITEM; ++k) {
        const int i = first + k;
        if (i >= count) return;
        const float gi = g[gOffset + i];
        const float mi = beta1 * m[mOffset + i] + oneMinusBeta1 * gi;
        const float vi = beta2 * v[vOffset + i] + oneMinusBeta2 * gi * gi;
        m[mOffset + i] = mi;
        v[vOffset + i] = vi;
        p[pOffset + i] -= stepSize * mi / (sqrt(vi) + epsilon);
    }
}
