/// Stochastic gradient descent with momentum, Nesterov momentum and L2 weight decay,
/// as `torch.optim.SGD` (dampening 0). For each parameter p with gradient g, at step t
/// with learning rate η(t):
/// ```
/// d = g + λ·p                         weight decay λ (only where the policy says so)
/// b = µ·b + d   (b = d at the first step, which is the same as starting b at 0)
/// d = d + µ·b   with Nesterov,   d = b   otherwise (µ > 0)
/// p = p − η(t)·d
/// ```
/// With µ = 0 this is plain gradient descent. The momentum buffers b are kept per flat
/// parameter index.
public struct SGD<Scalar: NetworkScalar>: Optimizer {
  public var schedule: LearningRateSchedule
  /// µ, the momentum; 0 for none.
  public var momentum: Double
  /// Whether the step looks ahead along the momentum (Sutskever et al. 2013).
  public var nesterov: Bool
  /// λ, the L2 penalty's coefficient (λ/2·‖p‖² added to the loss).
  public var weightDecay: Double
  /// Which parameters decay.
  public var weightDecayPolicy: WeightDecayPolicy
  public private(set) var stepCount = 0
  private var momentumBuffers = ParameterStates<Scalar>()
  private var decayMask: [Bool]?

  /// - Precondition: momentum and weight decay are ≥ 0; Nesterov needs momentum > 0.
  public init(
    schedule: LearningRateSchedule, momentum: Double = 0, nesterov: Bool = false, weightDecay: Double = 0,
    weightDecayPolicy: WeightDecayPolicy = .allParameters
  ) {
    precondition(momentum >= 0 && weightDecay >= 0, "momentum \(momentum) and weight decay \(weightDecay) must be ≥ 0")
    precondition(!nesterov || momentum > 0, "Nesterov momentum needs a momentum > 0")
    self.schedule = schedule
    self.momentum = momentum
    self.nesterov = nesterov
    self.weightDecay = weightDecay
    self.weightDecayPolicy = weightDecayPolicy
  }

  @_specialize(where Scalar == Float, Model == Sequential<Float>)
  @_specialize(where Scalar == Double, Model == Sequential<Double>)
  public mutating func step<Model: Layer<Scalar>>(_ model: inout Model) {
    let decays = decayMask ?? weightDecayPolicy.decays(model)
    decayMask = decays
    let rate = Scalar(learningRate)
    let momentum = Scalar(self.momentum)
    let nesterov = self.nesterov
    model.updateParameters { index, parameter, gradient in
      let decay = decays[index] ? Scalar(weightDecay) : 0
      guard momentum > 0 else {
        return gradientDescentStep(&parameter.scalars, gradient: gradient.scalars, rate: rate, decay: decay)
      }
      momentumBuffers.withBuffer(index, count: parameter.scalars.count) { buffer in
        momentumStep(
          &parameter.scalars, gradient: gradient.scalars, momentumBuffer: &buffer, rate: rate, decay: decay,
          momentum: momentum, nesterov: nesterov)
      }
    }
    stepCount += 1
  }

  public var state: OptimizerState<Scalar> {
    OptimizerState(stepCount: stepCount, buffers: momentum > 0 ? ["momentum_buffer": momentumBuffers.buffers] : [:])
  }

  public mutating func restore(_ state: OptimizerState<Scalar>) throws(TrainingError) {
    try state.check(kinds: momentum > 0 ? ["momentum_buffer"] : [], optimizer: momentum > 0 ? "SGD with momentum" : "SGD without momentum")
    momentumBuffers = ParameterStates(buffers: state.buffers["momentum_buffer"] ?? [])
    stepCount = state.stepCount
  }
}
