import ComputeRuntime

/// Where ``channelCoefficients(_:scale:shift:epsilon:renormalization:)`` takes each
/// channel's center and variance: a batch's moments (µ_B and the biased variance M2/m)
/// or the running statistics.
enum CoefficientSource<Scalar: BatchNormScalar> {
  case batch([ChannelMoments])
  case running(mean: [Scalar], variance: [Scalar])
}

/// Per channel: center, scale γ·r/√(v + ε) and shift γ·d + β, and 1/√(v + ε) itself,
/// with r = 1 and d = 0 unless `factors` are given. `gamma`, `beta`, the source and the
/// factors hold one value per channel.
///
/// Reads through buffer pointers (no bounds checks, no closure per channel), so each loop
/// runs in vector registers, and splits the channels over threads
/// (``parallelForChannels(_:costPerChannel:_:)``): with thousands of channels and a few
/// samples this work outweighs the element passes. Every channel's arithmetic is the same
/// whatever range it falls in.
func channelCoefficients<Scalar: BatchNormScalar>(
  _ source: CoefficientSource<Scalar>, scale gamma: [Scalar], shift beta: [Scalar], epsilon: Double,
  renormalization factors: (r: [Double], d: [Double])?
) -> (coefficients: ChannelCoefficients<Scalar>, inverseStandardDeviation: [Scalar]) {
  let channels = gamma.count
  switch source {
  case .batch(let moments): precondition(moments.count == channels)
  case .running(let mean, let variance): precondition(mean.count == channels && variance.count == channels)
  }
  precondition(beta.count == channels && factors.map { $0.r.count == channels && $0.d.count == channels } ?? true)
  // This is safe: every array holds `channels` values (checked above); the table holds
  // 3·C values, the saved row and the scratch C each; and every range lies in 0..<C.
  let r = factors?.r ?? [], d = factors?.d ?? []
  let batchMoments: [ChannelMoments], runningMean: [Scalar], runningVariance: [Scalar]
  switch source {
  case .batch(let moments): (batchMoments, runningMean, runningVariance) = (moments, [], [])
  case .running(let mean, let variance): (batchMoments, runningMean, runningVariance) = ([], mean, variance)
  }
  var inverseStandardDeviation: [Scalar] = []
  let coefficients = ChannelCoefficients<Scalar>(channels: channels) { table in
    inverseStandardDeviation = [Scalar](unsafeUninitializedCapacity: channels) { saved, initialized in
      withUnsafeTemporaryAllocation(of: Double.self, capacity: channels) { inverse in
        gamma.withUnsafeBufferPointer { gamma in
          beta.withUnsafeBufferPointer { beta in
            r.withUnsafeBufferPointer { r in
              d.withUnsafeBufferPointer { d in
                batchMoments.withUnsafeBufferPointer { moments in
                  runningMean.withUnsafeBufferPointer { mean in
                    runningVariance.withUnsafeBufferPointer { variance in
                      // Plain pointers, read once: through the captured buffers every store
                      // would reload them, and `channels + channel` would be checked for
                      // overflow, either of which keeps the loops scalar.
                      let centers = table, scales = table + channels, shifts = table + 2 * channels
                      let inverse = inverse.baseAddress!, saved = saved.baseAddress!
                      let gamma = gamma.baseAddress!, beta = beta.baseAddress!
                      parallelForChannels(channels, costPerChannel: 32) { range in
                        // Centers into the table's first row, variances into the scratch (the
                        // biased variance M2/m, as ChannelMoments.biasedVariance, without its
                        // check for m = 0: forward never measures an empty channel).
                        // (An empty array's buffer may still have a base address: test the count.)
                        if !moments.isEmpty {
                          for channel in range {
                            centers[channel] = Scalar(moments[channel].mean)
                            inverse[channel] = moments[channel].sumOfSquaredDeviations / Double(moments[channel].count)
                          }
                        } else {
                          for channel in range {
                            centers[channel] = mean[channel]
                            inverse[channel] = Double(variance[channel])
                          }
                        }
                        invertStandardDeviations(
                          UnsafeMutableBufferPointer(start: inverse + range.lowerBound, count: range.count), epsilon: epsilon)
                        if !r.isEmpty, let r = r.baseAddress, let d = d.baseAddress {
                          for channel in range {
                            let gamma = Double(gamma[channel])
                            scales[channel] = Scalar(gamma * r[channel] * inverse[channel])
                            shifts[channel] = Scalar(gamma * d[channel] + Double(beta[channel]))
                          }
                        } else {
                          for channel in range {
                            scales[channel] = Scalar(Double(gamma[channel]) * inverse[channel])
                            shifts[channel] = beta[channel]
                          }
                        }
                        for channel in range { saved[channel] = Scalar(inverse[channel]) }
                      }
                    }
                  }
                }
              }
            }
          }
        }
        initialized = channels
      }
    }
  }
  return (coefficients, inverseStandardDeviation)
}
