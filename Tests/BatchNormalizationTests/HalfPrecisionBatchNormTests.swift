import BatchNormalization
import HalfPrecision
import Testing

/// Batch normalization over Float16 and BFloat16 storage with Float statistics: each
/// output value is the Float64 reference rounded to the storage type, or its neighbour
/// where the reference lies within Float's error of a half-way point (counted, at most
/// 1 in 100); the statistics, running statistics, dγ and dβ are the Float layer's on the
/// widened values, bit for bit.
@Suite struct HalfPrecisionBatchNormTests {
  enum Storage: String, CaseIterable, Sendable { case float16, bfloat16 }

  struct Case: Sendable, CustomTestStringConvertible {
    let dimensions: [Int]
    let layout: ChannelLayout
    var relu = false
    var ghost: Int? = nil
    var testDescription: String {
      "\(dimensions) \(layout)" + (relu ? " relu" : "") + (ghost.map { " ghost \($0)" } ?? "")
    }
  }

  static let cases: [Case] = [
    Case(dimensions: [8, 5, 6, 7], layout: .channelsFirst),
    Case(dimensions: [8, 6, 7, 5], layout: .channelsLast),
    Case(dimensions: [64, 37], layout: .channelsFirst),
    Case(dimensions: [6, 3, 33], layout: .channelsFirst, relu: true),
    Case(dimensions: [16, 4, 5, 5], layout: .channelsFirst, ghost: 4),
    Case(dimensions: [4, 9, 9, 12], layout: .channelsLast, relu: true),
  ]

  /// The checks of one output array against its Float64 reference.
  struct Rounding {
    var neighbours = 0
    var wrong = 0
    var count = 0
  }

  /// The value of type `Half` nearest to `value` (ties to even), from the Double itself.
  static func nearest<Half: HalfPrecisionScalar>(_ value: Double, as: Half.Type) -> Half {
    if Half.self == Float16.self { return Float16(value) as! Half }
    // bfloat16: the closest of the three values around Float's truncation.
    let truncated = UInt16(Float(value).bitPattern >> 16)
    let candidates = [truncated &- 1, truncated, truncated &+ 1].map { BFloat16(bitPattern: $0) }
      .filter { !$0.floatValue.isNaN && ($0.bitPattern ^ truncated) & 0x8000 == 0 }
    let best = candidates.min { a, b in
      let (da, db) = (abs(Double(a.floatValue) - value), abs(Double(b.floatValue) - value))
      return da < db || (da == db && a.bitPattern & 1 == 0)
    }!
    return best as! Half
  }

  static func check<Half: HalfPrecisionScalar>(_ actual: [Half], reference: [Double], into rounding: inout Rounding) {
    for (value, exact) in zip(actual, reference) {
      rounding.count += 1
      let expected = nearest(exact, as: Half.self)
      guard value.floatValue != expected.floatValue else { continue }
      // A neighbour is right only where the reference is within Float's error of the
      // half-way point between the two.
      let (a, b) = (Double(value.floatValue), Double(expected.floatValue))
      let adjacent = Half.narrowed([Float((a + b) / 2)]).map(\.floatValue).allSatisfy { $0 == value.floatValue || $0 == expected.floatValue }
      let nearHalfWay = abs(exact - (a + b) / 2) <= 1e-6 * max(abs(exact), 1)
      if adjacent && nearHalfWay { rounding.neighbours += 1 } else { rounding.wrong += 1 }
    }
  }

