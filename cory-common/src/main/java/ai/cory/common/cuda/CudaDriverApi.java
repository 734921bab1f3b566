package ai.cory.common.cuda;

import com.sun.jna.Library;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;

/**
 * The CUDA driver API calls the backend uses ({@code cuda.h}; the {@code _v2} entry points that
 * every driver since CUDA 4 exports). Device pointers are {@code long}s.
 */
public interface CudaDriverApi extends Library {
  /** {@code CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT}. */
  int ATTR_SM_COUNT = 16;
  /** {@code CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR}. */
  int ATTR_CC_MAJOR = 75;
  /** {@code CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR}. */
  int ATTR_CC_MINOR = 76;
  /** {@code CU_DEVICE_ATTRIBUTE_PCI_BUS_ID}. */
  int ATTR_PCI_BUS = 33;

  int cuInit(int flags);

  int cuDriverGetVersion(IntByReference version);

  int cuDeviceGetCount(IntByReference count);

  int cuDeviceGet(IntByReference device, int ordinal);

  int cuDeviceGetName(byte[] name, int len, int device);

  int cuDeviceGetAttribute(IntByReference value, int attribute, int device);

  int cuDeviceTotalMem_v2(LongByReference bytes, int device);

  int cuDevicePrimaryCtxRetain(PointerByReference ctx, int device);

  int cuDevicePrimaryCtxRelease_v2(int device);

  int cuCtxSetCurrent(Pointer ctx);

  int cuCtxSynchronize();

  int cuMemGetInfo_v2(LongByReference free, LongByReference total);

  int cuMemAlloc_v2(LongByReference dptr, long bytes);

  int cuMemFree_v2(long dptr);

  int cuMemcpyHtoD_v2(long dst, Pointer src, long bytes);

  int cuMemcpyDtoH_v2(Pointer dst, long src, long bytes);

  int cuMemcpyDtoD_v2(long dst, long src, long bytes);

  int cuMemsetD8_v2(long dst, byte value, long count);

  int cuModuleLoadData(PointerByReference module, byte[] image);

  int cuModuleUnload(Pointer module);

  int cuModuleGetFunction(PointerByReference function, Pointer module, String name);

  int cuLaunchKernel(Pointer f, int gridX, int gridY, int gridZ, int blockX, int blockY,
      int blockZ, int sharedMemBytes, Pointer stream, Pointer kernelParams, Pointer extra);

  int cuGetErrorName(int result, PointerByReference name);
}
