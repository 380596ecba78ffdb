// The convolution operand modes of gemm_tiled (gemm_tiled.cl): convolutions as implicit GEMMs.
// The host builds this file followed by gemm_tiled.cl as one program (OpenCLBackend's program
// table, "gemm_tiled_conv"); on its own it compiles to an empty program. It defines, for the
// OPERANDS it is built with, the operand layout and the hooks gemm_tiled.cl calls where a
// convolution differs from a matrix product:
//   TILED_PROLOGUE         after the accumulators: per-work-item setup (hw, the output pixels)
//   A_GATHER(s, m, k)      ra[s] = A(m, k..k+3) when that is not one vload4 (A_KMAJOR)
//   B_GATHER_K(s, n, k)    rb[s] = B(k..k+3, n) (B_KMAJOR)
//   B_LOAD_ROW(s, g, k)    rb[s] = B(k, n..n+3) for the work-item's columns (!B_KMAJOR)
//   TILED_ROW_BEGIN(m)     before the stores of row m of C
//   TILED_STORE(m, n, v)   stores v = C(m, n..n+3) (not split-K)
// The tile loaders compute image addresses from a per-layer table of taps instead of reading a
// materialised im2col matrix. A tap is int4(channel * H*W + dy * W + dx, dy, dx, filter offset);
// the source pixel (y + dy, x + dx) outside the image reads zero.
//   OPERANDS 1, forward:         C[co, pixel] = filter[co, p] x input(p, pixel); bias (+ReLU)
//                                epilogue, C stored NCHW (ldc = Co*H*W). taps: P of them.
//   OPERANDS 2, backward input:  C[ci, pixel] = filter(ci, (co, tap)) x dy((co, tap), pixel),
//                                the flipped taps; C stored NCHW (ldc = Ci*H*W), beta 0 or 1.
//   OPERANDS 3, backward filter: C[co, p] = dy[co, pixel] x input(pixel, p): K is the batch's
//                                pixels, long and thin, so it runs split-K.

#ifndef OPERANDS
#define OPERANDS 1   // gemm_tiled: 1 conv forward; 2 conv backward input; 3 conv backward filter
#endif
#ifndef RELU
#define RELU 0       // gemm_tiled, OPERANDS 1: ReLU after the bias
#endif
#if OPERANDS < 1 || OPERANDS > 3
#error "gemm_conv.cl: OPERANDS must be 1, 2 or 3 (0, matrices, is gemm_tiled.cl alone)"
#endif
#define TILED_CONV_OPERANDS 1

// A source pixel of a convolution operand: image `pixel / hw` of X (imageStride floats per
// image), moved by `tap`; zero outside the image ("same" padding).
inline float image_tap(__global const float* X, const int imageStride, const int pixel, const int4 tap,
                       const int hw, const int width, const int height)
{
    const int image = pixel / hw, p = pixel - image * hw;
    const int y = p / width, x = p - y * width;
    const int sy = y + tap.y, sx = x + tap.z;
    return (sy >= 0 && sy < height && sx >= 0 && sx < width) ? X[image * imageStride + p + tap.x] : 0.0f;
}

// Pixel `k` of a batch of hw-pixel images as (image, p = y * width + x, y, x), and the next
// pixel after it: backward filter walks four consecutive pixels per float4 this way, with
// two divisions per float4 instead of per element.
#define PIXEL_AT(k) \
    int image = (k) / hw, p = (k) - image * hw, y = p / width, x = p - y * width;
#define PIXEL_NEXT() \
    { ++p; ++x; if (x == width) { x = 0; ++y; if (p == hw) { p = 0; y = 0; ++image; } } }

// Operand layouts. *_KMAJOR: consecutive k are consecutive in memory (the loader's float4s
// run along k); *_VECTOR: a float4 of in-range cells can be read with one vload4.
#if OPERANDS == 1
#define A_KMAJOR 1
#define A_VECTOR 1
#define A_INDEX(m, k) ((m) * lda + (k))
#define A_ELEMENT(m, k) A[(m) * lda + (k)]
#define B_KMAJOR 0
#define B_VECTOR 0
#elif OPERANDS == 2
#define A_KMAJOR 1
#define A_VECTOR 0
#define A_ELEMENT(m, k) A[(m) * lda + taps[k].w]
#define B_KMAJOR 0
#define B_VECTOR 0
#else
#define A_KMAJOR 1
#define A_VECTOR 0
#define B_KMAJOR 1
#define B_VECTOR 0
#endif

