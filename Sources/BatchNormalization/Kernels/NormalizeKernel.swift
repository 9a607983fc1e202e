import CStreamingStores
import ComputeRuntime

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
/// (``streamsOutput(_:scalar:buffers:)``; channels-first planes through
/// ``writeRun(into:length:streams:vector:value:)``, channels-last rows through
/// ``writeRows(into:rows:channels:vector:value:)``). x is read and y written as
/// `Element`s: Float or Double, or 16-bit storage computed in Float with the Float
/// layer's arithmetic and rounded once (two bytes each way per value instead of four).
func normalize<Element: KernelElement>(
  input: BatchElements<Element>, shape: BatchNormShape,
  coefficients: ChannelCoefficients<Element.Value>, activation: FusedActivation, output: MutableBatchElements<Element>
) {
  let input = input.buffer, output = output.buffer
  assert(input.count == shape.elementCount && output.count == shape.elementCount)
  assert(coefficients.channels == shape.channels)
  guard let source = input.baseAddress, let destination = output.baseAddress else { return }
  coefficients.withTable { table in
    let kernel = NormalizeKernel<Element>(
      source: source, destination: destination, shape: shape, center: table, scale: table + shape.channels,
      shift: table + 2 * shape.channels)
    switch (activation == .relu, streamsOutput(shape, scalar: Element.self)) {
    case (false, false): kernel.run(relu: SwitchOff.self, streams: SwitchOff.self)
    case (false, true): kernel.run(relu: SwitchOff.self, streams: SwitchOn.self)
    case (true, false): kernel.run(relu: SwitchOn.self, streams: SwitchOff.self)
    case (true, true): kernel.run(relu: SwitchOn.self, streams: SwitchOn.self)
    }
  }
}

/// ``normalize(input:shape:coefficients:activation:output:)`` on the storage that code
/// generic over the scalar holds: Float or Double with coefficients of their own type, or
/// 16-bit storage with Float coefficients (``isKernelElement(_:)`` must hold for `Stored`).
func normalize<Stored, Value: BatchNormScalar>(
  stored input: BatchElements<Stored>, shape: BatchNormShape, coefficients: ChannelCoefficients<Value>,
  activation: FusedActivation, output: MutableBatchElements<Stored>
) {
  NormalizeCall(input: input, shape: shape, coefficients: coefficients, activation: activation, output: output)
    .runAsKnownElement()
}

/// ``normalize(input:shape:coefficients:activation:output:)`` for the kernel element that
/// `Stored` is; the coefficients are of its computing type.
private struct NormalizeCall<Stored, Value: BatchNormScalar>: KernelCall {
  typealias Failure = Never
  let input: BatchElements<Stored>
  let shape: BatchNormShape
  let coefficients: ChannelCoefficients<Value>
  let activation: FusedActivation
  let output: MutableBatchElements<Stored>

  func run<Element: KernelElement>(as element: Element.Type) {
    normalize(
      input: input.viewed(as: element), shape: shape, coefficients: coefficients as! ChannelCoefficients<Element.Value>,
      activation: activation, output: output.viewed(as: element))
  }
}

/// The pointers of one normalize call. Lives only inside `normalize`.
private struct NormalizeKernel<Element: KernelElement> {
  typealias Scalar = Element.Value
  let source: UnsafePointer<Element>
  let destination: UnsafeMutablePointer<Element>
  let shape: BatchNormShape
  let center: UnsafePointer<Scalar>
  let scale: UnsafePointer<Scalar>
  let shift: UnsafePointer<Scalar>

