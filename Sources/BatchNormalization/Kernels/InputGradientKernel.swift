import CStreamingStores
import ComputeRuntime

/// Per-channel coefficients of the input gradient
/// dx = dy′·gradScale + (x − center)·gradCenterScale + gradShift,
/// where dy′ is dy masked by the fused activation.
///
/// Training (batch statistics): with a = γ·r/σ_B, S = Σdy′, P = Σdy′·(x − µ_B):
/// gradScale = a, gradCenterScale = −a·P/(m·σ_B²), gradShift = −a·S/m.
/// Frozen statistics: gradScale = γ/√(Var + ε); the other two rows are not read (x is
/// then read only for the activation mask). Stored as three ``ChannelRows`` in this order.
typealias InputGradientCoefficients<Scalar: BatchNormScalar> = ChannelRows<Scalar>

/// Writes dx for every element. x and dy are read, and dx written, as `Element`s: Float
/// or Double, or 16-bit storage computed in Float and rounded once (``KernelElement``).
func computeInputGradient<Element: KernelElement>(
  input: BatchElements<Element>, gradOutput: BatchElements<Element>, shape: BatchNormShape,
  forward: ChannelCoefficients<Element.Value>, activation: FusedActivation,
  coefficients: InputGradientCoefficients<Element.Value>, usesBatchStatistics: Bool,
  gradInput: MutableBatchElements<Element>
) {
  let input = input.buffer, gradOutput = gradOutput.buffer, gradInput = gradInput.buffer
  assert(input.count == shape.elementCount && gradOutput.count == shape.elementCount)
  assert(gradInput.count == shape.elementCount)
  guard let x = input.baseAddress, let dy = gradOutput.baseAddress, let dx = gradInput.baseAddress else { return }
  forward.withTable { forward in
    coefficients.withTable { gradient in
      let run = InputGradientRun<Element>(forward: forward, gradient: gradient, channels: shape.channels)
      switch (activation == .relu, usesBatchStatistics) {
      case (false, false): run.all(x, dy, dx, shape: shape, relu: SwitchOff.self, centered: SwitchOff.self)
      case (false, true): run.all(x, dy, dx, shape: shape, relu: SwitchOff.self, centered: SwitchOn.self)
      case (true, false): run.all(x, dy, dx, shape: shape, relu: SwitchOn.self, centered: SwitchOff.self)
      case (true, true): run.all(x, dy, dx, shape: shape, relu: SwitchOn.self, centered: SwitchOn.self)
      }
    }
  }
}

/// One channel's six coefficients: center, scale, shift (forward), then gradScale,
/// gradCenterScale, gradShift.
typealias ChannelInputGradientCoefficients<Scalar> = (
  center: Scalar, scale: Scalar, shift: Scalar, gradScale: Scalar, gradCenterScale: Scalar, gradShift: Scalar
)

/// dx for the N planes of one channel (channels-first, batch statistics), written with
/// streaming stores where ``streamsOutput(_:scalar:buffers:)`` says so for x, dy and dx.
func computeChannelInputGradient<Element: KernelElement>(
  channel: Int, input: UnsafePointer<Element>, gradOutput: UnsafePointer<Element>, shape: BatchNormShape,
  coefficients: ChannelInputGradientCoefficients<Element.Value>, activation: FusedActivation,
  gradInput: UnsafeMutablePointer<Element>
) {
  assert(shape.kernelLayout == .channelsFirst)
  switch (activation == .relu, streamsOutput(shape, scalar: Element.self, buffers: 3)) {
  case (false, false):
    channelPlanes(channel, input, gradOutput, gradInput, shape, coefficients, relu: SwitchOff.self, streams: SwitchOff.self)
  case (false, true):
    channelPlanes(channel, input, gradOutput, gradInput, shape, coefficients, relu: SwitchOff.self, streams: SwitchOn.self)
  case (true, false):
    channelPlanes(channel, input, gradOutput, gradInput, shape, coefficients, relu: SwitchOn.self, streams: SwitchOff.self)
  case (true, true):
    channelPlanes(channel, input, gradOutput, gradInput, shape, coefficients, relu: SwitchOn.self, streams: SwitchOn.self)
  }
}

