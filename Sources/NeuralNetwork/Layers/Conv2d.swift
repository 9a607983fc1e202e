/// A 2-D convolution (cross-correlation, as `torch.nn.Conv2d`) over NCHW images:
/// ```
/// y[n, o, oy, ox] = b[o] + Σ_{c,i,j} W[o, c, i, j] · x[n, c, oy·s − p + i, ox·s − p + j]
/// x: [N, C, H, W],  W: [out, C, kh, kw],  y: [N, out, Ho, Wo],  Ho = (H + 2p − kh)/s + 1
/// ```
/// with zero padding p and stride s. Each sample is unfolded into a [K, P] column
/// matrix (im2col, K = C·kh·kw, P = Ho·Wo) and multiplied by BLAS:
/// ```
/// forward:  y_n = W·columns_n               [out, K]·[K, P]
/// backward: ∂L/∂W += ∂L/∂y_n · columns_nᵀ   ∂L/∂columns = Wᵀ·∂L/∂y_n, folded back by col2im
/// ```
/// The column matrices live in a workspace the layer reuses, one per block of samples
/// (blocks run in parallel); backward unfolds the saved input again instead of keeping
/// N of them (see Kernels/Convolution.swift).
public struct Conv2d<Scalar: NetworkScalar>: Layer {
  /// W and b with their gradients.
  private var state: WeightAndBias<Scalar>
  /// W, [out, in, kh, kw] (PyTorch's `weight`).
  public var weight: Tensor<Scalar> { state.weight }
  /// b, [out] (PyTorch's `bias`), or nil for a layer without bias.
  public var bias: Tensor<Scalar>? { state.bias }
  /// The step between windows, in both directions.
  public let stride: Int
  /// The zeros added on every side of each image.
  public let padding: Int
  /// ∂L/∂W, accumulated by backward.
  public var weightGradient: Tensor<Scalar> { state.weightGradient }
  /// ∂L/∂b, accumulated by backward.
  public var biasGradient: Tensor<Scalar>? { state.biasGradient }
  /// The input of the last training-mode forward call.
  private var savedInput: Tensor<Scalar>?
  /// Column matrices and partial gradients, one slot per block of samples, reused by
  /// every call.
  private var workspace = ConvolutionWorkspace<Scalar>()

  /// A layer with square kernels and weights from `initializer` (PyTorch's default
  /// unless told otherwise).
  /// - Throws: ``NetworkError/invalidParameter(layer:name:value:allowed:)`` for a count,
  ///   kernel size or stride below 1 or a negative padding.
  public init(
    inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
    hasBias: Bool = true, initializer: Initializer = .pytorchDefault, using generator: inout some RandomNumberGenerator
  ) throws {
    let counts = [("input channels", inputChannels), ("output channels", outputChannels), ("kernel size", kernelSize)]
    for (name, value) in counts where value < 1 {
      throw NetworkError.invalidParameter(layer: "Conv2d", name: name, value: Double(value), allowed: "≥ 1")
    }
    let shape = [outputChannels, inputChannels, kernelSize, kernelSize]
    let weight: Tensor<Scalar> = initializer.weight(shape: shape, using: &generator)
    let fanIn = Initializer.fans(ofWeightShape: shape).fanIn
    let bias: Tensor<Scalar>? = hasBias ? initializer.bias(count: outputChannels, fanIn: fanIn, using: &generator) : nil
    try self.init(weight: weight, bias: bias, stride: stride, padding: padding)
  }

  /// A layer with the given weight [out, in, kh, kw] and bias [out].
  /// - Throws: ``NetworkError/shapeMismatch(layer:expected:actual:)`` for other shapes,
  ///   ``NetworkError/invalidParameter(layer:name:value:allowed:)`` for a stride below
  ///   1 or a negative padding.
  public init(weight: Tensor<Scalar>, bias: Tensor<Scalar>?, stride: Int = 1, padding: Int = 0) throws {
    guard stride >= 1 else {
      throw NetworkError.invalidParameter(layer: "Conv2d", name: "stride", value: Double(stride), allowed: "≥ 1")
    }
    guard padding >= 0 else {
      throw NetworkError.invalidParameter(layer: "Conv2d", name: "padding", value: Double(padding), allowed: "≥ 0")
    }
    state = try WeightAndBias(weight: weight, bias: bias, rank: 4, layer: "Conv2d", weightLayout: "[out, in, kh, kw]")
    self.stride = stride
    self.padding = padding
  }

  /// The channels of the input.
  public var inputChannels: Int { weight.shape[1] }
  /// The channels of the output.
  public var outputChannels: Int { weight.shape[0] }
  /// kh and kw.
  public var kernelSize: (height: Int, width: Int) { (weight.shape[2], weight.shape[3]) }

  public var description: String {
    let kernel = kernelSize.height == kernelSize.width ? "\(kernelSize.height)" : "\(kernelSize.height)×\(kernelSize.width)"
    return "Conv2d(\(inputChannels), \(outputChannels), kernel: \(kernel), stride: \(stride), padding: \(padding)"
      + (bias == nil ? ", bias: false)" : ")")
  }

  public func outputShape(forInputShape inputShape: [Int]) throws -> [Int] {
    let geometry = try self.geometry(forInputShape: inputShape)
    return [inputShape[0], outputChannels, geometry.outputHeight, geometry.outputWidth]
  }

  /// The convolution's sizes for an input [N, C, H, W], checked.
  private func geometry(forInputShape shape: [Int]) throws -> ConvolutionGeometry {
    let kernel = kernelSize
    guard shape.count == 4, shape.allSatisfy({ $0 > 0 }), shape[1] == inputChannels,
      shape[2] + 2 * padding >= kernel.height, shape[3] + 2 * padding >= kernel.width
    else {
      throw shapeMismatch(
        expected: "[N, \(inputChannels), H, W] with H, W + 2·\(padding) ≥ the kernel \(kernel.height)×\(kernel.width)",
        actual: shape)
    }
    return ConvolutionGeometry(
      channels: shape[1], height: shape[2], width: shape[3], kernelHeight: kernel.height, kernelWidth: kernel.width,
      stride: stride, padding: padding)
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func forward(_ input: Tensor<Scalar>, mode: ExecutionMode) throws -> Tensor<Scalar> {
    let geometry = try self.geometry(forInputShape: input.shape)
    let batch = input.shape[0]
    let positions = geometry.outputPositions
    var output = [Scalar](repeating: 0, count: batch * outputChannels * positions)
    convolutionForward(
      input: input.scalars, weight: weight.scalars, bias: bias?.scalars, geometry: geometry, batch: batch,
      outputChannels: outputChannels, workspace: &workspace, output: &output)
    savedInput = mode == .training ? input : nil
    return Tensor(shape: [batch, outputChannels, geometry.outputHeight, geometry.outputWidth], scalars: output)
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
    let geometry = try self.geometry(forInputShape: input.shape)
    let batch = input.shape[0]
    try checkGradient(gradOutput, outputShape: [batch, outputChannels, geometry.outputHeight, geometry.outputWidth])
    var gradInput = computingInputGradient ? [Scalar](repeating: 0, count: input.scalars.count) : nil
    convolutionBackward(
      input: input.scalars, gradOutput: gradOutput.scalars, weight: weight.scalars, geometry: geometry,
      batch: batch, outputChannels: outputChannels, workspace: &workspace,
      weightGradient: &state.weightGradient.scalars, biasGradient: &state.biasGradient, gradInput: &gradInput)
    return gradInput.map { Tensor(shape: input.shape, scalars: $0) }
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
