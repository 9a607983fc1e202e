#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The learning rate η at each optimizer step t (0-based: the first step uses t = 0).
///
/// | schedule | η(t) |
/// |---|---|
/// | ``constant(_:)`` | η₀ |
/// | ``step(initial:every:factor:)`` | η₀ · factor^⌊t / every⌋ (PyTorch's `StepLR` counted in steps) |
/// | ``cosine(initial:minimum:steps:)`` | η_min + (η₀ − η_min)·(1 + cos(π·min(t, T)/T))/2 (`CosineAnnealingLR` without restarts), η_min from step T on |
public enum LearningRateSchedule: Hashable, Sendable {
  /// η₀ at every step.
  case constant(Double)
  /// η₀·factor^⌊t / every⌋.
  case step(initial: Double, every: Int, factor: Double)
  /// Cosine annealing from `initial` to `minimum` over `steps` steps.
  case cosine(initial: Double, minimum: Double, steps: Int)

  /// η at step `step`.
  public func rate(atStep step: Int) -> Double {
    switch self {
    case .constant(let rate):
      return rate
    case .step(let initial, let every, let factor):
      return initial * pow(factor, Double(step / max(every, 1)))
    case .cosine(let initial, let minimum, let steps):
      let progress = Double(min(step, steps)) / Double(max(steps, 1))
      return minimum + (initial - minimum) * (1 + cos(Double.pi * progress)) / 2
    }
  }

  /// η at step 0.
  public var initialRate: Double { rate(atStep: 0) }
}
