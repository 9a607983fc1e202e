import NeuralNetwork

/// A layer whose parameters and gradients a test sets directly, so an optimizer's
/// update can be checked against numbers worked out by hand.
struct FixedGradientLayer<Scalar: NetworkScalar>: Layer {
  var parameterNames: [String]
  var parameters: [Tensor<Scalar>]
  var gradients: [Tensor<Scalar>]

  var description: String { "FixedGradientLayer" }

  func outputShape(forInputShape inputShape: [Int]) throws -> [Int] { inputShape }
  mutating func forward(_ input: Tensor<Scalar>, mode: ExecutionMode) throws -> Tensor<Scalar> { input }
  mutating func backward(_ gradOutput: Tensor<Scalar>) throws -> Tensor<Scalar> { gradOutput }

  mutating func updateParameters(
    _ body: (_ index: Int, _ parameter: inout Tensor<Scalar>, _ gradient: Tensor<Scalar>) -> Void
  ) {
    for index in parameters.indices { body(index, &parameters[index], gradients[index]) }
  }

  mutating func updateGradients(_ body: (_ index: Int, _ gradient: inout Tensor<Scalar>) -> Void) {
    for index in gradients.indices { body(index, &gradients[index]) }
  }

  mutating func zeroGradients() {
    for index in gradients.indices { gradients[index] = Tensor(zeros: gradients[index].shape) }
  }
}
