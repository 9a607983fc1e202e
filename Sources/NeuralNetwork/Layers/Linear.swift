/// A fully connected layer, as `torch.nn.Linear`:
/// ```
/// y = x·Wᵀ + b      x: [N, in],  W: [out, in],  b: [out],  y: [N, out]
/// backward: ∂L/∂W += (∂L/∂y)ᵀ·x,  ∂L/∂b += Σ_rows ∂L/∂y,  ∂L/∂x = ∂L/∂y·W
/// ```
/// An input of higher rank, such as images [N, C, H, W] with C·H·W = in, is flattened
/// to [N, in] implicitly, and its gradient comes back in the input's shape. All three
/// products are one BLAS call each.
public struct Linear<Scalar: NetworkScalar>: Layer {
  /// W and b with their gradients.
  private var state: WeightAndBias<Scalar>
  /// W, [out, in] (PyTorch's `weight`).
  public var weight: Tensor<Scalar> { state.weight }
  /// b, [out] (PyTorch's `bias`), or nil for a layer without bias.
  public var bias: Tensor<Scalar>? { state.bias }
  /// ∂L/∂W, accumulated by backward.
  public var weightGradient: Tensor<Scalar> { state.weightGradient }
  /// ∂L/∂b, accumulated by backward.
  public var biasGradient: Tensor<Scalar>? { state.biasGradient }
  /// The input of the last training-mode forward call.
  private var savedInput: Tensor<Scalar>?

  /// A layer with weights from `initializer` (PyTorch's default unless told otherwise).
  /// - Throws: ``NetworkError/invalidParameter(layer:name:value:allowed:)`` for a
  ///   feature count below 1.
  public init(
    inputFeatures: Int, outputFeatures: Int, hasBias: Bool = true, initializer: Initializer = .pytorchDefault,
    using generator: inout some RandomNumberGenerator
  ) throws {
    for (name, value) in [("input features", inputFeatures), ("output features", outputFeatures)] where value < 1 {
      throw NetworkError.invalidParameter(layer: "Linear", name: name, value: Double(value), allowed: "≥ 1")
    }
    let weight: Tensor<Scalar> = initializer.weight(shape: [outputFeatures, inputFeatures], using: &generator)
    let bias: Tensor<Scalar>? =
      hasBias ? initializer.bias(count: outputFeatures, fanIn: inputFeatures, using: &generator) : nil
    try self.init(weight: weight, bias: bias)
  }

  /// A layer with the given weight [out, in] and bias [out].
  /// - Throws: ``NetworkError/shapeMismatch(layer:expected:actual:)`` for other shapes.
  public init(weight: Tensor<Scalar>, bias: Tensor<Scalar>?) throws {
    state = try WeightAndBias(weight: weight, bias: bias, rank: 2, layer: "Linear", weightLayout: "[out, in]")
  }

  /// in, the features of one sample.
  public var inputFeatures: Int { weight.shape[1] }
  /// out, the features of the output.
  public var outputFeatures: Int { weight.shape[0] }

  public var description: String {
    "Linear(\(inputFeatures), \(outputFeatures)\(bias == nil ? ", bias: false" : ""))"
  }

  public func outputShape(forInputShape inputShape: [Int]) throws -> [Int] {
    guard inputShape.count >= 2, inputShape.allSatisfy({ $0 > 0 }),
      inputShape.dropFirst().reduce(1, *) == inputFeatures
    else { throw shapeMismatch(expected: "[N, \(inputFeatures)] (or [N, …] with \(inputFeatures) features per sample)", actual: inputShape) }
    return [inputShape[0], outputFeatures]
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func forward(_ input: Tensor<Scalar>, mode: ExecutionMode) throws -> Tensor<Scalar> {
    let shape = try outputShape(forInputShape: input.shape)
    let batch = shape[0]
    // Start from the bias in every row, then add x·Wᵀ (β = 1), or overwrite zeros (β = 0).
    var output: [Scalar]
    if let bias {
      output = [Scalar]()
      output.reserveCapacity(batch * outputFeatures)
      for _ in 0..<batch { output.append(contentsOf: bias.scalars) }
    } else {
      output = [Scalar](repeating: 0, count: batch * outputFeatures)
    }
    Scalar.gemm(
      transposeB: true, m: batch, n: outputFeatures, k: inputFeatures, a: input.scalars, b: weight.scalars,
      beta: bias == nil ? 0 : 1, c: &output)
    savedInput = mode == .training ? input : nil
    return Tensor(shape: shape, scalars: output)
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func backward(_ gradOutput: Tensor<Scalar>) throws -> Tensor<Scalar> {
    try backward(gradOutput, computingInputGradient: true)!
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func accumulateParameterGradients(_ gradOutput: Tensor<Scalar>) throws {
    _ = try backward(gradOutput, computingInputGradient: false)
  }

  /// Adds ∂L/∂W and ∂L/∂b; returns ∂L/∂x when asked, nil otherwise.
  private mutating func backward(_ gradOutput: Tensor<Scalar>, computingInputGradient: Bool) throws -> Tensor<Scalar>? {
    guard let input = savedInput else { throw NetworkError.missingTrainingForward(layer: description) }
    let (batch, inputFeatures, outputFeatures) = (input.shape[0], self.inputFeatures, self.outputFeatures)
    try checkGradient(gradOutput, outputShape: [batch, outputFeatures])
    // ∂L/∂W [out, in] += (∂L/∂y)ᵀ [out, N] · x [N, in]
    Scalar.gemm(
      transposeA: true, m: outputFeatures, n: inputFeatures, k: batch, a: gradOutput.scalars, b: input.scalars,
      beta: 1, c: &state.weightGradient.scalars)
    if state.biasGradient != nil {
      addColumnSums(of: gradOutput.scalars, rows: batch, columns: outputFeatures, into: &state.biasGradient!.scalars)
    }
    guard computingInputGradient else { return nil }
    // ∂L/∂x [N, in] = ∂L/∂y [N, out] · W [out, in]
    var gradInput = [Scalar](repeating: 0, count: input.scalars.count)
    Scalar.gemm(
      m: batch, n: inputFeatures, k: outputFeatures, a: gradOutput.scalars, b: weight.scalars, c: &gradInput)
    return Tensor(shape: input.shape, scalars: gradInput)
  }

  public var parameterNames: [String] { state.names }
  public var parameters: [Tensor<Scalar>] { state.tensors }
  public var gradients: [Tensor<Scalar>] { state.gradients }

  public mutating func updateParameters(
    _ body: (_ index: Int, _ parameter: inout Tensor<Scalar>, _ gradient: Tensor<Scalar>) -> Void
  ) {
    state.update(body)
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func updateGradients(_ body: (_ index: Int, _ gradient: inout Tensor<Scalar>) -> Void) {
    state.updateGradients(body)
  }

  public mutating func zeroGradients() { state.zeroGradients() }
}
