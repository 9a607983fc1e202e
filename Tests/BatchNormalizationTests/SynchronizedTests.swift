import BatchNormalization
import Testing
import ThreadProcessGroups

/// Synchronized batch normalization over ranks that are threads: each rank's shard,
/// normalized with the exchanged statistics, must give what one process gives on the
/// whole batch, and every rank must end with the same running statistics, bit for bit.
@Suite struct SynchronizedTests {
  /// The whole batch's dimensions, its layout, and each rank's samples (sizes differ;
  /// a 0 is a rank with an empty shard).
  static let cases: [(dimensions: [Int], layout: ChannelLayout, shards: [Int])] = [
    ([9, 5], .channelsFirst, [3, 1, 5]),
    ([7, 3, 4, 5], .channelsFirst, [2, 0, 5]),
    ([6, 4, 3, 8], .channelsLast, [1, 4, 1]),
    ([61, 10], .channelsFirst, [31, 30]),
    ([5, 3, 130], .channelsFirst, [0, 2, 3]),
  ]

  @Test(arguments: ScalarKind.allCases, cases.indices)
  func shardsMatchOneProcess(kind: ScalarKind, index: Int) throws {
    switch kind {
    case .float: try check(Float.self, index: index, tolerance: kind.tolerance)
    case .double: try check(Double.self, index: index, tolerance: kind.tolerance)
    }
  }

  /// One rank's results of a training step.
  struct RankStep<Scalar: BatchNormScalar>: Sendable {
    var output: [Scalar] = []
    var gradInput: [Scalar] = []
    var scaleGradient: [Scalar]
    var shiftGradient: [Scalar]
    var running: RunningStatistics<Scalar>
  }

  func check<Scalar: BatchNormScalar>(_: Scalar.Type, index: Int, tolerance: Double) throws {
    let (dimensions, layout, shards) = Self.cases[index]
    let shape = try BatchNormShape(dimensions: dimensions, layout: layout)
    var generator = SplitMix64(seed: UInt64(700 + index))
    let x: [Scalar] = generator.batch(shape)
    let dy: [Scalar] = generator.gaussians(shape.elementCount)
    var layer = try BatchNorm<Scalar>(channels: shape.channels)
    layer.scale = (0..<shape.channels).map { _ in Scalar(Double.random(in: 0.5...1.5, using: &generator)) }
    layer.shift = (0..<shape.channels).map { _ in Scalar(Double.random(in: -1...1, using: &generator)) }

    var whole = layer
    let (y, context) = try whole.forward(x, shape: shape, mode: .training)
    let (dx, parameters) = try whole.backward(dy, input: x, context: context)

    let template = layer
    let plane = shape.channels * shape.spatial
    let starts = shards.indices.map { shards[..<$0].reduce(0, +) }
    let group = ThreadProcessGroup(size: shards.count)
    let steps = try group.run { process -> Result<RankStep<Scalar>, BatchNormError> in
      let rank = process.rank
      return Result { () throws(BatchNormError) -> RankStep<Scalar> in
        var local = template
        guard shards[rank] > 0 else {
          let context = try local.forwardWithoutSamples(
            spatial: shape.spatial, layout: layout, mode: .training, synchronizedOver: process)
          try local.backwardWithoutSamples(context: context)
          return RankStep(
            scaleGradient: Array(repeating: 0, count: shape.channels), shiftGradient: Array(repeating: 0, count: shape.channels),
            running: local.runningStatistics)
        }
        let range = starts[rank] * plane..<(starts[rank] + shards[rank]) * plane
        let shardShape = try BatchNormShape(batch: shards[rank], channels: shape.channels, spatial: shape.spatial, layout: layout)
        let (y, context) = try local.forward(Array(x[range]), shape: shardShape, mode: .training, synchronizedOver: process)
        let (dx, parameters) = try local.backward(Array(dy[range]), input: Array(x[range]), context: context)
        return RankStep(
          output: y, gradInput: dx, scaleGradient: parameters.scale, shiftGradient: parameters.shift,
          running: local.runningStatistics)
      }
    }.map { try $0.get() }

    #expect(maximumDifference(steps.flatMap(\.output), y) <= tolerance * 10)
    let gradientScale = max(1, dx.map { abs(Double($0)) }.max() ?? 1)
    #expect(maximumDifference(steps.flatMap(\.gradInput), dx) <= tolerance * 10 * gradientScale)
    let summedScale = (0..<shape.channels).map { channel in steps.reduce(0.0) { $0 + Double($1.scaleGradient[channel]) } }
    let summedShift = (0..<shape.channels).map { channel in steps.reduce(0.0) { $0 + Double($1.shiftGradient[channel]) } }
    let sumScale = Double(shape.valuesPerChannel).squareRoot()
    #expect(maximumDifference(summedScale, parameters.scale) <= tolerance * 10 * sumScale)
    #expect(maximumDifference(summedShift, parameters.shift) <= tolerance * 10 * sumScale)
    for step in steps {
      #expect(step.running == steps[0].running, "every rank holds the same running statistics, bit for bit")
    }
    #expect(maximumRelativeDifference(steps[0].running.mean, whole.runningStatistics.mean, floor: 1) <= tolerance)
    #expect(maximumRelativeDifference(steps[0].running.variance, whole.runningStatistics.variance) <= tolerance)
    #expect(steps[0].running.batchesSeen == 1)
  }

