#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A seeded random number generator (SplitMix64, Steele, Lea & Flood 2014), so
/// initial weights, dropout masks and shuffles are the same on every run and platform.
///
/// ```swift
/// var generator = SeededGenerator(seed: 42)
/// let layer = try Linear<Float>(inputFeatures: 784, outputFeatures: 100, using: &generator)
/// ```
public struct SeededGenerator: RandomNumberGenerator, Hashable, Sendable {
  /// The whole state: `SeededGenerator(seed: g.state)` continues exactly where `g` is
  /// (a resumed training run keeps its shuffles and dropout masks this way).
  public private(set) var state: UInt64

  /// A generator that starts at `seed` (any value; equal seeds give equal streams).
  public init(seed: UInt64) {
    state = seed
  }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A uniform value in [0, 1) with 53 random bits.
  public mutating func nextUniform() -> Double {
    Double(next() >> 11) * 0x1p-53
  }

  /// A standard normal value, N(0, 1).
  public mutating func nextGaussian() -> Double {
    standardNormal(using: &self)
  }
}

/// A standard normal value from any generator (Box–Muller: √(−2 ln u₁)·cos 2πu₂ with
/// u₁ in (0, 1], u₂ in [0, 1)).
func standardNormal(using generator: inout some RandomNumberGenerator) -> Double {
  let u1 = 1 - Double.random(in: 0..<1, using: &generator)
  let u2 = Double.random(in: 0..<1, using: &generator)
  return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
}