  /// Every element, split over threads by planes or rows.
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
          writeRun(into: destination + plane * spatial, length: spatial, streams: streams) { index in
            let value = (Element.loadVector(source, at: plane * spatial + index) - centerVector) * scaleVector + shiftVector
            return ReLU.isOn ? value.replacing(with: 0, where: value .<= 0) : value
          } value: { index in
            let value = (Element.value(source, at: plane * spatial + index) - center[channel]) * scale[channel] + shift[channel]
            return ReLU.isOn && value <= 0 ? 0 : value
          }
        }
        if Streams.isOn { bn_stream_fence() }
      }
    case .channelsLast:
      let channels = shape.channels
      if channels < 8 { return fewChannels(relu: relu) }
      guard Streams.isOn else {
        parallelFor(shape.valuesPerChannel, costPerItem: channels) { rows in
          for row in rows { self.row(row * channels, relu: relu) }
        }
        return
      }
      withDoubledRows([center, scale, shift], channels: channels) { doubled in streamRows(doubled: doubled, relu: relu) }
    }
  }

  /// Channels-last rows, each work item's rows as one run written with streaming stores
  /// (``writeRows(into:rows:channels:vector:value:)``), with center, scale and shift read
  /// from `doubled` (``withDoubledRows(_:channels:_:)``: row k at `doubled + 2k·C`).
  private func streamRows<ReLU: KernelSwitch>(doubled: UnsafePointer<Scalar>, relu: ReLU.Type) {
    // Locals, not fields: a closure that captures `self` is not inlined into writeRows.
    let (source, destination, channels) = (source, destination, shape.channels)
    let (center, scale, shift) = (doubled, doubled + 2 * channels, doubled + 4 * channels)
    parallelFor(shape.valuesPerChannel, costPerItem: channels) { rows in
      writeRows(into: destination, rows: rows, channels: channels) { offset, column in
        // This is safe: column < C, so column + 7 < 2·C (writeRows).
        let value = (Element.loadVector(source, at: offset) - center.loadVector(at: column)) * scale.loadVector(at: column)
          + shift.loadVector(at: column)
        return ReLU.isOn ? value.replacing(with: 0, where: value .<= 0) : value
      } value: { offset, column in
        let value = (Element.value(source, at: offset) - center[column]) * scale[column] + shift[column]
        return ReLU.isOn && value <= 0 ? 0 : value
      }
      bn_stream_fence()
    }
  }

  /// Channels-last with C < 8, where a vector holds more than one row: the coefficients
  /// repeated over a period of P = lcm(C, 8) values, so that every P consecutive elements
  /// from a multiple of P meet the same P/8 coefficient vectors; the rows after the last
  /// whole period one at a time. The same arithmetic per element as ``row(_:relu:)``.
  private func fewChannels<ReLU: KernelSwitch>(relu: ReLU.Type) {
    let channels = shape.channels
    var period = 8
    while period % channels != 0 { period += 8 }
    let periods = shape.elementCount / period
    withUnsafeTemporaryAllocation(of: Scalar.self, capacity: 3 * period) { pattern in
      // This is safe: the pattern holds 3·P values, each period's loads and stores stay
      // inside its P elements, and P·periods ≤ N·C.
      let center = pattern.baseAddress!, scale = center + period, shift = center + 2 * period
      for index in 0..<period {
        (center[index], scale[index], shift[index]) =
          (self.center[index % channels], self.scale[index % channels], self.shift[index % channels])
      }
      let (source, destination) = (source, destination)
      parallelFor(periods, costPerItem: period) { range in
        for start in stride(from: range.lowerBound * period, to: range.upperBound * period, by: period) {
          var offset = 0
          while offset < period {
            var value = (Element.loadVector(source, at: start + offset) - center.loadVector(at: offset))
              * scale.loadVector(at: offset) + shift.loadVector(at: offset)
            if ReLU.isOn { value.replace(with: 0, where: value .<= 0) }
            Element.storeVector(value, to: destination, at: start + offset)
            offset += 8
          }
        }
      }
    }
    for row in periods * period / channels..<shape.valuesPerChannel { self.row(row * channels, relu: relu) }
  }

  /// One row of C channels at `offset`, with per-channel coefficient vectors.
  @inline(__always)
  func row<ReLU: KernelSwitch>(_ offset: Int, relu: ReLU.Type) {
    let values = source + offset, output = destination + offset
    var column = 0
    while column + 8 <= shape.channels {
      var value = (Element.loadVector(values, at: column) - center.loadVector(at: column)) * scale.loadVector(at: column)
        + shift.loadVector(at: column)
      if ReLU.isOn { value.replace(with: 0, where: value .<= 0) }
      Element.storeVector(value, to: output, at: column)
      column += 8
    }
    while column < shape.channels {
      let value = (Element.value(values, at: column) - center[column]) * scale[column] + shift[column]
      Element.store(ReLU.isOn && value <= 0 ? 0 : value, to: output, at: column)
      column += 1
    }
  }
}