  @Test func oneRankGivesTheUnsynchronizedBits() throws {
    let shape = try BatchNormShape(dimensions: [8, 6, 5, 5])
    var generator = SplitMix64(seed: 11)
    let x: [Float] = generator.batch(shape)
    let dy: [Float] = generator.gaussians(shape.elementCount)
    var plain = try BatchNorm<Float>(channels: 6)
    var synchronized = plain
    let (y, context) = try plain.forward(x, shape: shape, mode: .training)
    let (dx, _) = try plain.backward(dy, input: x, context: context)
    let group = ThreadProcessGroup(size: 1)
    let (syncY, syncContext) = try synchronized.forward(x, shape: shape, mode: .training, synchronizedOver: ThreadRank(rank: 0, group: group))
    let (syncDx, _) = try synchronized.backward(dy, input: x, context: syncContext)
    #expect(bitDifferences(syncY, y) == 0)
    #expect(maximumDifference(syncDx, dx) <= 1e-6)
    #expect(synchronized.runningStatistics == plain.runningStatistics)
    #expect(group.gatherCount == 3, "header, moments, gradient sums")
  }

  @Test func inferenceDoesNotCommunicate() throws {
    let shape = try BatchNormShape(dimensions: [4, 3])
    var layer = try BatchNorm<Double>(channels: 3)
    layer.runningStatistics.mean = [1, 2, 3]
    let x: [Double] = (0..<12).map { Double($0) }
    let (expected, _) = try layer.forward(x, shape: shape, mode: .inference)
    let group = CountingProcessGroup()
    let (output, context) = try layer.forward(x, shape: shape, mode: .inference, synchronizedOver: group)
    #expect(output == expected)
    #expect(group.gatherCount == 0)
    let (gradInput, _) = try layer.backward(x, input: x, context: context)
    #expect(gradInput.count == 12)
  }

  /// Runs `body` on three ranks and returns what each threw.
  func errors(_ body: @escaping @Sendable (ThreadRank) throws(BatchNormError) -> Void) -> [BatchNormError?] {
    ThreadProcessGroup(size: 3).run { rank -> BatchNormError? in
      do throws(BatchNormError) {
        try body(rank)
        return nil
      } catch { return error }
    }
  }

