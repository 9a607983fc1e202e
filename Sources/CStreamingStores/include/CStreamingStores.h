// Non-temporal ("streaming") stores for the kernels that write outputs larger than the
// cache (normalize, and backward's input gradient): compiler builtins only, no library. A
// streaming store writes a cache line to memory without first reading it into the cache,
// so an output that is larger than the cache costs its bytes once instead of twice (read
// for ownership, then write back). Swift has no spelling for them; clang's
// __builtin_nontemporal_store does, on every target (movntps on x86-64, stnp on arm64).
#ifndef C_STREAMING_STORES_H
#define C_STREAMING_STORES_H

/// Eight Floats; Swift imports it as SIMD8<Float>.
typedef float bn_float8 __attribute__((ext_vector_type(8)));

/// Stores eight Floats at `destination`, which must be 32-byte aligned, bypassing the cache.
static inline __attribute__((always_inline)) void bn_stream_store_float8(float *destination, bn_float8 value) {
  __builtin_nontemporal_store(value, (bn_float8 *)destination);
}

/// Orders the streaming stores made so far before any later store (x86's sfence: streaming
/// stores are weakly ordered). Call once after a loop of them.
static inline __attribute__((always_inline)) void bn_stream_fence(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_sfence();
#endif
}

#endif
