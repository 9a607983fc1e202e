import BatchNormalization
import Testing

/// Bad input gets a thrown error naming the values, and changes nothing.
@Suite struct ErrorTests {
  @Test(arguments: [[1, 3], [1, 3, 1, 1], [1, 1, 1, 1, 1]])
  func oneValuePerChannelInTraining(dimensions: [Int]) throws {
    let shape = try BatchNormShape(dimensions: dimensions)
    var layer = try BatchNorm<Float>(channels: shape.channels)
    let before = layer
    let error = #expect(throws: BatchNormError.self) {
      try layer.forward([Float](repeating: 1, count: shape.elementCount), shape: shape, mode: .training)
    }
    #expect(error == .singleValuePerChannel(shape: shape))
    #expect(error?.description.hasPrefix("Expected more than 1 value per channel when training, got 1") == true)
    #expect(layer == before)
    // Inference is fine with one value: running mean 0 and variance 1 give 1/√(1 + ε).
    let (y, _) = try layer.forward([Float](repeating: 1, count: shape.elementCount), shape: shape, mode: .inference)
    #expect(maximumDifference(y, [Double](repeating: 1 / (1 + 1e-5).squareRoot(), count: shape.elementCount)) <= 1e-7)
  }

  @Test func singleValuePolicyCanUseRunningStatistics() throws {
    var layer = try BatchNorm<Double>(channels: 2, configuration: .init(singleValuePolicy: .useRunningStatistics))
    layer.runningStatistics.mean = [1, 2]
    layer.runningStatistics.variance = [4, 9]
    let (y, context) = try layer.forward([3, 8], shape: BatchNormShape(batch: 1, channels: 2), mode: .training)
    #expect(!context.usesBatchStatistics)
    #expect(context.runningStatisticsUpdate == .unchanged)
    #expect(maximumDifference(y, [2 / (4 + 1e-5).squareRoot(), 6 / (9 + 1e-5).squareRoot()]) < 1e-12)
  }

  @Test func ghostGroupsOfOneValueAreRefused() throws {
    var layer = try BatchNorm<Double>(channels: 2, configuration: .init(virtualBatchSize: 1))
    #expect(throws: BatchNormError.self) {
      try layer.forward([Double](repeating: 0, count: 8), shape: BatchNormShape(batch: 4, channels: 2), mode: .training)
    }
  }

  @Test func mismatchedCountsNameBothNumbers() throws {
    var layer = try BatchNorm<Float>(channels: 3)
    let shape = try BatchNormShape(batch: 2, channels: 3)
    #expect(throws: BatchNormError.elementCountMismatch(name: "input", expected: 6, actual: 5)) {
      try layer.forward([Float](repeating: 0, count: 5), shape: shape, mode: .training)
    }
    #expect(throws: BatchNormError.channelCountMismatch(name: "input", expected: 3, actual: 4)) {
      try layer.forward([Float](repeating: 0, count: 8), shape: BatchNormShape(batch: 2, channels: 4), mode: .training)
    }
    layer.scale = [1, 1]
    let error = #expect(throws: BatchNormError.self) {
      try layer.forward([Float](repeating: 0, count: 6), shape: shape, mode: .training)
    }
    #expect(error?.description == "scale has 2 values but the layer has 3 channels")
    #expect(layer.runningStatistics == RunningStatistics(channels: 3))
  }

  @Test func invalidConfigurationsAreRefused() throws {
    #expect(throws: BatchNormError.invalidParameter(name: "epsilon", value: -1e-5, allowed: "a finite value ≥ 0")) {
      try BatchNorm<Float>(channels: 1, configuration: .init(epsilon: -1e-5))
    }
    #expect(throws: BatchNormError.self) { try BatchNorm<Float>(channels: 1, configuration: .init(momentum: .exponential(1.5))) }
    #expect(throws: BatchNormError.self) { try BatchNorm<Float>(channels: 1, configuration: .init(momentum: .exponential(-0.1))) }
    #expect(throws: BatchNormError.self) { try BatchNorm<Float>(channels: 0) }
    #expect(throws: BatchNormError.self) { try BatchNorm<Float>(channels: 1, configuration: .init(virtualBatchSize: 0)) }
    #expect(throws: BatchNormError.self) {
      try BatchNorm<Float>(channels: 1, configuration: .init(renormalization: .init(rMax: 0.5, dMax: 0)))
    }
    // A configuration changed after init is checked at the next call.
    var layer = try BatchNorm<Float>(channels: 1)
    layer.configuration.epsilon = .nan
    #expect(throws: BatchNormError.self) { try layer.forward([1, 2], shape: BatchNormShape(batch: 2, channels: 1), mode: .training) }
  }

  @Test(arguments: [[3], [0, 2], [2, -1, 3], [Int.max, 2, 2]])
  func invalidShapesAreRefused(dimensions: [Int]) {
    #expect(throws: BatchNormError.self) { try BatchNormShape(dimensions: dimensions) }
  }

  @Test func backwardRefusesAForeignContext() throws {
    var layer = try BatchNorm<Float>(channels: 2)
    let shape = try BatchNormShape(batch: 3, channels: 2)
    let (_, context) = try layer.forward([1, 2, 3, 4, 5, 7], shape: shape, mode: .training)
    var other = try BatchNorm<Float>(channels: 3)
    _ = try other.forward([Float](repeating: 1, count: 9), shape: BatchNormShape(batch: 3, channels: 3), mode: .inference)
    #expect(throws: BatchNormError.self) { try other.backward([Float](repeating: 1, count: 6), input: [1, 2, 3, 4, 5, 7], context: context) }
    #expect(throws: BatchNormError.elementCountMismatch(name: "input", expected: 6, actual: 4)) {
      try layer.backward([Float](repeating: 1, count: 6), input: [1, 2, 3, 4], context: context)
    }
  }

  @Test func recalibrationNeedsRunningStatistics() throws {
    var layer = try BatchNorm<Float>(channels: 1, configuration: .init(tracksRunningStatistics: false))
    #expect(throws: BatchNormError.self) { try layer.forward([1, 2], shape: BatchNormShape(batch: 2, channels: 1), mode: .recalibration) }
  }
}
