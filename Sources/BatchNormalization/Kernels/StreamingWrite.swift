import CStreamingStores

/// Whether a kernel writes its output of this shape with streaming stores: a
/// channels-first Float batch whose input and output together exceed 32 MiB, the
/// last-level cache of the machine measured (so the output would not stay in the cache
/// anyway), with planes of at least 1024 values (32x32 and up), so that the partial lines
/// at the ends of each plane stay few. Writing past the cache saves reading each line in
/// before overwriting it, a third of the traffic of y = a·x + b (a C loop over
/// 32x64x56x56: 811–917 µs with ordinary stores, 673–714 with streaming ones). Smaller
/// outputs stay in the cache for the next layer to read; channels-last rows are written
/// with ordinary stores.
func streamsOutput<Scalar>(_ shape: BatchNormShape, scalar: Scalar.Type) -> Bool {
  Scalar.self == Float.self && shape.kernelLayout == .channelsFirst && shape.spatial >= 1024
    && 2 * shape.elementCount * MemoryLayout<Scalar>.size > 32 << 20
}

/// Writes `length` values of one contiguous run, eight at a time from `vector(index)` and
/// one at a time from `value(index)`. With `Streams` on (Float only), the run's whole
/// 64-byte lines are written with streaming stores and the partial lines at either end with
/// ordinary ones: a line written both ways would be read in and flushed again (256-byte
/// rows written that way were 1.4× slower). The caller ends its loop of runs with
/// `bn_stream_fence()`.
@inline(__always)
func writeRun<Scalar: BatchNormScalar, Streams: KernelSwitch>(
  into destination: UnsafeMutablePointer<Scalar>, length: Int, streams: Streams.Type,
  vector: (Int) -> SIMD8<Scalar>, value: (Int) -> Scalar
) {
  var index = 0
  if Streams.isOn, Scalar.self == Float.self {
    // Floats up to the first line boundary, then whole lines of 16 Floats.
    let head = min(length, ((64 - Int(bitPattern: destination) & 63) & 63) / MemoryLayout<Float>.stride)
    while index < head {
      destination[index] = value(index)
      index += 1
    }
    let linesEnd = head + (length - head) / 16 * 16
    while index < linesEnd {
      // This is safe: destination + index is 32-byte aligned (a line start, or its middle)
      // and its eight values lie inside the buffer (index + 8 ≤ linesEnd ≤ length).
      bn_stream_store_float8(
        UnsafeMutableRawPointer(destination + index).assumingMemoryBound(to: Float.self),
        unsafeBitCast(vector(index), to: SIMD8<Float>.self))
      index += 8
    }
  }
  while index + 8 <= length {
    destination.storeVector(vector(index), at: index)
    index += 8
  }
  while index < length {
    destination[index] = value(index)
    index += 1
  }
}
