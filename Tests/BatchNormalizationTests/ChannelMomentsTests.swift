import BatchNormalization
import Testing

@Suite struct ChannelMomentsTests {
  /// Chan's merge of unequal parts equals the statistics of the whole.
  @Test(arguments: [[1, 1], [1, 9], [7, 3, 1], [100, 2, 50, 5]])
  func mergingPartsEqualsTheWhole(partSizes: [Int]) {
    var generator = SplitMix64(seed: UInt64(partSizes.reduce(0, +)))
    let parts: [[Double]] = partSizes.enumerated().map { index, size in
      (0..<size).map { _ in Double(index) * 10 + generator.nextGaussian() }
    }
    var merged = ChannelMoments.empty
    for part in parts { merged.merge(ChannelMoments(of: part)) }
    let whole = ChannelMoments(of: parts.flatMap { $0 })
    #expect(merged.count == whole.count)
    #expect(abs(merged.mean - whole.mean) < 1e-12 * max(1, abs(whole.mean)))
    #expect(abs(merged.sumOfSquaredDeviations - whole.sumOfSquaredDeviations) < 1e-10 * whole.sumOfSquaredDeviations)
  }

  @Test func batchStatisticsMergeAcrossShards() throws {
    var layer = try BatchNorm<Double>(channels: 3)
    var generator = SplitMix64(seed: 31)
    let first = try BatchNormShape(batch: 5, channels: 3, spatial: 2)
    let second = try BatchNormShape(batch: 2, channels: 3, spatial: 2)
    let a: [Double] = generator.batch(first)
    let b: [Double] = generator.batch(second)
    let statisticsA = try #require(try layer.forward(a, shape: first, mode: .batchStatistics).context.batchStatistics)
    let statisticsB = try #require(try layer.forward(b, shape: second, mode: .batchStatistics).context.batchStatistics)
    let whole = try #require(
      try layer.forward(a + b, shape: BatchNormShape(batch: 7, channels: 3, spatial: 2), mode: .batchStatistics)
        .context.batchStatistics)
    let merged = try statisticsA.merged(with: statisticsB)
    #expect(merged.valuesPerChannel == 14)
    #expect(maximumDifference(merged.mean, whole.mean) < 1e-13)
    #expect(maximumDifference(merged.biasedVariance, whole.biasedVariance) < 1e-12)
    #expect(throws: BatchNormError.channelCountMismatch(name: "merged statistics", expected: 3, actual: 1)) {
      try merged.merged(with: BatchStatistics(channels: [.empty]))
    }
  }
}
