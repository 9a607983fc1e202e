import BatchNormalization

/// One stage of a network: a forward map, its backward (vector–Jacobian) map, and the
/// state an optimizer and a checkpoint need.
///
/// Layers are values. `forward` in ``ExecutionMode/training`` keeps what `backward`
/// needs (usually the input, which costs no copy); the other modes keep nothing and
/// release what training kept. `backward` returns ∂L/∂input for the last training
/// forward call and ADDS ∂L/∂parameters into ``gradients``, so gradients of several
/// batches accumulate until ``zeroGradients()``.
///
/// Names follow PyTorch's `state_dict`: ``parameterNames`` such as `["weight", "bias"]`,
/// ``bufferNames`` such as `["running_mean", "running_var", "num_batches_tracked"]`;
/// ``Sequential`` prefixes them with the layer's index ("0.weight").
public protocol Layer<Scalar>: Sendable, CustomStringConvertible {
  /// The element type: Float or Double.
  associatedtype Scalar: NetworkScalar

  /// The layer applied to `input`.
  /// - Throws: ``NetworkError/shapeMismatch(layer:expected:actual:)`` when the layer
  ///   cannot take the input's shape, and the errors of batch normalization.
  mutating func forward(_ input: Tensor<Scalar>, mode: ExecutionMode) throws -> Tensor<Scalar>

  /// ∂L/∂input of the last training-mode forward call, given ∂L/∂output; adds
  /// ∂L/∂parameters into ``gradients``.
  /// - Throws: ``NetworkError/missingTrainingForward(layer:)`` without such a call, and
  ///   ``NetworkError/shapeMismatch(layer:expected:actual:)`` when `gradOutput` does
  ///   not have the output's shape.
  mutating func backward(_ gradOutput: Tensor<Scalar>) throws -> Tensor<Scalar>

  /// `backward` for a layer whose input needs no gradient (the network's data): adds
  /// ∂L/∂parameters into ``gradients`` as `backward` does, but leaves ∂L/∂input
  /// uncomputed, as PyTorch does for an input that does not require grad. By default,
  /// `backward` with its result dropped; Linear and Conv2d skip the input's product.
  /// - Throws: what `backward` throws.
  mutating func accumulateParameterGradients(_ gradOutput: Tensor<Scalar>) throws

  /// The shape `forward` returns for an input of `inputShape`, so a network can check
  /// that its layers chain before it computes anything.
  /// - Throws: ``NetworkError/shapeMismatch(layer:expected:actual:)``.
  func outputShape(forInputShape inputShape: [Int]) throws -> [Int]

  /// The trainable tensors' `state_dict` names, in the order of ``parameters``.
  var parameterNames: [String] { get }
  /// The trainable tensors.
  var parameters: [Tensor<Scalar>] { get }
  /// ∂L/∂parameter for each of ``parameters``, accumulated by `backward`.
  var gradients: [Tensor<Scalar>] { get }
  /// Calls `body` with each parameter, in place, and its gradient: an optimizer's step
  /// (`parameter.scalars[i] -= rate * gradient.scalars[i]`) without copying tensors.
  /// `body` must keep each parameter's shape.
  mutating func updateParameters(
    _ body: (_ index: Int, _ parameter: inout Tensor<Scalar>, _ gradient: Tensor<Scalar>) -> Void)
  /// Calls `body` with each gradient, in place, in the order of ``gradients``: how a
  /// data-parallel step replaces each process's gradients with their sum over the
  /// processes. `body` must keep each gradient's shape.
  mutating func updateGradients(_ body: (_ index: Int, _ gradient: inout Tensor<Scalar>) -> Void)
  /// Sets every gradient to zero.
  mutating func zeroGradients()

  /// The non-trainable state's `state_dict` names, in the order of ``buffers``; empty
  /// by default.
  var bufferNames: [String] { get }
  /// The non-trainable state (batch normalization's running statistics); empty by default.
  var buffers: [Tensor<Scalar>] { get }
  /// Replaces every buffer, all or nothing (a checkpoint being loaded).
  /// - Throws: ``NetworkError/stateCountMismatch(layer:expected:actual:)`` or
  ///   ``NetworkError/stateShapeMismatch(layer:name:expected:actual:)``; the layer is
  ///   then unchanged.
  mutating func loadBuffers(_ buffers: [Tensor<Scalar>]) throws

  /// Starts a recalibration pass: the next ``ExecutionMode/recalibration`` batch
  /// replaces the running statistics instead of averaging into them. Does nothing by
  /// default.
  mutating func beginRecalibration()

  // What a training loop needs from a layer, declared by the layer so that the loop
  // never asks for a layer's type.

  /// What each parameter is, in the order of ``parameterNames``: an optimizer's
  /// ``WeightDecayPolicy`` reads it. By default a parameter named `bias` is a
  /// ``ParameterRole/bias`` and every other one a ``ParameterRole/weight``.
  var parameterRoles: [ParameterRole] { get }

