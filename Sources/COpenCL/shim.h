// OpenCL 1.2 through the ocl-icd loader (Debian: ocl-icd-opencl-dev, opencl-headers).
#ifndef GPU_TRAIN_COPENCL_SHIM_H
#define GPU_TRAIN_COPENCL_SHIM_H
#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#endif
