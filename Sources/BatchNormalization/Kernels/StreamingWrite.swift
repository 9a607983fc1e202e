import CStreamingStores

/// Whether a kernel writes its output of this shape with streaming stores: a Float batch
/// whose `buffers` (input and output: 2; backward's x, dy and dx: 3) together exceed
/// 32 MiB, the last-level cache of the machine measured, so the output would not stay in
/// the cache anyway, and written through it would evict the inputs that backward's second
/// pass reads again (nhwc 64x14x14x256 backward, 38 MB: 1.60–1.70 → 1.24–1.35 ms). Channels-first planes
/// must hold at least 1024 values (32x32 and up), so that the partial lines at the ends
/// of each plane stay few; channels-last rows are written as one run per work item
/// (``writeRows(into:rows:channels:streams:vector:value:)``), which needs C ≥ 8. Writing
/// past the cache saves reading each line in before overwriting it, a third of the
/// traffic of y = a·x + b (a C loop over 32x64x56x56: 811–917 µs with ordinary stores,
/// 673–714 with streaming ones). Smaller outputs stay in the cache for the next layer to
/// read.
func streamsOutput<Scalar>(_ shape: BatchNormShape, scalar: Scalar.Type, buffers: Int = 2) -> Bool {
  guard Scalar.self == Float.self && buffers * shape.elementCount * MemoryLayout<Scalar>.size > 32 << 20 else {
    return false
  }
  switch shape.kernelLayout {
  case .channelsFirst: return shape.spatial >= 1024
  case .channelsLast: return shape.channels >= 8
  }
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
    let lines = streamedLines(destination, length: length)
    while index < lines.lowerBound {
      destination[index] = value(index)
      index += 1
    }
    while index < lines.upperBound {
      // This is safe: destination + index is 32-byte aligned (a line start, or its middle)
      // and its eight values lie inside the buffer (index + 8 ≤ lines.upperBound ≤ length).
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

/// Writes `rows` of a channels-last output (rows of `channels` values) as one contiguous
/// run, as ``writeRun(into:length:streams:vector:value:)`` does, so that only the run's
/// two ends hold partial lines, however short the rows. `vector(offset, column)` gives the
/// eight values at element `offset` of the output, whose first column is `column`
/// (0 ≤ column < C); their columns run on past C into the next row, so the caller reads
/// its per-channel coefficients from tables doubled to 2·C values
/// (``writeDoubled(_:channels:into:)``). `value(offset, column)` gives one value. The
/// column advances by 8 (mod C: one subtraction, as C ≥ 8) without a division.
@inline(__always)
func writeRows<Scalar: BatchNormScalar, Streams: KernelSwitch>(
  into destination: UnsafeMutablePointer<Scalar>, rows: Range<Int>, channels: Int, streams: Streams.Type,
  vector: (_ offset: Int, _ column: Int) -> SIMD8<Scalar>, value: (_ offset: Int, _ column: Int) -> Scalar
) {
  assert(channels >= 8)
  let start = rows.lowerBound * channels, end = rows.upperBound * channels
  let lines = Streams.isOn && Scalar.self == Float.self ? streamedLines(destination + start, length: end - start) : 0..<0
  var offset = start
  while offset < start + lines.lowerBound {
    destination[offset] = value(offset, offset % channels)
    offset += 1
  }
  var column = offset % channels
  while offset < start + lines.upperBound {
    // This is safe: destination + offset is 32-byte aligned (a line start, or its middle)
    // and its eight values lie inside the run.
    bn_stream_store_float8(
      UnsafeMutableRawPointer(destination + offset).assumingMemoryBound(to: Float.self),
      unsafeBitCast(vector(offset, column), to: SIMD8<Float>.self))
    offset += 8
    column += 8
    if column >= channels { column -= channels }
  }
  while offset + 8 <= end {
    destination.storeVector(vector(offset, column), at: offset)
    offset += 8
    column += 8
    if column >= channels { column -= channels }
  }
  while offset < end {
    destination[offset] = value(offset, column)
    offset += 1
    column += 1
    if column == channels { column = 0 }
  }
}

/// The whole 64-byte lines of a run of `length` Floats at `destination`, as a range of
/// its indices: from the first line boundary to the last, in whole lines of 16 Floats.
@inline(__always)
func streamedLines<Scalar>(_ destination: UnsafeMutablePointer<Scalar>, length: Int) -> Range<Int> {
  let head = min(length, ((64 - Int(bitPattern: destination) & 63) & 63) / MemoryLayout<Float>.stride)
  return head..<head + (length - head) / 16 * 16
}

/// Channel values `row[0..<C]` written twice in a row into `destination` (2·C values),
/// so that eight columns starting anywhere below C can be read with one vector load
/// (``writeRows(into:rows:channels:streams:vector:value:)``).
func writeDoubled<Scalar>(_ row: UnsafePointer<Scalar>, channels: Int, into destination: UnsafeMutablePointer<Scalar>) {
  destination.initialize(from: row, count: channels)
  (destination + channels).initialize(from: row, count: channels)
}
