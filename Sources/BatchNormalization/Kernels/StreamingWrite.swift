import CStreamingStores

/// Bytes of a call's buffers beyond which its output would not stay in the last-level
/// cache anyway (32 MiB on the machine of `benchmarks/RESULTS.md`).
let streamingThresholdBytes = 32 << 20

/// The smallest channels-first plane written with streaming stores: the partial lines at
/// a plane's two ends, written with ordinary stores, stay a small share (32x32 and up).
let minimumStreamedPlane = 1024

/// Whether a kernel writes its output of this shape with streaming stores: a Float batch
/// whose `buffers` (input and output: 2; backward's x, dy and dx: 3) together exceed
/// ``streamingThresholdBytes``, so the output would not stay in the cache anyway, and
/// written through it would evict the inputs that backward's second pass reads again.
/// Channels-first planes must hold ``minimumStreamedPlane`` values; channels-last rows
/// are written as one run per work item (``writeRows(into:rows:channels:vector:value:)``),
/// which needs C ≥ 8. Writing past the cache saves reading each line in before
/// overwriting it, a third of the traffic of y = a·x + b. Smaller outputs stay in the
/// cache for the next layer to read. (Measurements: `benchmarks/RESULTS.md`, "Why the
/// kernels are cut as they are".)
func streamsOutput<Scalar>(_ shape: BatchNormShape, scalar: Scalar.Type, buffers: Int = 2) -> Bool {
  guard Scalar.self == Float.self && buffers * shape.elementCount * MemoryLayout<Scalar>.size > streamingThresholdBytes else {
    return false
  }
  switch shape.kernelLayout {
  case .channelsFirst: return shape.spatial >= minimumStreamedPlane
  case .channelsLast: return shape.channels >= 8
  }
}

/// Writes `length` values of one contiguous run, eight at a time from `vector(index)` and
/// one at a time from `value(index)`, each rounded to the element type (16-bit storage
/// writes the Float results). With `Streams` on (Float only), the run's whole
/// 64-byte lines are written with streaming stores and the partial lines at either end with
/// ordinary ones: a line written both ways would be read in and flushed again. The caller ends its loop of runs with
/// `bn_stream_fence()`.
@inline(__always)
func writeRun<Element: KernelElement, Streams: KernelSwitch>(
  into destination: UnsafeMutablePointer<Element>, length: Int, streams: Streams.Type,
  vector: (Int) -> SIMD8<Element.Value>, value: (Int) -> Element.Value
) {
  var index = 0
  if Streams.isOn, Element.self == Float.self {
    // Floats up to the first line boundary, then whole lines of 16 Floats.
    let lines = streamedLines(UnsafeMutableRawPointer(destination), floats: length)
    while index < lines.lowerBound {
      Element.store(value(index), to: destination, at: index)
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
  while index + 16 <= length {
    Element.storeVector(vector(index), to: destination, at: index)
    Element.storeVector(vector(index + 8), to: destination, at: index + 8)
    index += 16
  }
  while index + 8 <= length {
    Element.storeVector(vector(index), to: destination, at: index)
    index += 8
  }
  while index < length {
    Element.store(value(index), to: destination, at: index)
    index += 1
  }
}

/// Writes `rows` of a channels-last output (rows of `channels` values) with streaming
/// stores, as one contiguous run like ``writeRun(into:length:streams:vector:value:)``, so
/// that only the run's two ends hold partial lines, however short the rows. Float only
/// (``streamsOutput(_:scalar:buffers:)``; another type is written with ordinary stores,
/// rounded to the element type).
/// `vector(offset, column)` gives the eight values at element `offset` of the output, whose
/// first column is `column` (0 ≤ column < C); their columns run on past C into the next
/// row, so the caller reads its per-channel coefficients from rows doubled to 2·C values
/// (``withDoubledRows(_:channels:_:)``): column + 7 < C + 8 ≤ 2·C, as C ≥ 8.
/// `value(offset, column)` gives one value. The column advances by 8 (mod C: one
/// subtraction, as C ≥ 8) without a division, behind a branch marked rarely taken: compiled
/// as a conditional move it made every coefficient load wait for the previous column. The caller ends its loop of runs with
/// `bn_stream_fence()`.
@inline(__always)
func writeRows<Element: KernelElement>(
  into destination: UnsafeMutablePointer<Element>, rows: Range<Int>, channels: Int,
  vector: (_ offset: Int, _ column: Int) -> SIMD8<Element.Value>, value: (_ offset: Int, _ column: Int) -> Element.Value
) {
  precondition(channels >= 8, "streamed channels-last rows need C ≥ 8")
  let start = rows.lowerBound * channels, end = rows.upperBound * channels
  let lines = Element.self == Float.self ? streamedLines(UnsafeMutableRawPointer(destination + start), floats: end - start) : 0..<0
  var offset = start
  while offset < start + lines.lowerBound {
    Element.store(value(offset, offset % channels), to: destination, at: offset)
    offset += 1
  }
  var column = offset % channels
  if Element.self == Float.self {
    while offset < start + lines.upperBound {
      // This is safe: destination + offset is 32-byte aligned (a line start, or its middle),
      // its eight values lie inside the run, and the elements are Floats.
      bn_stream_store_float8(
        UnsafeMutableRawPointer(destination + offset).assumingMemoryBound(to: Float.self),
        unsafeBitCast(vector(offset, column), to: SIMD8<Float>.self))
      offset += 8
      column += 8
      if _slowPath(column >= channels) { column -= channels }
    }
  }
  while offset + 8 <= end {
    Element.storeVector(vector(offset, column), to: destination, at: offset)
    offset += 8
    column += 8
    if _slowPath(column >= channels) { column -= channels }
  }
  while offset < end {
    Element.store(value(offset, column), to: destination, at: offset)
    offset += 1
    column += 1
    if column == channels { column = 0 }
  }
}

/// The whole 64-byte lines of a run of `floats` Floats at `destination`, as a range of
/// the run's indices: from the first line boundary to the last, in whole lines of 16.
@inline(__always)
func streamedLines(_ destination: UnsafeMutableRawPointer, floats: Int) -> Range<Int> {
  let head = min(floats, ((64 - Int(bitPattern: destination) & 63) & 63) / MemoryLayout<Float>.stride)
  return head..<head + (floats - head) / 16 * 16
}

/// Calls `body` with the coefficient rows `rows` (C values each) doubled: row k written
/// twice in a row at `doubled + 2k·C`, so that eight columns starting anywhere below C
/// can be read with one vector load (``writeRows(into:rows:channels:vector:value:)``).
@inline(__always)
func withDoubledRows<Scalar, Result>(
  _ rows: [UnsafePointer<Scalar>], channels: Int, _ body: (_ doubled: UnsafePointer<Scalar>) -> Result
) -> Result {
  withUnsafeTemporaryAllocation(of: Scalar.self, capacity: 2 * rows.count * channels) { doubled in
    // This is safe: doubled holds 2·C values per row, and each row holds C values.
    let table = doubled.baseAddress!
    for (index, row) in rows.enumerated() {
      (table + 2 * index * channels).initialize(from: row, count: channels)
      (table + (2 * index + 1) * channels).initialize(from: row, count: channels)
    }
    return body(table)
  }
}
