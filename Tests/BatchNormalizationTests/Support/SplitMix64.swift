/// A seeded generator, so every test's data is the same on every run.
struct SplitMix64: RandomNumberGenerator {
  private var state: UInt64

  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A standard normal value (Box–Muller).
  mutating func nextGaussian() -> Double {
    let u1 = Double.random(in: Double.ulpOfOne..<1, using: &self)
    let u2 = Double.random(in: 0..<1, using: &self)
    return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
  }

  /// `count` values, each channel with its own mean and scale, in `shape`'s memory order.
  mutating func batch<Scalar: BinaryFloatingPoint>(
    _ shape: BatchNormShape, as: Scalar.Type = Scalar.self, meanScale: Double = 3, spread: ClosedRange<Double> = 0.5...3
  ) -> [Scalar] {
    let means = (0..<shape.channels).map { _ in nextGaussian() * meanScale }
    let scales = (0..<shape.channels).map { _ in Double.random(in: spread, using: &self) }
    var values = [Scalar](repeating: 0, count: shape.elementCount)
    for sample in 0..<shape.batch {
      for channel in 0..<shape.channels {
        for position in 0..<shape.spatial {
          values[shape.offset(sample, channel, position)] = Scalar(means[channel] + scales[channel] * nextGaussian())
        }
      }
    }
    return values
  }

  mutating func gaussians<Scalar: BinaryFloatingPoint>(_ count: Int, as: Scalar.Type = Scalar.self) -> [Scalar] {
    (0..<count).map { _ in Scalar(nextGaussian()) }
  }
}

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import BatchNormalization

extension BatchNormShape {
  /// The memory offset of (sample, channel, position) in this shape's layout.
  func offset(_ sample: Int, _ channel: Int, _ position: Int) -> Int {
    switch layout {
    case .channelsFirst: return (sample * channels + channel) * spatial + position
    case .channelsLast: return (sample * spatial + position) * channels + channel
    }
  }
}
