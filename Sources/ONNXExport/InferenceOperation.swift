import BatchNormalization

/// One step of a network at inference, as the exporter sees it: a layer's operation
/// with its parameters, before it becomes ONNX nodes. Dropout has none (it is the
/// identity at inference).
struct InferenceOperation {
  /// The architecture's index of the layer (its PyTorch `state_dict` prefix).
  var layer: Int
  var kind: Kind

  enum Kind {
    /// y = x Wᵀ + b over flattened samples (ONNX Gemm, transB = 1).
    case linear(AffineParameters)
    /// A 2-D convolution with square kernel, stride and padding (ONNX Conv).
    case convolution(AffineParameters, kernel: Int, stride: Int, padding: Int)
    /// Inference-mode batch normalization over axis 1.
    case batchNormalization(BatchNormParameters)
    case relu, sigmoid, tanh, flatten
    case maxPool(kernel: Int)
    case averagePool(kernel: Int)
  }
}

/// A linear layer's or a convolution's parameters, in PyTorch's layout: the weight
/// [out, in] or [out, in, kh, kw], the bias [out] when the layer has one.
struct AffineParameters {
  var weight: [Float]
  var weightShape: [Int]
  var bias: [Float]?
  /// The batch normalization layer folded into these parameters, if any.
  var foldedBatchNormLayer: Int?

  /// The number of outputs (rows of the weight).
  var outputCount: Int { weightShape[0] }
}

/// What an inference-mode batch normalization layer computes per channel c:
/// y = γ_c (x − µ_c) / √(σ²_c + ε) + β_c, with the running mean µ and running variance
/// σ² (γ = 1, β = 0 for a layer without affine parameters).
struct BatchNormParameters {
  /// The layer itself, for the core's folding.
  var layer: BatchNorm<Float>
  var scale: [Float]
  var shift: [Float]
  var mean: [Float]
  var variance: [Float]
  var epsilon: Double
  /// PyTorch's momentum (weight on the new batch); nil for a cumulative average.
  var momentum: Double?

  /// Per channel, 1/√(σ² + ε) in Double.
  /// - Throws: ``ONNXExportError/degenerateBatchNormalization(layer:channel:variance:epsilon:)``
  ///   for the first channel whose σ² + ε is not positive (its scale would be infinite).
  func inverseStandardDeviations(layer: Int) throws(ONNXExportError) -> [Double] {
    var result: [Double] = []
    result.reserveCapacity(variance.count)
    for (channel, value) in variance.enumerated() {
      let sum = Double(value) + epsilon
      guard sum > 0 else {
        throw .degenerateBatchNormalization(layer: layer, channel: channel, variance: Double(value), epsilon: epsilon)
      }
      result.append(1 / sum.squareRoot())
    }
    return result
  }
}

extension AffineParameters {
  /// These parameters followed by `normalization`, as one affine layer: the core's
  /// folding (`BatchNorm.folded(weight:bias:)`: W′_o = W_o·s_o and
  /// b′_o = (b_o − µ_o)·s_o + β_o with s_o = γ_o / √(σ²_o + ε), in Double, rounded once).
  /// - Returns: nil when a folded value is beyond Float's range.
  func folding(_ normalization: BatchNormParameters, layer: Int) -> AffineParameters? {
    guard let folded = try? normalization.layer.folded(weight: weight, bias: bias),
      folded.weight.allSatisfy(\.isFinite), folded.bias.allSatisfy(\.isFinite)
    else { return nil }
    return AffineParameters(weight: folded.weight, weightShape: weightShape, bias: folded.bias, foldedBatchNormLayer: layer)
  }
}
