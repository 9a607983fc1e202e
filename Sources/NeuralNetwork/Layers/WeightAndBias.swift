/// The trainable state of a layer with a weight and an optional bias (``Linear``,
/// ``Conv2d``): the two tensors, their gradients, and the ``Layer`` plumbing both layers
/// share. Parameters are named `weight` and `bias`, with flat indices 0 and 1.
struct WeightAndBias<Scalar: NetworkScalar>: Sendable {
  /// W, output channels first.
  var weight: Tensor<Scalar>
  /// b, [out], or nil.
  var bias: Tensor<Scalar>?
  /// ∂L/∂W, accumulated by backward.
  var weightGradient: Tensor<Scalar>
  /// ∂L/∂b, accumulated by backward.
  var biasGradient: Tensor<Scalar>?

  /// The tensors, checked (`weight` of rank `rank` with positive dimensions, `bias`
  /// [weight.shape[0]]), with zero gradients.
  /// - Throws: ``NetworkError/shapeMismatch(layer:expected:actual:)`` naming `layer` and
  ///   the shape `weightLayout` describes.
  init(weight: Tensor<Scalar>, bias: Tensor<Scalar>?, rank: Int, layer: String, weightLayout: String) throws {
    guard weight.shape.count == rank, weight.shape.allSatisfy({ $0 > 0 }) else {
      throw NetworkError.shapeMismatch(layer: layer, expected: "a weight \(weightLayout)", actual: weight.shape)
    }
    if let bias, bias.shape != [weight.shape[0]] {
      throw NetworkError.shapeMismatch(layer: layer, expected: "a bias [\(weight.shape[0])]", actual: bias.shape)
    }
    self.weight = weight
    self.bias = bias
    weightGradient = Tensor(zeros: weight.shape)
    biasGradient = bias.map { Tensor(zeros: $0.shape) }
  }

  var names: [String] { bias == nil ? ["weight"] : ["weight", "bias"] }
  var tensors: [Tensor<Scalar>] { [weight] + (bias.map { [$0] } ?? []) }
  var gradients: [Tensor<Scalar>] { [weightGradient] + (biasGradient.map { [$0] } ?? []) }

  /// ``Layer/updateParameters(_:)``.
  mutating func update(_ body: (_ index: Int, _ parameter: inout Tensor<Scalar>, _ gradient: Tensor<Scalar>) -> Void) {
    body(0, &weight, weightGradient)
    if bias != nil { body(1, &bias!, biasGradient!) }
  }

  /// ``Layer/updateGradients(_:)``.
  mutating func updateGradients(_ body: (_ index: Int, _ gradient: inout Tensor<Scalar>) -> Void) {
    body(0, &weightGradient)
    if biasGradient != nil { body(1, &biasGradient!) }
  }

  /// ``Layer/zeroGradients()``.
  mutating func zeroGradients() {
    weightGradient.setToZero()
    biasGradient?.setToZero()
  }
}