/// ``computeChannelInputGradient(channel:input:gradOutput:shape:coefficients:activation:gradInput:)``
/// with the fused ReLU and streaming stores as compile-time switches.
private func channelPlanes<Element: KernelElement, ReLU: KernelSwitch, Streams: KernelSwitch>(
  _ channel: Int, _ input: UnsafePointer<Element>, _ gradOutput: UnsafePointer<Element>,
  _ gradInput: UnsafeMutablePointer<Element>, _ shape: BatchNormShape,
  _ coefficients: ChannelInputGradientCoefficients<Element.Value>, relu: ReLU.Type, streams: Streams.Type
) {
  let spatial = shape.spatial
  for sample in 0..<shape.batch {
    // This is safe: plane (sample, channel) lies inside the N·C·S buffers.
    let offset = (sample * shape.channels + channel) * spatial
    InputGradientRun<Element>.run(
      input + offset, gradOutput + offset, gradInput + offset, length: spatial, coefficients: coefficients,
      relu: relu, centered: SwitchOn.self, streams: streams)
  }
  if Streams.isOn { bn_stream_fence() }
}

/// The per-element arithmetic of the input gradient, for one contiguous run.
private struct InputGradientRun<Element: KernelElement> {
  typealias Scalar = Element.Value
  /// Rows of `channels` values: center, scale, shift.
  let forward: UnsafePointer<Scalar>
  /// Rows of `channels` values: gradScale, gradCenterScale, gradShift.
  let gradient: UnsafePointer<Scalar>
  let channels: Int

  /// Row `index` of center, scale, shift, gradScale, gradCenterScale, gradShift.
  @inline(__always)
  func coefficients(_ index: Int) -> UnsafePointer<Scalar> {
    index < 3 ? forward + index * channels : gradient + (index - 3) * channels
  }

  /// dx for every element of `shape`, split over threads by planes or rows.
  func all<ReLU: KernelSwitch, Centered: KernelSwitch>(
    _ x: UnsafePointer<Element>, _ dy: UnsafePointer<Element>, _ dx: UnsafeMutablePointer<Element>,
    shape: BatchNormShape, relu: ReLU.Type, centered: Centered.Type
  ) {
    switch shape.kernelLayout {
    case .channelsFirst:
      let spatial = shape.spatial
      let streams = streamsOutput(shape, scalar: Element.self, buffers: 3)
      parallelFor(shape.batch * shape.channels, costPerItem: 2 * spatial) { planes in
        for plane in planes {
          let offset = plane * spatial
          let coefficients = planeCoefficients(plane % shape.channels)
          if streams {
            Self.run(
              x + offset, dy + offset, dx + offset, length: spatial, coefficients: coefficients, relu: relu,
              centered: centered, streams: SwitchOn.self)
          } else {
            Self.run(
              x + offset, dy + offset, dx + offset, length: spatial, coefficients: coefficients, relu: relu,
              centered: centered, streams: SwitchOff.self)
          }
        }
        if streams { bn_stream_fence() }
      }
    case .channelsLast:
      if channels < 8 { return fewChannels(x, dy, dx, rowCount: shape.valuesPerChannel, relu: relu, centered: centered) }
      if streamsOutput(shape, scalar: Element.self, buffers: 3) {
        withDoubledRows((0..<6).map(coefficients), channels: channels) { doubled in
          streamRows(x, dy, dx, rowCount: shape.valuesPerChannel, doubled: doubled, relu: relu, centered: centered)
        }
        return
      }
      parallelFor(shape.valuesPerChannel, costPerItem: 2 * channels) { rows in
        for row in rows {
          let offset = row * channels
          self.row(x + offset, dy + offset, dx + offset, relu: relu, centered: centered)
        }
      }
    }
  }

  /// Channels-last with C < 8, where a vector holds more than one row (an (N, 3) batch):
  /// the six coefficient rows repeated over a period of P = lcm(C, 8) values, so that
  /// every P consecutive elements from a multiple of P meet the same P/8 coefficient
  /// vectors; the rows after the last whole period one at a time. The same arithmetic per
  /// element as ``row(_:_:_:relu:centered:)``, which went value by value here.
  private func fewChannels<ReLU: KernelSwitch, Centered: KernelSwitch>(
    _ x: UnsafePointer<Element>, _ dy: UnsafePointer<Element>, _ dx: UnsafeMutablePointer<Element>, rowCount: Int,
    relu: ReLU.Type, centered: Centered.Type
  ) {
    var period = 8
    while period % channels != 0 { period += 8 }
    let periods = rowCount * channels / period
    withUnsafeTemporaryAllocation(of: Scalar.self, capacity: 6 * period) { pattern in
      // This is safe: the pattern holds six rows of P values, each period's loads and
      // stores stay inside its P elements, and P·periods ≤ N·C.
      let table = pattern.baseAddress!
      for row in 0..<6 {
        for index in 0..<period { (table + row * period + index).initialize(to: coefficients(row)[index % channels]) }
      }
      let first = UnsafePointer(table)
      let rows = CoefficientRows(
        center: first, scale: first + period, shift: first + 2 * period, gradScale: first + 3 * period,
        gradCenterScale: first + 4 * period, gradShift: first + 5 * period)
      parallelFor(periods, costPerItem: 2 * period) { range in
        for start in stride(from: range.lowerBound * period, to: range.upperBound * period, by: period) {
          var offset = 0
          while offset < period {
            let gradient = Self.vectorGradient(
              Element.loadVector(x, at: start + offset), Element.loadVector(dy, at: start + offset), column: offset,
              rows: rows, relu: relu, centered: centered)
            Element.storeVector(gradient, to: dx, at: start + offset)
            offset += 8
          }
        }
      }
    }
    for row in periods * period / channels..<rowCount {
      let offset = row * channels
      self.row(x + offset, dy + offset, dx + offset, relu: relu, centered: centered)
    }
  }