#if OPERANDS == 1 || OPERANDS == 2
// The output pixels (columns of B) a work-item loads are the same at every K step: their
// image offset and (y, x) are worked out once here, not with two divisions per load.
#define TILED_PROLOGUE \
    const int hw = height * width; \
    int pixelBase[B_LOADS][4], pixelY[B_LOADS][4], pixelX[B_LOADS][4]; \
    for (int s = 0; s < B_LOADS; ++s) { \
        const int n = n0 + ((tid + s * GROUP_SIZE) % (TILE_N / 4)) * 4; \
        for (int j = 0; j < 4; ++j) { \
            const int pixel = min(n + j, N - 1), image = pixel / hw, p = pixel - image * hw; \
            pixelBase[s][j] = image * ldb + p; \
            pixelY[s][j] = n + j < N ? p / width : -(1 << 28);  /* a column past N reads zero at any tap */ \
            pixelX[s][j] = p - (p / width) * width; \
        } \
    }
// Row k of B at the work-item's columns (the pixels worked out in the prologue).
#define B_LOAD_ROW(s, g, k) { \
        const int4 tap = (k) < kEnd ? taps[k] : (int4)(0, -2 * height, 0, 0); \
        float v[4]; \
        for (int j = 0; j < 4; ++j) { \
            const int sy = pixelY[s][j] + tap.y, sx = pixelX[s][j] + tap.z; \
            v[j] = (sy >= 0 && sy < height && sx >= 0 && sx < width) ? B[pixelBase[s][j] + tap.x] : 0.0f; \
        } \
        rb[s] = (float4)(v[0], v[1], v[2], v[3]); }
// C stored NCHW: column n of C is pixel n of the batch.
#if OPERANDS == 1
#define TILED_ROW_BEGIN(m) const float rowBias = bias[biasOffset + (m)];
#define NCHW_STORE(c, value) { const float r = alpha * (value) + rowBias; *(c) = RELU ? fmax(r, 0.0f) : r; }
#else
#define NCHW_STORE(c, value) *(c) = BLEND(value, *(c));
#endif
#define TILED_STORE(m, n, v) { \
        const float vs[4] = {(v).x, (v).y, (v).z, (v).w}; \
        for (int j = 0; j < 4 && (n) + j < N; ++j) { \
            const int image = ((n) + j) / hw, p = ((n) + j) - image * hw; \
            __global float* c = C + image * ldc + (m) * hw + p; \
            NCHW_STORE(c, vs[j]) \
        } }
#else
#define TILED_PROLOGUE const int hw = height * width;
// A = dy[image][co][pixel]: four consecutive pixels of row m.
#define A_GATHER(s, m, k) { \
        float v[4]; \
        PIXEL_AT(k) \
        for (int j = 0; j < 4; ++j) { \
            v[j] = ((m) < M && (k) + j < kEnd) ? A[image * lda + (m) * hw + p] : 0.0f; \
            PIXEL_NEXT() \
        } \
        ra[s] = (float4)(v[0], v[1], v[2], v[3]); }
// B = the input at tap n, four consecutive pixels.
#define B_GATHER_K(s, n, k) { \
        const int4 tap = (n) < N ? taps[n] : (int4)(0, -(1 << 28), 0, 0); \
        float v[4]; \
        PIXEL_AT(k) \
        for (int j = 0; j < 4; ++j) { \
            const int sy = y + tap.y, sx = x + tap.z; \
            v[j] = ((k) + j < kEnd && sy >= 0 && sy < height && sx >= 0 && sx < width) \
                ? B[image * ldb + p + tap.x] : 0.0f; \
            PIXEL_NEXT() \
        } \
        rb[s] = (float4)(v[0], v[1], v[2], v[3]); }
#endif
