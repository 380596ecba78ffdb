// Losses, each reduced on the device by a single work-group of LOSS_WG work-items so that
// the host reads back exactly two scalars: result[0] = mean loss, result[1] = correct count.

#ifndef LOSS_WG
#define LOSS_WG 64   // work-items in the one work-group (a power of two)
#endif

inline float stable_sigmoid(const float x)
{
    if (x >= 0.0f) return 1.0f / (1.0f + exp(-x));
    const float e = exp(x);
    return e / (1.0f + e);
}

// Sums partial[0..LOSS_WG) into partial[0]; every work-item must call it.
inline void reduce_local(__local float* partial, const int lid)
{
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = LOSS_WG / 2; stride > 0; stride >>= 1) {
        if (lid < stride) partial[lid] += partial[lid + stride];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}

// mean of max(z,0) - z*y + log(1 + exp(-|z|)); dz = (sigmoid(z) - y) / n; correct: (z > 0) == (y > 0.5).
__kernel __attribute__((reqd_work_group_size(LOSS_WG, 1, 1)))
void bce_with_logits(__global const float* restrict z, const int zOffset,
                     __global const float* restrict y, const int yOffset,
                     __global float* restrict dz, const int dzOffset,
                     __global float* restrict result, const int n)
{
    __local float lossPartial[LOSS_WG];
    __local float correctPartial[LOSS_WG];
    const int lid = get_local_id(0);
    const float scale = 1.0f / (float)n;
    float loss = 0.0f, correct = 0.0f;
    for (int i = lid; i < n; i += LOSS_WG) {
        const float zi = z[zOffset + i], yi = y[yOffset + i];
        loss += fmax(zi, 0.0f) - zi * yi + log1p(exp(-fabs(zi)));
        dz[dzOffset + i] = (stable_sigmoid(zi) - yi) * scale;
        if ((zi > 0.0f) == (yi > 0.5f)) correct += 1.0f;
    }
    lossPartial[lid] = loss;
    correctPartial[lid] = correct;
    reduce_local(lossPartial, lid);
    reduce_local(correctPartial, lid);
    if (lid == 0) {
        result[0] = lossPartial[0] * scale;
        result[1] = correctPartial[0];
    }
}

// Contrastive loss on d = ||a_i - b_i||: y d^2/2 + (1-y) max(0, margin - d)^2 / 2, averaged.
// ga = (y - (1-y) max(0, margin-d)/d) (a - b) / rows (zero term at d = 0), gb = -ga.
// A pair is correct when (d < margin/2) == (y > 0.5). Rows are walked in order; the
// work-group reduces each row's squared distance together.
__kernel __attribute__((reqd_work_group_size(LOSS_WG, 1, 1)))
void contrastive(__global const float* restrict a, const int aOffset,
                 __global const float* restrict b, const int bOffset,
                 __global const float* restrict labels, const int labelOffset,
                 __global float* restrict ga, const int gaOffset,
                 __global float* restrict gb, const int gbOffset,
                 __global float* restrict result,
                 const int rows, const int dim, const float margin)
{
    __local float partial[LOSS_WG];
    const int lid = get_local_id(0);
    const float scale = 1.0f / (float)rows;
    float loss = 0.0f, correct = 0.0f;
    for (int i = 0; i < rows; ++i) {
        __global const float* ra = a + aOffset + i * dim;
        __global const float* rb = b + bOffset + i * dim;
        float sq = 0.0f;
        for (int j = lid; j < dim; j += LOSS_WG) { const float d = ra[j] - rb[j]; sq += d * d; }
        partial[lid] = sq;
        reduce_local(partial, lid);
        sq = partial[0];
        barrier(CLK_LOCAL_MEM_FENCE);   // everyone has read partial[0] before the next row
        const float d = sqrt(sq), yi = labels[labelOffset + i];
        const float hinge = fmax(0.0f, margin - d);
        const float factor = (yi - (d > 0.0f ? (1.0f - yi) * hinge / d : 0.0f)) * scale;
        for (int j = lid; j < dim; j += LOSS_WG) {
            const float g = factor * (ra[j] - rb[j]);
            ga[gaOffset + i * dim + j] = g;
            gb[gbOffset + i * dim + j] = -g;
        }
        if (lid == 0) {
            loss += yi * sq / 2.0f + (1.0f - yi) * hinge * hinge / 2.0f;
            if ((d < margin / 2.0f) == (yi > 0.5f)) correct += 1.0f;
        }
    }
    if (lid == 0) {
        result[0] = loss * scale;
        result[1] = correct;
    }
}
