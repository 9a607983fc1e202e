#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Adam (Kingma & Ba 2015, arXiv 1412.6980) and AdamW (Loshchilov & Hutter 2019,
/// arXiv 1711.05101), as `torch.optim.Adam` and `torch.optim.AdamW`. For each
/// parameter p with gradient g, at step t = 1, 2, … with learning rate η:
/// ```
/// Adam:   g = g + λ·p                    (L2 penalty in the gradient)
/// AdamW:  p = p·(1 − η·λ)                (decoupled decay, before the update)
/// m = β₁·m + (1 − β₁)·g                  first moment
/// v = β₂·v + (1 − β₂)·g²                 second moment
/// p = p − η/(1 − β₁ᵗ) · m / (√v/√(1 − β₂ᵗ) + ε)
/// ```
/// m and v start at 0 and are kept per flat parameter index.
public struct Adam<Scalar: NetworkScalar>: Optimizer {
  public var schedule: LearningRateSchedule
  /// β₁, the first moment's decay.
  public var beta1: Double
  /// β₂, the second moment's decay.
  public var beta2: Double
  /// ε, added to the root of the second moment.
  public var epsilon: Double
  /// λ: the L2 coefficient (Adam) or the decoupled decay rate (AdamW).
  public var weightDecay: Double
  /// AdamW when true: decay the parameters directly instead of adding λ·p to g.
  public var decoupledWeightDecay: Bool
  /// Which parameters decay.
  public var weightDecayPolicy: WeightDecayPolicy
  public private(set) var stepCount = 0
  private var firstMoments = ParameterStates<Scalar>()
  private var secondMoments = ParameterStates<Scalar>()
  private var decayMask: [Bool]?

  /// Adam, or AdamW with `decoupledWeightDecay`; the defaults are PyTorch's.
  /// - Precondition: β₁, β₂ in [0, 1), ε and λ ≥ 0.
  public init(
    schedule: LearningRateSchedule, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
    weightDecay: Double = 0, decoupledWeightDecay: Bool = false, weightDecayPolicy: WeightDecayPolicy = .allParameters
  ) {
    precondition((0..<1).contains(beta1) && (0..<1).contains(beta2), "β₁ \(beta1) and β₂ \(beta2) must be in [0, 1)")
    precondition(epsilon >= 0 && weightDecay >= 0, "ε \(epsilon) and weight decay \(weightDecay) must be ≥ 0")
    self.schedule = schedule
    self.beta1 = beta1
    self.beta2 = beta2
    self.epsilon = epsilon
    self.weightDecay = weightDecay
    self.decoupledWeightDecay = decoupledWeightDecay
    self.weightDecayPolicy = weightDecayPolicy
  }

  /// AdamW with PyTorch's default decay λ = 0.01.
  public static func adamW(schedule: LearningRateSchedule, weightDecay: Double = 0.01) -> Adam {
    Adam(schedule: schedule, weightDecay: weightDecay, decoupledWeightDecay: true)
  }

  @_specialize(where Scalar == Float, Model == Sequential<Float>)
  @_specialize(where Scalar == Double, Model == Sequential<Double>)
  public mutating func step<Model: Layer<Scalar>>(_ model: inout Model) {
    let decays = decayMask ?? weightDecayPolicy.decays(model)
    decayMask = decays
    let rate = learningRate
    let t = Double(stepCount + 1)
    let stepSize = Scalar(rate / (1 - pow(beta1, t)))
    let correction2Root = Scalar((1 - pow(beta2, t)).squareRoot())
    let (beta1, beta2, epsilon) = (Scalar(beta1), Scalar(beta2), Scalar(epsilon))
    let decoupled = decoupledWeightDecay
    model.updateParameters { index, parameter, gradient in
      let decay = decays[index] ? weightDecay : 0
      let (l2, shrink) = decoupled ? (Scalar(0), Scalar(1 - rate * decay)) : (Scalar(decay), Scalar(1))
      let constants = AdamStepConstants(
        shrink: shrink, l2: l2, beta1: beta1, beta2: beta2, epsilon: epsilon, stepSize: stepSize,
        correction2Root: correction2Root)
      let count = parameter.scalars.count
      firstMoments.withBuffer(index, count: count) { m in
        secondMoments.withBuffer(index, count: count) { v in
          adamStep(&parameter.scalars, gradient: gradient.scalars, firstMoment: &m, secondMoment: &v, constants: constants)
        }
      }
    }
    stepCount += 1
  }

  public var state: OptimizerState<Scalar> {
    OptimizerState(stepCount: stepCount, buffers: ["exp_avg": firstMoments.buffers, "exp_avg_sq": secondMoments.buffers])
  }

  public mutating func restore(_ state: OptimizerState<Scalar>) throws(TrainingError) {
    try state.check(kinds: ["exp_avg", "exp_avg_sq"], optimizer: decoupledWeightDecay ? "AdamW" : "Adam")
    firstMoments = ParameterStates(buffers: state.buffers["exp_avg"] ?? [])
    secondMoments = ParameterStates(buffers: state.buffers["exp_avg_sq"] ?? [])
    stepCount = state.stepCount
  }
}
