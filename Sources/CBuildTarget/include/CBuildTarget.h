// What the compiler was told the processor can do, seen from C: Swift has no compile-time
// test for target features, but it hands its -target-cpu to the C headers it imports, so
// these report the build that is running (`bn --version`, `bn bench`).
#ifndef CBUILDTARGET_H
#define CBUILDTARGET_H

/// 512 for AVX-512F, 256 for AVX2 with FMA, 128 for the x86-64 baseline (SSE2) or arm64 (NEON).
static inline int cbuildtarget_vector_bits(void) {
#if defined(__AVX512F__)
  return 512;
#elif defined(__AVX2__) && defined(__FMA__)
  return 256;
#else
  return 128;
#endif
}

/// Whether the build converts half precision with F16C instructions.
static inline int cbuildtarget_has_f16c(void) {
#if defined(__F16C__)
  return 1;
#else
  return 0;
#endif
}

#endif