  static func run<Half: HalfPrecisionScalar>(_ type: Half.Type, _ testCase: Case) throws {
    let shape = try BatchNormShape(dimensions: testCase.dimensions, layout: testCase.layout)
    var generator = SplitMix64(seed: 41)
    let x = Half.narrowed(generator.batch(shape, as: Float.self))
    let dy = Half.narrowed(generator.gaussians(shape.elementCount, as: Float.self))
    let wideX = Half.widened(x), wideDy = Half.widened(dy)
    var configuration = BatchNormConfiguration.pytorch
    configuration.activation = testCase.relu ? .relu : .none
    configuration.virtualBatchSize = testCase.ghost
    var half = try BatchNorm<Float>(channels: shape.channels, configuration: configuration)
    half.scale = (0..<shape.channels).map { _ in Float.random(in: 0.5...2, using: &generator) }
    half.shift = (0..<shape.channels).map { _ in Float.random(in: -1...1, using: &generator) }
    var float = half

    // Training: the output against the reference, everything else against the Float layer.
    let (y, context) = try half.forward(x, shape: shape, mode: .training)
    let (floatY, floatContext) = try float.forward(wideX, shape: shape, mode: .training)
    var reference = ReferenceBatchNorm(channels: shape.channels, gamma: half.scale.map(Double.init), beta: half.shift.map(Double.init))
    reference.relu = testCase.relu
    let groups = testCase.ghost.map { size in stride(from: 0, to: shape.batch, by: size).map { $0..<min($0 + size, shape.batch) } }
    var rounding = Rounding()
    check(y, reference: reference.trainingForward(wideX.map(Double.init), shape, groups: groups), into: &rounding)
    #expect(half.runningStatistics == float.runningStatistics)
    #expect(y.map(\.floatValue).map(\.bitPattern) == Half.narrowed(floatY).map(\.floatValue).map(\.bitPattern))

    // Backward with batch statistics.
    let (dx, parameters) = try half.backward(dy, input: x, context: context)
    let (_, floatParameters) = try float.backward(wideDy, input: wideX, context: floatContext)
    #expect(parameters == floatParameters)
    let expectedGradients = reference.trainingBackward(wideDy.map(Double.init), wideX.map(Double.init), shape, groups: groups)
    check(dx, reference: expectedGradients.dx, into: &rounding)

    // Inference with the running statistics, and backward with them frozen.
    let (inferred, frozenContext) = try half.forward(x, shape: shape, mode: .inference)
    let mean = half.runningStatistics.mean.map(Double.init), variance = half.runningStatistics.variance.map(Double.init)
    check(inferred, reference: reference.inferenceForward(wideX.map(Double.init), shape, mean: mean, variance: variance), into: &rounding)
    let frozen = try half.backward(dy, input: x, context: frozenContext)
    let frozenReference = reference.frozenBackward(wideDy.map(Double.init), wideX.map(Double.init), shape, mean: mean, variance: variance)
    check(frozen.gradInput, reference: frozenReference.dx, into: &rounding)

    #expect(rounding.wrong == 0, "\(Half.typeName) \(testCase.testDescription): \(rounding)")
    #expect(rounding.neighbours * 100 <= rounding.count, "\(Half.typeName) \(testCase.testDescription): \(rounding)")
  }

  @Test(arguments: Storage.allCases, cases)
  func outputsAreTheReferenceRoundedOnce(storage: Storage, testCase: Case) throws {
    switch storage {
    case .float16: try Self.run(Float16.self, testCase)
    case .bfloat16: try Self.run(BFloat16.self, testCase)
    }
  }

  /// The modes and variants the shapes above do not reach: batch statistics without an
  /// update, recalibration, Batch Renormalization (with limits that bind), no affine
  /// parameters, a layer without running statistics. Each half output is the Float
  /// layer's output on the widened values, rounded once; the states agree bit for bit.
  @Test(arguments: Storage.allCases)
  func everyModeAndVariantIsTheFloatLayerRoundedOnce(storage: Storage) throws {
    switch storage {
    case .float16: try Self.modesAndVariants(Float16.self)
    case .bfloat16: try Self.modesAndVariants(BFloat16.self)
    }
  }

