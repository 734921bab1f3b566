package ai.cory.common.cuda;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The CUDA driver of this machine, initialised: error codes become {@link CudaException}s named
 * after the driver's error ({@code cuMemAlloc: CUDA_ERROR_OUT_OF_MEMORY}).
 */
public final class CudaDriver {
  private static volatile CudaDriver instance;

  private final CudaDriverApi api;
  private final int version;

  private CudaDriver(CudaDriverApi api) {
    this.api = api;
    check(api, "cuInit", api.cuInit(0));
    IntByReference v = new IntByReference();
    check(api, "cuDriverGetVersion", api.cuDriverGetVersion(v));
    this.version = v.getValue();
  }

  /** The initialised driver; fails with one line when there is none or it cannot start. */
  public static CudaDriver get() {
    CudaDriver d = instance;
    if (d == null) {
      synchronized (CudaDriver.class) {
        d = instance;
        if (d == null) {
          d = new CudaDriver(CudaLibraries.driver());
          instance = d;
        }
      }
    }
    return d;
  }

  public CudaDriverApi api() {
    return api;
  }

  /** The CUDA version the driver supports, as {@code major.minor} (e.g. 13.0). */
  public String version() {
    return version / 1000 + "." + (version % 1000) / 10;
  }

  /** The GPUs the driver shows this process (after {@code CUDA_VISIBLE_DEVICES}). */
  public List<GpuInfo> devices(boolean withFreeMemory) {
    IntByReference count = new IntByReference();
    check("cuDeviceGetCount", api.cuDeviceGetCount(count));
    List<GpuInfo> gpus = new ArrayList<>();
    for (int i = 0; i < count.getValue(); i++) {
      gpus.add(device(i, withFreeMemory));
    }
    return gpus;
  }

  /** One GPU by ordinal; free memory through its primary context when asked. */
  public GpuInfo device(int ordinal, boolean withFreeMemory) {
    IntByReference dev = new IntByReference();
    check("cuDeviceGet(" + ordinal + ")", api.cuDeviceGet(dev, ordinal));
    int d = dev.getValue();
    byte[] name = new byte[256];
    check("cuDeviceGetName", api.cuDeviceGetName(name, name.length, d));
    int len = 0;
    while (len < name.length && name[len] != 0) {
      len++;
    }
    LongByReference total = new LongByReference();
    check("cuDeviceTotalMem", api.cuDeviceTotalMem_v2(total, d));
    long free = -1;
    if (withFreeMemory) {
      PointerByReference ctx = new PointerByReference();
      check("cuDevicePrimaryCtxRetain", api.cuDevicePrimaryCtxRetain(ctx, d));
      try {
        check("cuCtxSetCurrent", api.cuCtxSetCurrent(ctx.getValue()));
        LongByReference f = new LongByReference();
        LongByReference t = new LongByReference();
        check("cuMemGetInfo", api.cuMemGetInfo_v2(f, t));
        free = f.getValue();
      } finally {
        api.cuCtxSetCurrent(Pointer.NULL);
        api.cuDevicePrimaryCtxRelease_v2(d);
      }
    }
    return new GpuInfo(ordinal, new String(name, 0, len, StandardCharsets.UTF_8),
        attribute(CudaDriverApi.ATTR_CC_MAJOR, d), attribute(CudaDriverApi.ATTR_CC_MINOR, d),
        total.getValue(), free);
  }

  int attribute(int attribute, int device) {
    IntByReference v = new IntByReference();
    check("cuDeviceGetAttribute(" + attribute + ")", api.cuDeviceGetAttribute(v, attribute, device));
    return v.getValue();
  }

  /** Throws unless {@code rc} is {@code CUDA_SUCCESS}. */
  public void check(String call, int rc) {
    check(api, call, rc);
  }

  static void check(CudaDriverApi api, String call, int rc) {
    if (rc != 0) {
      PointerByReference name = new PointerByReference();
      String err = api.cuGetErrorName(rc, name) == 0 && name.getValue() != null
          ? name.getValue().getString(0) : "CUresult " + rc;
      throw new CudaException(call + ": " + err + " (" + rc + ")");
    }
  }
}
