import CBuildTarget

/// Which processor this binary was built for, for `bn --version` and `bn bench`: the
/// kernels' speed depends on it (benchmarks/RESULTS.md), their results do not.
enum BuildDescription {
  static var text: String {
    #if arch(x86_64)
      switch cbuildtarget_vector_bits() {
      case 512: return "built for x86-64 with AVX-512"
      case 256: return "built for x86-64 with AVX2 and FMA" + (cbuildtarget_has_f16c() == 1 ? " (haswell or later)" : "")
      default: return "built for baseline x86-64 (portable; BN_TARGET_CPU=haswell is faster on a CPU with AVX2 and FMA)"
      }
    #elseif arch(arm64)
      return "built for arm64"
    #else
      return "built for a baseline processor"
    #endif
  }
}
