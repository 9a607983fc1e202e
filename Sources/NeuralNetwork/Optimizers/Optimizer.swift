/// Updates a network's parameters from the gradients its backward pass accumulated.
///
/// An optimizer keeps its own state (momentum buffers, moment estimates) keyed by the
/// flat parameter index of ``Layer/updateParameters(_:)``, so it must always be given
/// the same network. It updates every parameter in place and leaves the gradients as
/// they are (the caller zeroes them before the next backward pass).
public protocol Optimizer<Scalar> {
  associatedtype Scalar: NetworkScalar

  /// η at each step.
  var schedule: LearningRateSchedule { get set }
  /// The steps taken so far; the next step uses η(stepCount).
  var stepCount: Int { get }

  /// One update of every parameter of `model` from its gradient.
  mutating func step<Model: Layer<Scalar>>(_ model: inout Model)
}

extension Optimizer {
  /// The learning rate the next step will use.
  public var learningRate: Double { schedule.rate(atStep: stepCount) }
}

/// A per-parameter buffer of the optimizer's state, created as zeros of the
/// parameter's size on first use.
struct ParameterStates<Scalar: NetworkScalar> {
  private var buffers: [[Scalar]] = []

  /// Calls `body` with buffer `index`, sized `count` (zeros when new).
  mutating func withBuffer<Result>(
    _ index: Int, count: Int, _ body: (inout [Scalar]) -> Result
  ) -> Result {
    while buffers.count <= index { buffers.append([]) }
    if buffers[index].count != count { buffers[index] = [Scalar](repeating: 0, count: count) }
    return body(&buffers[index])
  }
}
