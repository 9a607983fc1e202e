/// The mergeable statistics of one channel: count, mean and M2 = Σ(x − mean)².
///
/// Two sets merge exactly with Chan, Golub and LeVeque's update, whatever their
/// counts, so threads, ghost batches and processes combine partial statistics
/// without ever forming E[x²] − E[x]²:
/// ```
/// n = nA + nB,  δ = meanB − meanA,
/// mean = meanA + δ·nB/n,  M2 = M2A + M2B + δ²·nA·nB/n
/// ```
public struct ChannelMoments: Hashable, Sendable {
  /// The number of values.
  public var count: Int
  /// Their mean (0 when `count` is 0).
  public var mean: Double
  /// The sum of squared deviations from `mean`.
  public var sumOfSquaredDeviations: Double

  /// Moments from their three parts.
  public init(count: Int, mean: Double, sumOfSquaredDeviations: Double) {
    self.count = count
    self.mean = mean
    self.sumOfSquaredDeviations = sumOfSquaredDeviations
  }

  /// No values.
  public static let empty = ChannelMoments(count: 0, mean: 0, sumOfSquaredDeviations: 0)

  /// The moments of `values`, two-pass in Double.
  public init<Values: Sequence>(of values: Values) where Values.Element: BinaryFloatingPoint {
    var count = 0
    var sum = 0.0
    for value in values {
      count += 1
      sum += Double(value)
    }
    let mean = count > 0 ? sum / Double(count) : 0
    var squares = 0.0
    for value in values {
      let deviation = Double(value) - mean
      squares += deviation * deviation
    }
    self.init(count: count, mean: mean, sumOfSquaredDeviations: squares)
  }

  /// The biased variance M2/n, which batch normalization divides by in training.
  public var biasedVariance: Double { count > 0 ? sumOfSquaredDeviations / Double(count) : .nan }

  /// The unbiased variance M2/(n − 1) (Bessel's correction), the paper's estimate of the
  /// population variance.
  public var unbiasedVariance: Double { count > 1 ? sumOfSquaredDeviations / Double(count - 1) : .nan }

  /// The variance under `estimator`.
  public func variance(_ estimator: VarianceEstimator) -> Double {
    estimator == .unbiased ? unbiasedVariance : biasedVariance
  }

  /// Whether the mean and M2 are finite (no NaN or infinity reached them).
  public var isFinite: Bool { mean.isFinite && sumOfSquaredDeviations.isFinite }

  /// Adds `other`'s values to these (Chan's merge).
  public mutating func merge(_ other: ChannelMoments) {
    guard other.count > 0 else { return }
    guard count > 0 else {
      self = other
      return
    }
    let total = Double(count + other.count)
    let delta = other.mean - mean
    mean += delta * (Double(other.count) / total)
    sumOfSquaredDeviations += other.sumOfSquaredDeviations
      + delta * delta * (Double(count) * Double(other.count) / total)
    count += other.count
  }

  /// These values and `other`'s together.
  public func merged(with other: ChannelMoments) -> ChannelMoments {
    var result = self
    result.merge(other)
    return result
  }
}

/// The statistics of one batch, per channel: what training-mode forward measured.
public struct BatchStatistics: Hashable, Sendable {
  /// One entry per channel.
  public var channels: [ChannelMoments]

  /// The statistics of `channels.count` channels, in channel order.
  public init(channels: [ChannelMoments]) {
    self.channels = channels
  }

  /// m, the number of values each channel's statistics cover.
  public var valuesPerChannel: Int { channels.first?.count ?? 0 }

  /// The per-channel batch means.
  public var mean: [Double] { channels.map(\.mean) }

  /// The per-channel biased variances (what training normalizes with).
  public var biasedVariance: [Double] { channels.map(\.biasedVariance) }

  /// The per-channel unbiased variances, m/(m − 1) times the biased ones.
  public var unbiasedVariance: [Double] { channels.map(\.unbiasedVariance) }

  /// Whether every channel's statistics are finite.
  public var isFinite: Bool { channels.allSatisfy(\.isFinite) }

  /// The statistics of both batches together, exact for unequal counts.
  /// - Throws: ``BatchNormError/channelCountMismatch(name:expected:actual:)`` if the
  ///   channel counts differ.
  public func merged(with other: BatchStatistics) throws(BatchNormError) -> BatchStatistics {
    guard other.channels.count == channels.count else {
      throw .channelCountMismatch(name: "merged statistics", expected: channels.count, actual: other.channels.count)
    }
    return BatchStatistics(channels: zip(channels, other.channels).map { $0.merged(with: $1) })
  }
}
