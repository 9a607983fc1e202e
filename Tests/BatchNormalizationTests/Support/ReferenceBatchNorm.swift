import BatchNormalization

/// Batch normalization written the obvious way in Double, one channel at a time, from
/// the paper's formulas: the oracle every kernel is compared with.
struct ReferenceBatchNorm {
  var epsilon = 1e-5
  var gamma: [Double]
  var beta: [Double]
  var relu = false
  /// Batch Renormalization: running mean and variance, and the limits.
  var renormalization: (mean: [Double], variance: [Double], rMax: Double, dMax: Double)? = nil

  init(channels: Int, gamma: [Double]? = nil, beta: [Double]? = nil) {
    self.gamma = gamma ?? Array(repeating: 1, count: channels)
    self.beta = beta ?? Array(repeating: 0, count: channels)
  }

  /// The values of one channel within samples `group`.
  func channelValues(_ x: [Double], _ shape: BatchNormShape, channel: Int, group: Range<Int>) -> [Double] {
    group.flatMap { sample in (0..<shape.spatial).map { x[shape.offset(sample, channel, $0)] } }
  }

  static func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(values.count) }

  static func biasedVariance(_ values: [Double]) -> Double {
    let mean = mean(values)
    return values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
  }

  /// r and d of Batch Renormalization for one channel (1 and 0 without it).
  func renormalizationFactors(channel: Int, mean: Double, variance: Double) -> (r: Double, d: Double) {
    guard let renormalization else { return (1, 0) }
    let runningDeviation = (renormalization.variance[channel] + epsilon).squareRoot()
    let r = min(max((variance + epsilon).squareRoot() / runningDeviation, 1 / renormalization.rMax), renormalization.rMax)
    let d = min(max((mean - renormalization.mean[channel]) / runningDeviation, -renormalization.dMax), renormalization.dMax)
    return (r, d)
  }

  /// Training forward with batch statistics over each group of samples.
  func trainingForward(_ x: [Double], _ shape: BatchNormShape, groups: [Range<Int>]? = nil) -> [Double] {
    var y = [Double](repeating: 0, count: x.count)
    for group in groups ?? [0..<shape.batch] {
      for channel in 0..<shape.channels {
        let values = channelValues(x, shape, channel: channel, group: group)
        let mean = Self.mean(values)
        let variance = Self.biasedVariance(values)
        let (r, d) = renormalizationFactors(channel: channel, mean: mean, variance: variance)
        for sample in group {
          for position in 0..<shape.spatial {
            let offset = shape.offset(sample, channel, position)
            let normalized = (x[offset] - mean) / (variance + epsilon).squareRoot() * r + d
            let value = gamma[channel] * normalized + beta[channel]
            y[offset] = relu ? max(0, value) : value
          }
        }
      }
    }
    return y
  }

  /// Inference forward with the given population statistics.
  func inferenceForward(_ x: [Double], _ shape: BatchNormShape, mean: [Double], variance: [Double]) -> [Double] {
    var y = [Double](repeating: 0, count: x.count)
    for sample in 0..<shape.batch {
      for channel in 0..<shape.channels {
        for position in 0..<shape.spatial {
          let offset = shape.offset(sample, channel, position)
          let value = gamma[channel] * (x[offset] - mean[channel]) / (variance[channel] + epsilon).squareRoot() + beta[channel]
          y[offset] = relu ? max(0, value) : value
        }
      }
    }
    return y
  }

  /// Backward with frozen statistics (inference): y is affine in x, so
  /// dx = dy′·γ/√(Var + ε), dβ = Σdy′ and dγ = Σdy′·(x − E[x])/√(Var + ε).
  func frozenBackward(
    _ dy: [Double], _ x: [Double], _ shape: BatchNormShape, mean: [Double], variance: [Double]
  ) -> (dx: [Double], dgamma: [Double], dbeta: [Double]) {
    let y = inferenceForward(x, shape, mean: mean, variance: variance)
    var dx = [Double](repeating: 0, count: x.count)
    var dgamma = [Double](repeating: 0, count: shape.channels)
    var dbeta = [Double](repeating: 0, count: shape.channels)
    for sample in 0..<shape.batch {
      for channel in 0..<shape.channels {
        let deviation = (variance[channel] + epsilon).squareRoot()
        for position in 0..<shape.spatial {
          let offset = shape.offset(sample, channel, position)
          let masked = relu && y[offset] <= 0 ? 0 : dy[offset]
          dx[offset] = masked * gamma[channel] / deviation
          dbeta[channel] += masked
          dgamma[channel] += masked * (x[offset] - mean[channel]) / deviation
        }
      }
    }
    return (dx, dgamma, dbeta)
  }

  /// Training backward from the paper's §3 formulas (r and d constants, ReLU masked).
  func trainingBackward(
    _ dy: [Double], _ x: [Double], _ shape: BatchNormShape, groups: [Range<Int>]? = nil
  ) -> (dx: [Double], dgamma: [Double], dbeta: [Double]) {
    let y = trainingForward(x, shape, groups: groups)
    var dx = [Double](repeating: 0, count: x.count)
    var dgamma = [Double](repeating: 0, count: shape.channels)
    var dbeta = [Double](repeating: 0, count: shape.channels)
    for group in groups ?? [0..<shape.batch] {
      for channel in 0..<shape.channels {
        let values = channelValues(x, shape, channel: channel, group: group)
        let m = Double(values.count)
        let mean = Self.mean(values)
        let variance = Self.biasedVariance(values)
        let deviation = (variance + epsilon).squareRoot()
        let (r, d) = renormalizationFactors(channel: channel, mean: mean, variance: variance)
        var offsets: [Int] = []
        for sample in group { for position in 0..<shape.spatial { offsets.append(shape.offset(sample, channel, position)) } }
        let masked = offsets.map { relu && y[$0] <= 0 ? 0 : dy[$0] }
        let normalized = offsets.map { (x[$0] - mean) / deviation }
        // ∂ℓ/∂x̂ (of plain BN, before r and d) = dy′·γ·r.
        let dNormalized = masked.map { $0 * gamma[channel] * r }
        let sumDNormalized = dNormalized.reduce(0, +)
        let dotDNormalized = zip(dNormalized, normalized).map(*).reduce(0, +)
        for (index, offset) in offsets.enumerated() {
          dx[offset] = (dNormalized[index] - sumDNormalized / m - normalized[index] * dotDNormalized / m) / deviation
        }
        dbeta[channel] += masked.reduce(0, +)
        dgamma[channel] += zip(masked, normalized).map { $0 * ($1 * r + d) }.reduce(0, +)
      }
    }
    return (dx, dgamma, dbeta)
  }
}