  /// Called before every training step with its index (from 0) and the training
  /// configuration: a layer that follows a schedule sets itself for the step (Batch
  /// Renormalization's rMax and dMax). Does nothing by default.
  mutating func prepareForTrainingStep(_ step: Int, training: TrainingConfiguration)

  /// Makes the layer compute its batch statistics over the whole batch that the
  /// processes of `group` share (synchronized batch normalization). Does nothing by
  /// default: only layers with batch statistics have anything to share.
  mutating func shareBatchStatistics(over group: any BatchNormProcessGroup)

  /// Takes part in a data-parallel training step for a process whose shard of the batch
  /// is empty: a layer that exchanges with other processes exchanges what theirs do, in
  /// the same order. Does nothing by default.
  /// - Parameter inputShape: the shape the layer's input would have, with any batch size.
  mutating func forwardWithoutSamples(inputShape: [Int]) throws

  /// The backward half of ``forwardWithoutSamples(inputShape:)``. Does nothing by default.
  mutating func backwardWithoutSamples() throws
}

/// What a parameter is to the optimizer.
public enum ParameterRole: Hashable, Sendable {
  /// A weight matrix or kernel.
  case weight
  /// An additive bias.
  case bias
  /// A normalization layer's scale γ or shift β.
  case normalization
}

extension Layer {
  public var bufferNames: [String] { [] }
  public var buffers: [Tensor<Scalar>] { [] }

  public mutating func loadBuffers(_ buffers: [Tensor<Scalar>]) throws {
    guard buffers.isEmpty else { throw NetworkError.stateCountMismatch(layer: description, expected: 0, actual: buffers.count) }
  }

  public mutating func beginRecalibration() {}

  public var parameterRoles: [ParameterRole] { parameterNames.map { $0 == "bias" ? .bias : .weight } }

  public mutating func prepareForTrainingStep(_ step: Int, training: TrainingConfiguration) {}

  public mutating func shareBatchStatistics(over group: any BatchNormProcessGroup) {}

  public mutating func forwardWithoutSamples(inputShape: [Int]) throws {}

  public mutating func backwardWithoutSamples() throws {}

  public mutating func accumulateParameterGradients(_ gradOutput: Tensor<Scalar>) throws {
    _ = try backward(gradOutput)
  }

  /// Replaces every parameter, all or nothing (a checkpoint being loaded); the
  /// gradients are unchanged.
  /// - Throws: ``NetworkError/stateCountMismatch(layer:expected:actual:)`` or
  ///   ``NetworkError/stateShapeMismatch(layer:name:expected:actual:)``; the layer is
  ///   then unchanged.
  public mutating func loadParameters(_ newParameters: [Tensor<Scalar>]) throws {
    try checkState(newParameters, against: parameters, names: parameterNames)
    updateParameters { index, parameter, _ in parameter = newParameters[index] }
  }

  /// Checks that `loaded` has the count and shapes of `current`.
  func checkState(_ loaded: [Tensor<Scalar>], against current: [Tensor<Scalar>], names: [String]) throws {
    guard loaded.count == current.count else {
      throw NetworkError.stateCountMismatch(layer: description, expected: current.count, actual: loaded.count)
    }
    for (index, (new, old)) in zip(loaded, current).enumerated() {
      guard new.shape == old.shape, new.scalars.count == old.scalars.count else {
        throw NetworkError.stateShapeMismatch(layer: description, name: names[index], expected: old.shape, actual: new.shape)
      }
    }
  }

  /// Throws unless `gradOutput` has the shape of the output it is the gradient of.
  func checkGradient(_ gradOutput: Tensor<Scalar>, outputShape: [Int]) throws {
    guard gradOutput.shape == outputShape else {
      throw NetworkError.shapeMismatch(layer: description, expected: "a gradient of shape \(outputShape)", actual: gradOutput.shape)
    }
  }

  /// The error for an input this layer cannot take.
  func shapeMismatch(expected: String, actual: [Int]) -> NetworkError {
    .shapeMismatch(layer: description, expected: expected, actual: actual)
  }
}

/// A layer without trainable parameters (activations, pooling, dropout, reshaping):
/// empty parameter lists and nothing to update.
public protocol ParameterlessLayer: Layer {}

extension ParameterlessLayer {
  public var parameterNames: [String] { [] }
  public var parameters: [Tensor<Scalar>] { [] }
  public var gradients: [Tensor<Scalar>] { [] }
  public mutating func updateParameters(
    _ body: (_ index: Int, _ parameter: inout Tensor<Scalar>, _ gradient: Tensor<Scalar>) -> Void
  ) {}
  public mutating func updateGradients(_ body: (_ index: Int, _ gradient: inout Tensor<Scalar>) -> Void) {}
  public mutating func zeroGradients() {}
}
