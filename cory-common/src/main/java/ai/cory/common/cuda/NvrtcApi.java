package ai.cory.common.cuda;

import com.sun.jna.Library;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;

/** The NVRTC C API calls the backend uses ({@code nvrtc.h}, stable across CUDA 11-13). */
public interface NvrtcApi extends Library {
  int nvrtcVersion(IntByReference major, IntByReference minor);

  int nvrtcGetNumSupportedArchs(IntByReference count);

  int nvrtcGetSupportedArchs(int[] archs);

  int nvrtcCreateProgram(PointerByReference prog, String src, String name, int numHeaders,
      String[] headers, String[] includeNames);

  int nvrtcCompileProgram(Pointer prog, int numOptions, String[] options);

  int nvrtcGetProgramLogSize(Pointer prog, LongByReference size);

  int nvrtcGetProgramLog(Pointer prog, byte[] log);

  int nvrtcGetCUBINSize(Pointer prog, LongByReference size);

  int nvrtcGetCUBIN(Pointer prog, byte[] cubin);

  int nvrtcDestroyProgram(PointerByReference prog);

  String nvrtcGetErrorString(int result);
}
