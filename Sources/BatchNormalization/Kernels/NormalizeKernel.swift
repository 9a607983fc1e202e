import CStreamingStores

/// Per-channel coefficients of the normalizing map y = (x − center)·scale + shift,
/// optionally followed by max(0, ·).
///
/// Training: center = µ_B, scale = γ/√(σ²_B + ε), shift = β (Batch Renormalization:
/// scale = γ·r/√(σ²_B + ε), shift = γ·d + β). Inference: center = E[x],
/// scale = γ/√(Var[x] + ε), shift = β. Subtracting the center before scaling (rather
/// than the fully folded a·x + b) keeps a constant channel exactly at β and loses no
/// digits when |mean| ≫ σ. Stored as three ``ChannelRows``: center, scale, shift.
typealias ChannelCoefficients<Scalar: BatchNormScalar> = ChannelRows<Scalar>

/// Writes y = (x − center[c])·scale[c] + shift[c] (then max(0, y) for `.relu`). A Float
/// output too large for the cache is written with streaming stores
/// (``streamsOutput(_:scalar:)``).
func normalize<Scalar: BatchNormScalar>(
  input: UnsafeBufferPointer<Scalar>, shape: BatchNormShape,
  coefficients: ChannelCoefficients<Scalar>, activation: FusedActivation, output: UnsafeMutableBufferPointer<Scalar>
) {
  assert(input.count == shape.elementCount && output.count == shape.elementCount)
  assert(coefficients.channels == shape.channels)
  guard let source = input.baseAddress, let destination = output.baseAddress else { return }
  coefficients.withTable { table in
    let kernel = NormalizeKernel(
      source: source, destination: destination, shape: shape, center: table, scale: table + shape.channels,
      shift: table + 2 * shape.channels)
    switch (activation == .relu, streamsOutput(shape, scalar: Scalar.self)) {
    case (false, false): kernel.run(relu: SwitchOff.self, streams: SwitchOff.self)
    case (false, true): kernel.run(relu: SwitchOff.self, streams: SwitchOn.self)
    case (true, false): kernel.run(relu: SwitchOn.self, streams: SwitchOff.self)
    case (true, true): kernel.run(relu: SwitchOn.self, streams: SwitchOn.self)
    }
  }
}

/// The pointers of one normalize call. Lives only inside `normalize`.
private struct NormalizeKernel<Scalar: BatchNormScalar> {
  let source: UnsafePointer<Scalar>
  let destination: UnsafeMutablePointer<Scalar>
  let shape: BatchNormShape
  let center: UnsafePointer<Scalar>
  let scale: UnsafePointer<Scalar>
  let shift: UnsafePointer<Scalar>

  /// Every element, split over threads by planes or rows (`Streams`: channels-first only).
  func run<ReLU: KernelSwitch, Streams: KernelSwitch>(relu: ReLU.Type, streams: Streams.Type) {
    switch shape.kernelLayout {
    case .channelsFirst:
      let spatial = shape.spatial
      parallelFor(shape.batch * shape.channels, costPerItem: spatial) { planes in
        for plane in planes {
          let channel = plane % shape.channels
          let centerVector = SIMD8<Scalar>(repeating: center[channel])
          let scaleVector = SIMD8<Scalar>(repeating: scale[channel])
          let shiftVector = SIMD8<Scalar>(repeating: shift[channel])
          Self.write(
            into: destination + plane * spatial, length: spatial, relu: relu, streams: streams
          ) { index in
            (source.loadVector(at: plane * spatial + index) - centerVector) * scaleVector + shiftVector
          } value: { index in
            (source[plane * spatial + index] - center[channel]) * scale[channel] + shift[channel]
          }
        }
        if Streams.isOn { bn_stream_fence() }
      }
    case .channelsLast:
      let channels = shape.channels
      parallelFor(shape.valuesPerChannel, costPerItem: channels) { rows in
        for row in rows { self.row(row * channels, relu: relu) }
      }
    }
  }