  /// Channel `channel`'s six coefficients from the tables.
  @inline(__always)
  func planeCoefficients(_ channel: Int) -> ChannelInputGradientCoefficients<Scalar> {
    (
      coefficients(0)[channel], coefficients(1)[channel], coefficients(2)[channel], coefficients(3)[channel],
      coefficients(4)[channel], coefficients(5)[channel]
    )
  }

  /// dx = dy′·gradScale (+ (x − center)·gradCenterScale + gradShift when centered).
  @inline(__always)
  static func value<ReLU: KernelSwitch, Centered: KernelSwitch, Vector: SIMD>(
    _ x: Vector, _ dy: Vector, center: Vector, scale: Vector, shift: Vector,
    gradScale: Vector, gradCenterScale: Vector, gradShift: Vector, relu: ReLU.Type, centered: Centered.Type
  ) -> Vector where Vector.Scalar == Scalar {
    var gradient = dy
    if ReLU.isOn { gradient.replace(with: 0, where: (x - center) * scale + shift .<= 0) }
    guard Centered.isOn else { return gradient * gradScale }
    return gradient * gradScale + (x - center) * gradCenterScale + gradShift
  }

  /// A channels-first plane: one channel's coefficients for the whole run, written with
  /// streaming stores when `Streams` is on (``writeRun(into:length:streams:vector:value:)``).
  @inline(__always)
  static func run<ReLU: KernelSwitch, Centered: KernelSwitch, Streams: KernelSwitch>(
    _ x: UnsafePointer<Element>, _ dy: UnsafePointer<Element>, _ dx: UnsafeMutablePointer<Element>,
    length: Int, coefficients: ChannelInputGradientCoefficients<Scalar>, relu: ReLU.Type, centered: Centered.Type,
    streams: Streams.Type = SwitchOff.self
  ) {
    let center = SIMD8(repeating: coefficients.center), scale = SIMD8(repeating: coefficients.scale)
    let shift = SIMD8(repeating: coefficients.shift), gradScale = SIMD8(repeating: coefficients.gradScale)
    let gradCenterScale = SIMD8(repeating: coefficients.gradCenterScale)
    let gradShift = SIMD8(repeating: coefficients.gradShift)
    writeRun(into: dx, length: length, streams: streams) { index in
      value(
        Element.loadVector(x, at: index), Element.loadVector(dy, at: index), center: center, scale: scale, shift: shift,
        gradScale: gradScale, gradCenterScale: gradCenterScale, gradShift: gradShift, relu: relu, centered: centered)
    } value: { index in
      value(
        SIMD2(Element.value(x, at: index), 0), SIMD2(Element.value(dy, at: index), 0), center: center.lowHalf.lowHalf, scale: scale.lowHalf.lowHalf,
        shift: shift.lowHalf.lowHalf, gradScale: gradScale.lowHalf.lowHalf,
        gradCenterScale: gradCenterScale.lowHalf.lowHalf, gradShift: gradShift.lowHalf.lowHalf,
        relu: relu, centered: centered)[0]
    }
  }

