/// Why a network could not be written as ONNX.
public enum ONNXExportError: Error, Hashable, Sendable, CustomStringConvertible {
  /// The opset is outside ``ONNXExportOptions/supportedOpsets``.
  case unsupportedOpset(Int)
  /// A batch normalization layer that inference cannot compute: a channel's running
  /// variance plus ε is not positive, so its scale 1/√(σ² + ε) is infinite.
  case degenerateBatchNormalization(layer: Int, channel: Int, variance: Double, epsilon: Double)
  /// Folding a batch normalization into the layer before it gives a weight or bias
  /// beyond Float's range.
  case foldedValueOverflows(layer: Int, batchNormLayer: Int)
  /// The checkpoint lacks a tensor the architecture has (a checkpoint that was
  /// decoded and checked always has them).
  case missingTensor(String)
  /// The model could not be encoded as protobuf.
  case cannotEncode(String)
  /// The model could not be written.
  case cannotWrite(file: String, problem: String)

  public var description: String {
    switch self {
    case .unsupportedOpset(let opset):
      let range = ONNXExportOptions.supportedOpsets
      return "opset \(opset) is not supported: the exporter writes opsets \(range.lowerBound) to \(range.upperBound)"
    case .degenerateBatchNormalization(let layer, let channel, let variance, let epsilon):
      return "layer \(layer) (bn): running_var[\(channel)] + eps = \(variance) + \(epsilon) is not positive, so inference "
        + "divides by zero; such a layer has no ONNX equivalent (retrain with eps > 0)"
    case .foldedValueOverflows(let layer, let batchNormLayer):
      return "folding layer \(batchNormLayer) (bn) into layer \(layer) gives weights beyond Float's range; "
        + "export without --fold-batchnorm"
    case .missingTensor(let name):
      return "the checkpoint has no tensor '\(name)'"
    case .cannotEncode(let problem):
      return "cannot encode the model: \(problem)"
    case .cannotWrite(let file, let problem):
      return "\(file): \(problem)"
    }
  }
}