  /// One row of C channels at `offset`, with per-channel coefficient vectors.
  @inline(__always)
  func row<ReLU: KernelSwitch>(_ offset: Int, relu: ReLU.Type) {
    let values = source + offset, output = destination + offset
    var column = 0
    while column + 8 <= shape.channels {
      var value = (values.loadVector(at: column) - center.loadVector(at: column)) * scale.loadVector(at: column)
        + shift.loadVector(at: column)
      if ReLU.isOn { value.replace(with: 0, where: value .<= 0) }
      output.storeVector(value, at: column)
      column += 8
    }
    while column < shape.channels {
      let value = (values[column] - center[column]) * scale[column] + shift[column]
      output[column] = ReLU.isOn && value <= 0 ? 0 : value
      column += 1
    }
  }

  /// Writes `length` values, eight at a time from `vector(index)` and one at a time from
  /// `value(index)`, with max(0, ·) when `ReLU` is on. With `Streams` on (Float only), the
  /// whole 64-byte lines of the destination are written with streaming stores and the
  /// partial lines at either end with ordinary ones: a line written both ways would be
  /// read in and flushed again (one 256-byte row at a time, that was 1.4× slower).
  @inline(__always)
  static func write<ReLU: KernelSwitch, Streams: KernelSwitch>(
    into destination: UnsafeMutablePointer<Scalar>, length: Int, relu: ReLU.Type, streams: Streams.Type,
    vector: (Int) -> SIMD8<Scalar>, value: (Int) -> Scalar
  ) {
    @inline(__always) func scalar(_ index: Int) {
      let result = value(index)
      destination[index] = ReLU.isOn && result <= 0 ? 0 : result
    }
    @inline(__always) func eight(_ index: Int) -> SIMD8<Scalar> {
      var result = vector(index)
      if ReLU.isOn { result.replace(with: 0, where: result .<= 0) }
      return result
    }
    var index = 0
    if Streams.isOn, Scalar.self == Float.self {
      // Floats up to the first line boundary, then whole lines of 16 Floats.
      let head = min(length, ((64 - Int(bitPattern: destination) & 63) & 63) / MemoryLayout<Float>.stride)
      while index < head {
        scalar(index)
        index += 1
      }
      let linesEnd = head + (length - head) / 16 * 16
      while index < linesEnd {
        // This is safe: destination + index is 32-byte aligned (a line start, or its middle)
        // and its eight values lie inside the buffer (index + 8 ≤ linesEnd ≤ length).
        bn_stream_store_float8(
          UnsafeMutableRawPointer(destination + index).assumingMemoryBound(to: Float.self),
          unsafeBitCast(eight(index), to: SIMD8<Float>.self))
        index += 8
      }
    }
    while index + 8 <= length {
      destination.storeVector(eight(index), at: index)
      index += 8
    }
    while index < length {
      scalar(index)
      index += 1
    }
  }
}

/// Whether normalize writes its output with streaming stores: a channels-first Float
/// batch whose input and output together exceed 32 MiB, the last-level cache of the
/// machine measured (so the output would not stay in the cache anyway), with planes of at
/// least 1024 values (32x32 and up), so that the partial lines at the ends of each plane
/// stay few. (Channels-last rows are written with ordinary stores.) Writing past the cache saves reading each line in
/// before overwriting it, a third of the traffic of y = a·x + b (a C loop over
/// 32x64x56x56: 811–917 µs with ordinary stores, 673–714 with streaming ones). Smaller
/// outputs stay in the cache for the next layer to read.
func streamsOutput<Scalar>(_ shape: BatchNormShape, scalar: Scalar.Type) -> Bool {
  Scalar.self == Float.self && shape.kernelLayout == .channelsFirst && shape.spatial >= 1024
    && 2 * shape.elementCount * MemoryLayout<Scalar>.size > 32 << 20
}
