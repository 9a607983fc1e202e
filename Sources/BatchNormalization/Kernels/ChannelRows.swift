/// Three rows of per-channel values stored back to back in one array (row k of channel c
/// at k·C + c): written in place (by channel ranges, over threads for wide layers), read by
/// the kernels through one pointer, and never concatenated or copied per call.
///
/// ``ChannelCoefficients`` rows: center, scale, shift. ``InputGradientCoefficients``
/// rows: gradScale, gradCenterScale, gradShift.
struct ChannelRows<Scalar: BatchNormScalar> {
  /// C, the length of each row.
  let channels: Int
  /// The three rows, `3 × channels` values.
  let storage: [Scalar]

  /// Rows whose 3·C values `fill` writes through the pointer it is given (row k of channel
  /// c at k·C + c). `fill` must write every one of them.
  @inline(__always)
  init(channels: Int, filling fill: (UnsafeMutablePointer<Scalar>) -> Void) {
    self.channels = channels
    storage = [Scalar](unsafeUninitializedCapacity: 3 * channels) { buffer, initialized in
      fill(buffer.baseAddress!)
      initialized = 3 * channels
    }
  }

  /// Row `index` (0, 1 or 2).
  func row(_ index: Int) -> ArraySlice<Scalar> { storage[index * channels..<(index + 1) * channels] }

  /// Calls `body` with the start of row 0; row k starts `k · channels` values later.
  func withTable<Result>(_ body: (UnsafePointer<Scalar>) -> Result) -> Result {
    storage.withUnsafeBufferPointer { body($0.baseAddress!) }
  }
}

/// `[value(0), …, value(count − 1)]`, written in place. The per-channel arrays of forward
/// and backward are built this way rather than with `map` or `append`, which store the
/// array's count after every element: a memory dependency of a few cycles per channel
/// that, with 8192 channels and two samples, cost more than the element passes.
@inline(__always)
func perChannel<Element>(_ count: Int, _ value: (Int) -> Element) -> [Element] {
  [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
    for index in 0..<count { buffer.initializeElement(at: index, to: value(index)) }
    initialized = count
  }
}
