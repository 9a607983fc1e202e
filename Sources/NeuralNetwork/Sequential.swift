import BatchNormalization

/// Layers applied one after another, as `torch.nn.Sequential`; itself a ``Layer``.
///
/// ```swift
/// var generator = SeededGenerator(seed: 1)
/// var model = Sequential<Float>([
///   try Linear(inputFeatures: 784, outputFeatures: 100, using: &generator),
///   try .batchNorm1d(100),                                  // nn.BatchNorm1d(100)
///   Sigmoid(),
///   try Linear(inputFeatures: 100, outputFeatures: 10, using: &generator),
/// ])
/// let logits = try model(images, mode: .training)           // model.forward(images, mode: .training)
/// let (loss, gradLogits) = try SoftmaxCrossEntropy().evaluate(logits: logits, labels: labels)
/// _ = try model.backward(gradLogits)
/// ```
///
/// `state_dict` names are the layer's index and its own name: "0.weight",
/// "1.running_mean"; the flat index of ``updateParameters(_:)`` runs over all layers'
/// parameters in that order.
public struct Sequential<Scalar: NetworkScalar>: Layer {
  /// The layers, first applied first.
  public var layers: [any Layer<Scalar>]

  /// A network of these layers, applied in order.
  public init(_ layers: [any Layer<Scalar>]) {
    self.layers = layers
  }

  public var description: String {
    let lines = layers.enumerated().map { index, layer in
      "  (\(index)): " + layer.description.replacingNewlines(with: "\n  ")
    }
    return (["Sequential("] + lines + [")"]).joined(separator: "\n")
  }

  /// The output shape after every layer, checked link by link.
  /// - Throws: ``NetworkError/shapeMismatch(layer:expected:actual:)`` naming the first
  ///   layer that cannot take what the layer before it gives, its index, what it
  ///   expects, and the shape it would get.
  public func outputShape(forInputShape inputShape: [Int]) throws -> [Int] {
    var shape = inputShape
    for index in layers.indices {
      shape = try namingLayer(index) { try layers[index].outputShape(forInputShape: shape) }
    }
    return shape
  }

  public mutating func forward(_ input: Tensor<Scalar>, mode: ExecutionMode) throws -> Tensor<Scalar> {
    try forward(input, mode: mode) { _, _ in }
  }

  /// The network applied to `input`, calling `observer` with each layer's index and
  /// the input it is about to get (the lab records what goes into each sigmoid).
  ///
  /// The shapes are checked for the whole chain before any layer runs, so a shape
  /// error leaves every layer (and its running statistics) unchanged.
  public mutating func forward(
    _ input: Tensor<Scalar>, mode: ExecutionMode, observer: (_ layerIndex: Int, _ input: Tensor<Scalar>) -> Void
  ) throws -> Tensor<Scalar> {
    _ = try outputShape(forInputShape: input.shape)
    var activation = input
    for index in layers.indices {
      observer(index, activation)
      activation = try namingLayer(index) { try layers[index].forward(activation, mode: mode) }
    }
    return activation
  }

  /// Backward through every layer, last first.
  public mutating func backward(_ gradOutput: Tensor<Scalar>) throws -> Tensor<Scalar> {
    var gradient = gradOutput
    for index in layers.indices.reversed() {
      gradient = try namingLayer(index) { try layers[index].backward(gradient) }
    }
    return gradient
  }

  /// Backward through the layers for the parameters' gradients only: the first layer
  /// with parameters skips ∂L/∂input (``Layer/accumulateParameterGradients(_:)``) and
  /// the parameterless layers before it are not visited. A training step's backward.
  public mutating func accumulateParameterGradients(_ gradOutput: Tensor<Scalar>) throws {
    guard let first = layers.firstIndex(where: { !$0.parameterNames.isEmpty }) else { return }
    var gradient = gradOutput
    for index in layers.indices.reversed() where index > first {
      gradient = try namingLayer(index) { try layers[index].backward(gradient) }
    }
    try namingLayer(first) { try layers[first].accumulateParameterGradients(gradient) }
  }

  public var parameterNames: [String] {
    layers.enumerated().flatMap { index, layer in layer.parameterNames.map { "\(index).\($0)" } }
  }

  public var parameters: [Tensor<Scalar>] { layers.flatMap { $0.parameters } }

  public var gradients: [Tensor<Scalar>] { layers.flatMap { $0.gradients } }