  static func modesAndVariants<Half: HalfPrecisionScalar>(_ type: Half.Type) throws {
    let shape = try BatchNormShape(dimensions: [8, 6, 5, 3], layout: .channelsLast)
    var generator = SplitMix64(seed: 9)
    let x = Half.narrowed(generator.batch(shape, as: Float.self))
    let wide = Half.widened(x)
    var renormalized = BatchNormConfiguration.pytorch
    renormalized.renormalization = RenormalizationLimits(rMax: 1.5, dMax: 0.5)
    var affineFree = BatchNormConfiguration.pytorch
    affineFree.isAffine = false
    var untracked = BatchNormConfiguration.pytorch
    untracked.tracksRunningStatistics = false
    let cases: [(BatchNormConfiguration, [BatchNormMode])] = [
      (.pytorch, [.batchStatistics, .recalibration, .training, .inference]),
      (renormalized, [.training, .training, .inference]),
      (affineFree, [.training, .inference]),
      (untracked, [.training, .inference]),
    ]
    for (configuration, modes) in cases {
      var half = try BatchNorm<Float>(channels: shape.channels, configuration: configuration)
      half.runningStatistics.mean = (0..<shape.channels).map { Float($0) * 0.5 }
      var float = half
      for mode in modes {
        let (y, context) = try half.forward(x, shape: shape, mode: mode)
        let (floatY, floatContext) = try float.forward(wide, shape: shape, mode: mode)
        #expect(y.map(\.floatValue).map(\.bitPattern) == Half.narrowed(floatY).map(\.floatValue).map(\.bitPattern), "\(mode)")
        #expect(half.runningStatistics == float.runningStatistics, "\(mode)")
        #expect(context.runningStatisticsUpdate == floatContext.runningStatisticsUpdate, "\(mode)")
      }
    }
  }

  /// Shapes that take each path of the backward kernels, which read 16-bit x and dy in
  /// place and write 16-bit dx: channel by channel (N = 1, and planes of ≥ 16 Ki values),
  /// two passes over several blocks, channels-last with few rows and many columns, with
  /// many rows over several blocks, channel counts that are not a multiple of eight, and
  /// fewer than eight channels-last channels (a period of lcm(C, 8) values at a time).
  static let backwardShapes: [(dimensions: [Int], layout: ChannelLayout)] = [
    ([1, 4, 300], .channelsFirst),
    ([2, 3, 128, 130], .channelsFirst),
    ([12, 2, 60, 60], .channelsFirst),
    ([2, 8192], .channelsFirst),
    ([6, 100], .channelsLast),
    ([9000, 13], .channelsLast),
    ([4, 7, 7, 37], .channelsLast),
    ([3000, 3], .channelsLast),
    ([2, 9, 9, 5], .channelsLast),
  ]

  /// Backward with batch and with frozen statistics, with and without the fused ReLU,
  /// through Batch Renormalization and ghost batches: each dx is the Float layer's dx on the
  /// widened values rounded once, bit for bit, and dγ, dβ are the Float layer's.
  @Test(arguments: Storage.allCases)
  func backwardIsTheFloatLayerRoundedOnce(storage: Storage) throws {
    switch storage {
    case .float16: try Self.backwardPaths(Float16.self)
    case .bfloat16: try Self.backwardPaths(BFloat16.self)
    }
  }

  static func backwardPaths<Half: HalfPrecisionScalar>(_ type: Half.Type) throws {
    var renormalized = BatchNormConfiguration.pytorch
    renormalized.renormalization = RenormalizationLimits(rMax: 1.5, dMax: 0.5)
    var withReLU = BatchNormConfiguration.pytorch
    withReLU.activation = .relu
    var ghost = BatchNormConfiguration.pytorch
    ghost.virtualBatchSize = 2
    var generator = SplitMix64(seed: 11)
    for (dimensions, layout) in backwardShapes {
      let shape = try BatchNormShape(dimensions: dimensions, layout: layout)
      let x = Half.narrowed(generator.batch(shape, as: Float.self))
      let dy = Half.narrowed(generator.gaussians(shape.elementCount, as: Float.self))
      let (wideX, wideDy) = (Half.widened(x), Half.widened(dy))
      for configuration in [BatchNormConfiguration.pytorch, withReLU, renormalized, ghost] {
        var half = try BatchNorm<Float>(channels: shape.channels, configuration: configuration)
        half.scale = (0..<shape.channels).map { _ in Float.random(in: -2...2, using: &generator) }
        half.shift = (0..<shape.channels).map { _ in Float.random(in: -1...1, using: &generator) }
        var float = half
        for mode in [BatchNormMode.training, .inference] {
          let label = "\(dimensions) \(layout) \(configuration.activation) \(mode)"
          let (_, context) = try half.forward(x, shape: shape, mode: mode)
          let (_, floatContext) = try float.forward(wideX, shape: shape, mode: mode)
          let (dx, parameters) = try half.backward(dy, input: x, context: context)
          let (floatDx, floatParameters) = try float.backward(wideDy, input: wideX, context: floatContext)
          #expect(parameters == floatParameters, "\(label)")
          let expected = Half.narrowed(floatDx)
          let differing = zip(dx, expected).filter { $0.floatValue.bitPattern != $1.floatValue.bitPattern }.count
          #expect(dx.count == expected.count && differing == 0, "\(label): \(differing) of \(dx.count) values differ")
        }
      }
    }
  }