  /// Channels-last rows, each work item's rows as one run written with streaming stores
  /// (``writeRows(into:rows:channels:vector:value:)``), with the six coefficient rows read
  /// from `doubled` (``withDoubledRows(_:channels:_:)``: row k at `doubled + 2k·C`).
  private func streamRows<ReLU: KernelSwitch, Centered: KernelSwitch>(
    _ x: UnsafePointer<Element>, _ dy: UnsafePointer<Element>, _ dx: UnsafeMutablePointer<Element>, rowCount: Int,
    doubled: UnsafePointer<Scalar>, relu: ReLU.Type, centered: Centered.Type
  ) {
    let width = channels
    let rows = CoefficientRows(
      center: doubled, scale: doubled + 2 * width, shift: doubled + 4 * width, gradScale: doubled + 6 * width,
      gradCenterScale: doubled + 8 * width, gradShift: doubled + 10 * width)
    parallelFor(rowCount, costPerItem: 2 * width) { range in
      writeRows(into: dx, rows: range, channels: width) { offset, column in
        // This is safe: column < C, so column + 7 < 2·C (writeRows).
        Self.vectorGradient(
          Element.loadVector(x, at: offset), Element.loadVector(dy, at: offset), column: column, rows: rows, relu: relu,
          centered: centered)
      } value: { offset, column in
        Self.scalarGradient(Element.value(x, at: offset), Element.value(dy, at: offset), column: column, rows: rows, relu: relu, centered: centered)
      }
      bn_stream_fence()
    }
  }

  /// Where the six coefficient rows start.
  typealias CoefficientRows = (
    center: UnsafePointer<Scalar>, scale: UnsafePointer<Scalar>, shift: UnsafePointer<Scalar>,
    gradScale: UnsafePointer<Scalar>, gradCenterScale: UnsafePointer<Scalar>, gradShift: UnsafePointer<Scalar>
  )

  /// The six rows of the tables this run was made with.
  var coefficientRows: CoefficientRows {
    (coefficients(0), coefficients(1), coefficients(2), coefficients(3), coefficients(4), coefficients(5))
  }

  /// dx of the eight values x, dy of columns `column..<column + 8`. Rows a variant does
  /// not use are never loaded (the switches fold).
  @inline(__always)
  static func vectorGradient<ReLU: KernelSwitch, Centered: KernelSwitch>(
    _ x: SIMD8<Scalar>, _ dy: SIMD8<Scalar>, column: Int, rows: CoefficientRows, relu: ReLU.Type,
    centered: Centered.Type
  ) -> SIMD8<Scalar> {
    value(
      x, dy, center: ReLU.isOn || Centered.isOn ? rows.center.loadVector(at: column) : .zero,
      scale: ReLU.isOn ? rows.scale.loadVector(at: column) : .zero,
      shift: ReLU.isOn ? rows.shift.loadVector(at: column) : .zero, gradScale: rows.gradScale.loadVector(at: column),
      gradCenterScale: Centered.isOn ? rows.gradCenterScale.loadVector(at: column) : .zero,
      gradShift: Centered.isOn ? rows.gradShift.loadVector(at: column) : .zero, relu: relu, centered: centered)
  }

  /// dx of one value x, dy of column `column`, as
  /// ``vectorGradient(_:_:column:rows:relu:centered:)``.
  @inline(__always)
  static func scalarGradient<ReLU: KernelSwitch, Centered: KernelSwitch>(
    _ x: Scalar, _ dy: Scalar, column: Int, rows: CoefficientRows, relu: ReLU.Type, centered: Centered.Type
  ) -> Scalar {
    value(
      SIMD2(x, 0), SIMD2(dy, 0), center: SIMD2(repeating: rows.center[column]),
      scale: SIMD2(repeating: rows.scale[column]), shift: SIMD2(repeating: rows.shift[column]),
      gradScale: SIMD2(repeating: rows.gradScale[column]),
      gradCenterScale: SIMD2(repeating: rows.gradCenterScale[column]),
      gradShift: SIMD2(repeating: rows.gradShift[column]), relu: relu, centered: centered)[0]
  }

  /// A channels-last row: per-channel coefficient vectors.
  @inline(__always)
  func row<ReLU: KernelSwitch, Centered: KernelSwitch>(
    _ x: UnsafePointer<Element>, _ dy: UnsafePointer<Element>, _ dx: UnsafeMutablePointer<Element>,
    relu: ReLU.Type, centered: Centered.Type
  ) {
    let rows = coefficientRows
    var column = 0
    while column + 8 <= channels {
      Element.storeVector(
        Self.vectorGradient(
          Element.loadVector(x, at: column), Element.loadVector(dy, at: column), column: column, rows: rows, relu: relu,
          centered: centered), to: dx, at: column)
      column += 8
    }
    while column < channels {
      Element.store(
        Self.scalarGradient(
          Element.value(x, at: column), Element.value(dy, at: column), column: column, rows: rows, relu: relu,
          centered: centered), to: dx, at: column)
      column += 1
    }
  }
}
