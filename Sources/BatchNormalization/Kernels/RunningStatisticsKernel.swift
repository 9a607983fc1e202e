import ComputeRuntime

/// Blends a batch's moments into the running statistics, channel by channel:
/// ```
/// mean ← (1 − w)·mean + w·µ_B,   variance ← (1 − w)·variance + w·M2/(m − offset)
/// ```
/// where `besselOffset` is 1 for the unbiased variance and 0 for the biased one.
///
/// Reads and writes through buffer pointers, not array subscripts: no bounds or
/// uniqueness checks per channel; split over threads for wide layers (each channel's
/// arithmetic is the same wherever it falls).
func blendRunningStatistics<Scalar: BatchNormScalar>(
  mean: inout [Scalar], variance: inout [Scalar], with moments: [ChannelMoments], weight: Double, besselOffset: Int
) {
  precondition(moments.count == mean.count && mean.count == variance.count)
  // This is safe: the three arrays have the same length (checked above), and each range
  // writes only its own channels.
  moments.withUnsafeBufferPointer { moments in
    mean.withUnsafeMutableBufferPointer { mean in
      variance.withUnsafeMutableBufferPointer { variance in
        parallelForChannels(moments.count, costPerChannel: 16) { range in
          for channel in range {
            let batchVariance = moments[channel].sumOfSquaredDeviations / Double(moments[channel].count - besselOffset)
            mean[channel] = Scalar((1 - weight) * Double(mean[channel]) + weight * moments[channel].mean)
            variance[channel] = Scalar((1 - weight) * Double(variance[channel]) + weight * batchVariance)
          }
        }
      }
    }
  }
}