  @Test func aGlobalCountOfOneThrowsOnEveryRank() {
    let thrown = errors { rank throws(BatchNormError) in
      var layer = try BatchNorm<Float>(channels: 4)
      if rank.rank == 0 {
        _ = try layer.forward([1, 2, 3, 4], shape: BatchNormShape(dimensions: [1, 4]), mode: .training, synchronizedOver: rank)
      } else {
        _ = try layer.forwardWithoutSamples(mode: .training, synchronizedOver: rank)
      }
    }
    for error in thrown {
      guard case .singleValuePerChannel(let shape) = error else {
        Issue.record("expected the single-value error, got \(String(describing: error))")
        continue
      }
      #expect(shape.valuesPerChannel == 1)
    }
  }

  @Test func ranksThatDisagreeOnChannelsAllThrow() {
    let thrown = errors { rank throws(BatchNormError) in
      let channels = rank.rank == 1 ? 5 : 4
      var layer = try BatchNorm<Float>(channels: channels)
      let x = [Float](repeating: 1, count: 2 * channels)
      _ = try layer.forward(x, shape: BatchNormShape(dimensions: [2, channels]), mode: .training, synchronizedOver: rank)
    }
    for error in thrown {
      #expect(error == .synchronizationMismatch(reason: "rank 1 has channels 5 but rank 0 has 4"))
    }
  }

  @Test func ranksThatDisagreeOnLayoutAllThrow() {
    let thrown = errors { rank throws(BatchNormError) in
      var layer = try BatchNorm<Double>(channels: 3)
      let layout: ChannelLayout = rank.rank == 2 ? .channelsLast : .channelsFirst
      let x = (0..<18).map { Double($0 % 7) }
      _ = try layer.forward(x, shape: BatchNormShape(dimensions: [2, 3, 3], layout: layout), mode: .training, synchronizedOver: rank)
    }
    for error in thrown {
      #expect(error == .synchronizationMismatch(reason: "rank 2 has layout channelsLast but rank 0 has channelsFirst"))
    }
  }

  @Test func ranksThatDisagreeOnTheElementTypeAllThrow() {
    let thrown = errors { rank throws(BatchNormError) in
      let shape = try BatchNormShape(dimensions: [2, 3])
      if rank.rank == 1 {
        var layer = try BatchNorm<Double>(channels: 3)
        _ = try layer.forward([1, 2, 3, 4, 5, 6], shape: shape, mode: .training, synchronizedOver: rank)
      } else {
        var layer = try BatchNorm<Float>(channels: 3)
        _ = try layer.forward([1, 2, 3, 4, 5, 6], shape: shape, mode: .training, synchronizedOver: rank)
      }
    }
    for error in thrown {
      #expect(error == .synchronizationMismatch(reason: "rank 1 has element size 8 bytes but rank 0 has 4 bytes"))
    }
  }

  @Test func aRankThatRefusesItsInputStopsEveryRank() {
    let thrown = errors { rank throws(BatchNormError) in
      var layer = try BatchNorm<Float>(channels: 2)
      let x = [Float](repeating: 1, count: rank.rank == 2 ? 7 : 8)
      _ = try layer.forward(x, shape: BatchNormShape(dimensions: [4, 2]), mode: .training, synchronizedOver: rank)
    }
    #expect(thrown[0] == .synchronizationMismatch(reason: "rank 2 refused its input (its own error says why)"))
    #expect(thrown[1] == thrown[0])
    #expect(thrown[2] == .elementCountMismatch(name: "input", expected: 8, actual: 7))
  }

  @Test func ghostBatchesAreRefusedWithoutCommunicating() throws {
    var configuration = BatchNormConfiguration.pytorch
    configuration.virtualBatchSize = 2
    var layer = try BatchNorm<Float>(channels: 2, configuration: configuration)
    let group = ThreadProcessGroup(size: 1)
    #expect(throws: BatchNormError.self) {
      _ = try layer.forward([1, 2, 3, 4, 5, 6, 7, 8], shape: BatchNormShape(dimensions: [4, 2]), mode: .training, synchronizedOver: ThreadRank(rank: 0, group: group))
    }
    #expect(layer.runningStatistics.batchesSeen == 0)
  }
}