  public mutating func updateParameters(
    _ body: (_ index: Int, _ parameter: inout Tensor<Scalar>, _ gradient: Tensor<Scalar>) -> Void
  ) {
    var offset = 0
    for index in layers.indices {
      layers[index].updateParameters { layerIndex, parameter, gradient in body(offset + layerIndex, &parameter, gradient) }
      offset += layers[index].parameterNames.count
    }
  }

  /// Takes part in a data-parallel training step for a process whose shard of the batch
  /// is empty: every layer that exchanges with other processes (synchronized batch
  /// normalization) exchanges what theirs do, in the same order; nothing else is computed.
  /// - Parameter sampleShape: one sample's shape, without the batch dimension.
  public mutating func forwardWithoutSamples(sampleShape: [Int]) throws {
    try forwardWithoutSamples(inputShape: [1] + sampleShape)
  }

  public mutating func forwardWithoutSamples(inputShape: [Int]) throws {
    var shape = inputShape
    for index in layers.indices {
      try layers[index].forwardWithoutSamples(inputShape: shape)
      shape = try layers[index].outputShape(forInputShape: shape)
    }
  }

  /// The backward half of ``forwardWithoutSamples(sampleShape:)``, in reverse layer order.
  public mutating func backwardWithoutSamples() throws {
    for index in layers.indices.reversed() { try layers[index].backwardWithoutSamples() }
  }

  public var parameterRoles: [ParameterRole] { layers.flatMap { $0.parameterRoles } }

  public mutating func prepareForTrainingStep(_ step: Int, training: TrainingConfiguration) {
    for index in layers.indices { layers[index].prepareForTrainingStep(step, training: training) }
  }

  public mutating func shareBatchStatistics(over group: any BatchNormProcessGroup) {
    for index in layers.indices { layers[index].shareBatchStatistics(over: group) }
  }

  public mutating func updateGradients(_ body: (_ index: Int, _ gradient: inout Tensor<Scalar>) -> Void) {
    var offset = 0
    for index in layers.indices {
      layers[index].updateGradients { layerIndex, gradient in body(offset + layerIndex, &gradient) }
      offset += layers[index].parameterNames.count
    }
  }

  public mutating func zeroGradients() {
    for index in layers.indices { layers[index].zeroGradients() }
  }

  public var bufferNames: [String] {
    layers.enumerated().flatMap { index, layer in layer.bufferNames.map { "\(index).\($0)" } }
  }

  public var buffers: [Tensor<Scalar>] { layers.flatMap { $0.buffers } }

  public mutating func loadBuffers(_ newBuffers: [Tensor<Scalar>]) throws {
    try checkState(newBuffers, against: buffers, names: bufferNames)
    // Load into a copy and keep it only when every layer accepted its part.
    var updated = layers
    var offset = 0
    for index in updated.indices {
      let count = updated[index].bufferNames.count
      let part = Array(newBuffers[offset..<offset + count])
      try namingLayer(index) { try updated[index].loadBuffers(part) }
      offset += count
    }
    layers = updated
  }

  public mutating func beginRecalibration() {
    for index in layers.indices { layers[index].beginRecalibration() }
  }

  /// Calls `body` on every layer of type `type`, also inside nested sequentials: to
  /// set a batch-normalization layer's ``BatchNormLayer/modeOverride`` or its
  /// renormalization limits for this step, for example.
  public mutating func updateLayers<Member: Layer>(
    ofType type: Member.Type, _ body: (inout Member) -> Void
  ) where Member.Scalar == Scalar {
    for index in layers.indices {
      if var layer = layers[index] as? Member {
        body(&layer)
        layers[index] = layer
      } else if var nested = layers[index] as? Sequential {
        nested.updateLayers(ofType: type, body)
        layers[index] = nested
      }
    }
  }

}

/// Runs `body`, naming layer `index` of a sequential in a shape error it throws.
private func namingLayer<Result>(_ index: Int, _ body: () throws -> Result) throws -> Result {
  do {
    return try body()
  } catch NetworkError.shapeMismatch(let layer, let expected, let actual) {
    throw NetworkError.shapeMismatch(layer: "layer \(index), \(layer),", expected: expected, actual: actual)
  }
}

extension String {
  /// The string with every newline replaced by `replacement` (indents nested descriptions).
  fileprivate func replacingNewlines(with replacement: String) -> String {
    split(separator: "\n", omittingEmptySubsequences: false).joined(separator: replacement)
  }
}
