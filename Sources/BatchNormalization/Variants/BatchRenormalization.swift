/// The clipping limits of Batch Renormalization (Ioffe 2017, arXiv 1702.03275).
///
/// In training, with σ = √(running variance + ε) and σ_B = √(batch variance + ε):
/// ```
/// r = clip(σ_B / σ, 1/rMax, rMax),  d = clip((µ_B − µ) / σ, −dMax, dMax)
/// y = γ·((x − µ_B)/σ_B · r + d) + β
/// ```
/// r and d are constants in backward. rMax = 1, dMax = 0 is plain batch normalization.
public struct RenormalizationLimits: Hashable, Sendable {
  /// The largest factor r may scale by; ≥ 1.
  public var rMax: Double
  /// The largest shift d may add, in units of the running standard deviation; ≥ 0.
  public var dMax: Double

  /// Limits r ∈ [1/rMax, rMax] and d ∈ [−dMax, dMax].
  public init(rMax: Double, dMax: Double) {
    self.rMax = rMax
    self.dMax = dMax
  }

  func validate() throws(BatchNormError) {
    guard rMax >= 1, rMax.isFinite else {
      throw .invalidParameter(name: "rMax", value: rMax, allowed: "a finite value ≥ 1")
    }
    guard dMax >= 0, dMax.isFinite else {
      throw .invalidParameter(name: "dMax", value: dMax, allowed: "a finite value ≥ 0")
    }
  }
}

/// The paper's schedule for the renormalization limits: plain batch normalization
/// (rMax = 1, dMax = 0) for a warm-up, then a linear relaxation that reaches the
/// final rMax and dMax at the given steps. The paper used 5k warm-up steps, rMax = 3
/// by 40k and dMax = 5 by 25k.
public struct RenormalizationSchedule: Hashable, Sendable {
  /// Steps of plain batch normalization (rMax = 1, dMax = 0) before the limits start to grow.
  public var warmupSteps: Int
  /// The largest rMax, reached at ``rMaxReachedAtStep``.
  public var finalRMax: Double
  /// The step at which rMax reaches ``finalRMax``.
  public var rMaxReachedAtStep: Int
  /// The largest dMax, reached at ``dMaxReachedAtStep``.
  public var finalDMax: Double
  /// The step at which dMax reaches ``finalDMax``.
  public var dMaxReachedAtStep: Int

  /// A schedule; the defaults are the paper's: 5k warm-up steps, rMax = 3 by 40k, dMax = 5 by 25k.
  public init(
    warmupSteps: Int = 5_000, finalRMax: Double = 3, rMaxReachedAtStep: Int = 40_000,
    finalDMax: Double = 5, dMaxReachedAtStep: Int = 25_000
  ) {
    self.warmupSteps = warmupSteps
    self.finalRMax = finalRMax
    self.rMaxReachedAtStep = rMaxReachedAtStep
    self.finalDMax = finalDMax
    self.dMaxReachedAtStep = dMaxReachedAtStep
  }

  /// The paper's schedule with every step count multiplied by `factor` (a shorter run).
  public func scaled(by factor: Double) -> RenormalizationSchedule {
    RenormalizationSchedule(
      warmupSteps: Int((Double(warmupSteps) * factor).rounded()), finalRMax: finalRMax,
      rMaxReachedAtStep: Int((Double(rMaxReachedAtStep) * factor).rounded()), finalDMax: finalDMax,
      dMaxReachedAtStep: Int((Double(dMaxReachedAtStep) * factor).rounded()))
  }

  /// The limits at training step `step` (0-based).
  public func limits(atStep step: Int) -> RenormalizationLimits {
    func ramp(to final: Double, from start: Double, reachedAt end: Int) -> Double {
      guard step > warmupSteps else { return start }
      guard end > warmupSteps, step < end else { return final }
      let progress = Double(step - warmupSteps) / Double(end - warmupSteps)
      return start + (final - start) * progress
    }
    return RenormalizationLimits(
      rMax: ramp(to: finalRMax, from: 1, reachedAt: rMaxReachedAtStep),
      dMax: ramp(to: finalDMax, from: 0, reachedAt: dMaxReachedAtStep))
  }
}