  /// A 16-bit type of someone else's, which the kernels do not read in place, goes
  /// through Float arrays: the same results as BFloat16, whose bits it wraps.
  @Test func anotherHalfPrecisionTypeIsWidened() throws {
    let shape = try BatchNormShape(dimensions: [6, 5, 7], layout: .channelsFirst)
    var generator = SplitMix64(seed: 12)
    let x = BFloat16.narrowed(generator.batch(shape, as: Float.self))
    let dy = BFloat16.narrowed(generator.gaussians(shape.elementCount, as: Float.self))
    var layer = try BatchNorm<Float>(channels: shape.channels)
    var wrappedLayer = layer
    let (y, context) = try layer.forward(x, shape: shape, mode: .training)
    let (wrappedY, wrappedContext) = try wrappedLayer.forward(x.map(WrappedBFloat16.init), shape: shape, mode: .training)
    #expect(wrappedY.map(\.value) == y)
    #expect(wrappedLayer.runningStatistics == layer.runningStatistics)
    let (dx, parameters) = try layer.backward(dy, input: x, context: context)
    let (wrappedDx, wrappedParameters) = try wrappedLayer.backward(
      dy.map(WrappedBFloat16.init), input: x.map(WrappedBFloat16.init), context: wrappedContext)
    #expect(wrappedDx.map(\.value) == dx)
    #expect(wrappedParameters == parameters)
  }

  @Test func aWrongOutputSizeChangesNothing() throws {
    var layer = try BatchNorm<Float>(channels: 2)
    let before = layer.runningStatistics
    var output = [BFloat16](repeating: BFloat16(7), count: 5)
    #expect(throws: BatchNormError.self) {
      try layer.forward([BFloat16](repeating: BFloat16(1), count: 8), shape: BatchNormShape(batch: 4, channels: 2), mode: .training, into: &output)
    }
    #expect(output == [BFloat16](repeating: BFloat16(7), count: 5))
    #expect(layer.runningStatistics == before)
  }

  @Test func nonFiniteValuesFollowTheFloatRule() throws {
    let shape = try BatchNormShape(batch: 4, channels: 2)
    let x: [Float16] = [1, 2, .nan, 3, .infinity, 4, 0, 5]  // channel 0 holds NaN and ∞
    var half = try BatchNorm<Float>(channels: 2)
    var float = half
    let (y, context) = try half.forward(x, shape: shape, mode: .training)
    let (floatY, _) = try float.forward(Float16.widened(x), shape: shape, mode: .training)
    #expect(context.runningStatisticsUpdate == .skippedNonFinite)
    #expect(half.runningStatistics == float.runningStatistics)
    #expect(y.map(\.bitPattern) == Float16.narrowed(floatY).map(\.bitPattern))
    #expect(y[0].isNaN && !y[1].isNaN)
  }
}

/// A BFloat16 in a type of its own: a HalfPrecisionScalar that the library does not know.
struct WrappedBFloat16: HalfPrecisionScalar {
  let value: BFloat16
  init(_ value: BFloat16) { self.value = value }
  init(rounding value: Float) { self.value = BFloat16(rounding: value) }
  static var typeName: String { "wrapped bfloat16" }
  var floatValue: Float { value.floatValue }
  var description: String { value.description }
  static func widened(_ values: [WrappedBFloat16]) -> [Float] { values.map(\.floatValue) }
  static func narrowed(_ values: [Float]) -> [WrappedBFloat16] { values.map(WrappedBFloat16.init(rounding:)) }
  static func loadFloats(from base: UnsafePointer<WrappedBFloat16>, at index: Int) -> SIMD8<Float> {
    SIMD8((0..<8).map { base[index + $0].floatValue })
  }
  static func storeFloats(_ values: SIMD8<Float>, to base: UnsafeMutablePointer<WrappedBFloat16>, at index: Int) {
    for lane in 0..<8 { base[index + lane] = WrappedBFloat16(rounding: values[lane]) }
  }
}
