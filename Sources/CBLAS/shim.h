// OpenBLAS's CBLAS interface (Debian: libopenblas-dev). openblas_get_num_threads and
// openblas_get_config are OpenBLAS extensions declared in its cblas.h.
#ifndef GPU_TRAIN_CBLAS_SHIM_H
#define GPU_TRAIN_CBLAS_SHIM_H
#include <cblas.h>
#endif
