/// Updates a network's parameters from the gradients its backward pass accumulated.
///
/// An optimizer keeps its own state (momentum buffers, moment estimates) keyed by the
/// flat parameter index of ``Layer/updateParameters(_:)``, so it must always be given
/// the same network. It updates every parameter in place and leaves the gradients as
/// they are (the caller zeroes them before the next backward pass).
public protocol Optimizer<Scalar> {
  /// The element type of the networks it updates.
  associatedtype Scalar: NetworkScalar

  /// η at each step.
  var schedule: LearningRateSchedule { get set }
  /// The steps taken so far; the next step uses η(stepCount).
  var stepCount: Int { get }

  /// One update of every parameter of `model` from its gradient.
  mutating func step<Model: Layer<Scalar>>(_ model: inout Model)

  /// Everything a resumed run needs to take the same next step: the step count and the
  /// per-parameter buffers (see ``OptimizerState``).
  var state: OptimizerState<Scalar> { get }

  /// Continues from `state`, as saved by an optimizer of the same kind for the same
  /// network; the hyperparameters (schedule, momentum, β, λ) stay this optimizer's.
  /// - Throws: ``TrainingError/cannotResume(_:)`` when `state` has buffers of another
  ///   kind, or a step count below 0; nothing changes then.
  mutating func restore(_ state: OptimizerState<Scalar>) throws(TrainingError)
}

extension Optimizer {
  /// The learning rate the next step will use.
  public var learningRate: Double { schedule.rate(atStep: stepCount) }
}

/// What an optimizer carries from step to step, for saving and resuming a run.
///
/// `buffers` maps a kind, named as in PyTorch's optimizer `state_dict`
/// (`momentum_buffer` for SGD, `exp_avg` and `exp_avg_sq` for Adam), to one array per
/// flat parameter index (``Layer/updateParameters(_:)``); an array is empty where the
/// optimizer has not created that buffer yet.
public struct OptimizerState<Scalar: NetworkScalar>: Hashable, Sendable {
  /// The steps taken; the next step uses η(stepCount) and, in Adam, t = stepCount + 1.
  public var stepCount: Int
  /// Per kind, one buffer per flat parameter index.
  public var buffers: [String: [[Scalar]]]

  /// A state from its parts.
  public init(stepCount: Int, buffers: [String: [[Scalar]]]) {
    self.stepCount = stepCount
    self.buffers = buffers
  }

  /// Checks that the buffers are exactly of `kinds` and the step count is not negative.
  func check(kinds: Set<String>, optimizer: String) throws(TrainingError) {
    guard stepCount >= 0 else { throw .cannotResume("the optimizer's step count is \(stepCount)") }
    guard Set(buffers.keys).isSubset(of: kinds) else {
      let found = buffers.keys.sorted().joined(separator: ", ")
      throw .cannotResume("the saved optimizer state holds \(found), but \(optimizer) keeps \(kinds.sorted().joined(separator: ", "))")
    }
  }
}

/// A per-parameter buffer of the optimizer's state, created as zeros of the
/// parameter's size on first use.
struct ParameterStates<Scalar: NetworkScalar> {
  /// One buffer per flat parameter index; empty where not created yet.
  private(set) var buffers: [[Scalar]] = []

  init(buffers: [[Scalar]] = []) {
    self.buffers = buffers
  }

  /// Calls `body` with buffer `index`, sized `count` (zeros when new).
  mutating func withBuffer<Result>(
    _ index: Int, count: Int, _ body: (inout [Scalar]) -> Result
  ) -> Result {
    while buffers.count <= index { buffers.append([]) }
    if buffers[index].count != count { buffers[index] = [Scalar](repeating: 0, count: count) }
    return body(&buffers[index])
  }
}
