// How fast one core reads and writes a 32x64x56x56 float32 batch (25.7 MB per array) in
// the access patterns of the channels-first kernels, without the kernels around them.
// RESULTS.md (session 5) quotes its output. x86-64 with AVX2 only; not part of the build:
//
//   clang -O2 -mavx2 benchmarks/access_patterns.c -o /tmp/access_patterns && /tmp/access_patterns
//
// "chunk c": the kernels' order for chunks of c channels: for each chunk, sample by sample,
// the chunk's c planes (one contiguous stretch of c·S values), then a jump to the next
// sample. Each figure is the best of 10 runs, in µs, and GB/s of the loop's own traffic.
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { samples = 32, channels = 64, spatial = 3136 };
static const long count = (long)samples * channels * spatial;
static float *x, *dy, *dx;
static double sink;

static double seconds(void) {
  struct timespec time;
  clock_gettime(CLOCK_MONOTONIC, &time);
  return time.tv_sec + time.tv_nsec * 1e-9;
}

// Two lanes of `vector`, added into `sink` by the callers so that the compiler keeps
// every load of a loop (with no use of its sums it would delete the loop).
static double observe(__m256 vector) {
  float lanes[8];
  _mm256_storeu_ps(lanes, vector);
  return lanes[0] + lanes[7];
}

// Σx over the whole array in memory order, four independent sums.
static void sumSequential(int unused) {
  (void)unused;
  __m256 a = _mm256_setzero_ps(), b = a, c = a, d = a;
  for (long i = 0; i < count; i += 32) {
    a = _mm256_add_ps(a, _mm256_loadu_ps(x + i));
    b = _mm256_add_ps(b, _mm256_loadu_ps(x + i + 8));
    c = _mm256_add_ps(c, _mm256_loadu_ps(x + i + 16));
    d = _mm256_add_ps(d, _mm256_loadu_ps(x + i + 24));
  }
  sink += observe(_mm256_add_ps(_mm256_add_ps(a, b), _mm256_add_ps(c, d)));
}

// What one stretch does: mode 0 Σx and Σdy; 1 the statistics loop of MomentsKernel (shifted
// sums of x in Float runs of 32 steps, flushed to Double); 2 and 3 frozen backward's traffic
// (Σx·dy, Σdy, dx = 0.9·dy written with ordinary or streaming stores).
static void stretch(int mode, long offset, long length, __m256 *sums, __m256d *wide) {
  const float *a = x + offset, *b = dy + offset;
  float *out = dx + offset;
  const __m256 shift = _mm256_set1_ps(a[0]), scale = _mm256_set1_ps(0.9f);
  for (long i = 0; i + 16 <= length;) {
    long end = mode == 1 && i + 512 < length ? i + 512 : length;
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, q0 = s0, q1 = s0;
    for (; i + 16 <= end; i += 16) {
      __m256 a0 = _mm256_loadu_ps(a + i), a1 = _mm256_loadu_ps(a + i + 8);
      if (mode == 1) {
        a0 = _mm256_sub_ps(a0, shift);
        a1 = _mm256_sub_ps(a1, shift);
        s0 = _mm256_add_ps(s0, a0);
        s1 = _mm256_add_ps(s1, a1);
        q0 = _mm256_add_ps(q0, _mm256_mul_ps(a0, a0));
        q1 = _mm256_add_ps(q1, _mm256_mul_ps(a1, a1));
        continue;
      }
      __m256 b0 = _mm256_loadu_ps(b + i), b1 = _mm256_loadu_ps(b + i + 8);
      if (mode == 0) {
        sums[0] = _mm256_add_ps(sums[0], a0);
        sums[1] = _mm256_add_ps(sums[1], a1);
      } else {
        sums[0] = _mm256_add_ps(sums[0], _mm256_mul_ps(a0, b0));
        sums[1] = _mm256_add_ps(sums[1], _mm256_mul_ps(a1, b1));
      }
      sums[2] = _mm256_add_ps(sums[2], b0);
      sums[3] = _mm256_add_ps(sums[3], b1);
      if (mode == 2) {
        _mm256_storeu_ps(out + i, _mm256_mul_ps(b0, scale));
        _mm256_storeu_ps(out + i + 8, _mm256_mul_ps(b1, scale));
      } else if (mode == 3) {
        _mm256_stream_ps(out + i, _mm256_mul_ps(b0, scale));
        _mm256_stream_ps(out + i + 8, _mm256_mul_ps(b1, scale));
      }
    }
    if (mode == 1) {
      __m256 s = _mm256_add_ps(s0, s1), q = _mm256_add_ps(q0, q1);
      wide[0] = _mm256_add_pd(wide[0], _mm256_cvtps_pd(_mm256_castps256_ps128(s)));
      wide[1] = _mm256_add_pd(wide[1], _mm256_cvtps_pd(_mm256_extractf128_ps(s, 1)));
      wide[2] = _mm256_add_pd(wide[2], _mm256_cvtps_pd(_mm256_castps256_ps128(q)));
      wide[3] = _mm256_add_pd(wide[3], _mm256_cvtps_pd(_mm256_extractf128_ps(q, 1)));
    }
  }
}

// Every plane in the kernels' chunked order; the statistics loop (mode 1) restarts per plane.
static void chunked(int mode, int chunk) {
  __m256 sums[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  __m256d wide[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
  for (int first = 0; first < channels; first += chunk)
    for (int sample = 0; sample < samples; sample++) {
      long offset = ((long)sample * channels + first) * spatial;
      if (mode == 1)
        for (int plane = 0; plane < chunk; plane++) stretch(mode, offset + (long)plane * spatial, spatial, sums, wide);
      else
        stretch(mode, offset, (long)chunk * spatial, sums, wide);
    }
  _mm_sfence();
  double lanes[4];
  _mm256_storeu_pd(lanes, _mm256_add_pd(wide[0], wide[3]));
  sink += observe(_mm256_add_ps(_mm256_add_ps(sums[0], sums[1]), _mm256_add_ps(sums[2], sums[3]))) + lanes[0];
}

static void sumsOfTwo(int chunk) { chunked(0, chunk); }
static void statistics(int chunk) { chunked(1, chunk); }
static void frozenOrdinary(int chunk) { chunked(2, chunk); }
static void frozenStreaming(int chunk) { chunked(3, chunk); }

static void report(const char *name, void (*loop)(int), int chunk, int arrays) {
  double best = 1e9;
  for (int run = 0; run < 10; run++) {
    double start = seconds();
    loop(chunk);
    double time = seconds() - start;
    if (time < best) best = time;
  }
  printf("%-28s chunk %2d  %7.0f µs  %5.1f GB/s\n", name, chunk, best * 1e6, arrays * count * 4.0 / best / 1e9);
}

int main(void) {
  x = aligned_alloc(64, count * 4);
  dy = aligned_alloc(64, count * 4);
  dx = aligned_alloc(64, count * 4);
  for (long i = 0; i < count; i++) {
    x[i] = (float)(i % 7);
    dy[i] = (float)(i % 5);
    dx[i] = 0;
  }
  report("Σx, sequential", sumSequential, 0, 1);
  int chunks[] = {1, 2, 4, 8, 16, 32, 64};
  for (int index = 0; index < 7; index++) report("Σx and Σdy", sumsOfTwo, chunks[index], 2);
  report("statistics loop", statistics, 8, 1);
  report("statistics loop", statistics, 64, 1);
  report("frozen traffic, ordinary", frozenOrdinary, 8, 3);
  report("frozen traffic, streaming", frozenStreaming, 8, 3);
  return sink == 0.5;  // uses sink, so nothing above is optimized away
}
