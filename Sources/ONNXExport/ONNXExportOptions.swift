/// How a network is written as ONNX.
public struct ONNXExportOptions: Hashable, Sendable {
  /// The opsets the exporter writes: 9 (the first whose BatchNormalization has no
  /// `spatial` attribute) through 21.
  public static let supportedOpsets: ClosedRange<Int> = 9...21
  /// Opset 15, the default: BatchNormalization with `training_mode` and Float32
  /// statistics, read by every current runtime.
  public static let defaultOpset = 15

  /// The version of the default ONNX operator set (`ai.onnx`) the model imports.
  public var opset: Int
  /// Whether each batch normalization that directly follows a linear layer or a
  /// convolution (dropout in between is the identity at inference) is folded into it:
  /// W′ = W·s and b′ = (b − µ)·s + β per output, with s = γ / √(σ² + ε).
  public var foldsBatchNormalization: Bool

  /// Options; by default opset 15 and batch normalization kept as its own node.
  public init(opset: Int = defaultOpset, foldsBatchNormalization: Bool = false) {
    self.opset = opset
    self.foldsBatchNormalization = foldsBatchNormalization
  }

  /// The IR version that ONNX released together with `opset` (ONNX's version table):
  /// the oldest file format a runtime must read to load the model.
  static func irVersion(forOpset opset: Int) -> Int64 {
    switch opset {
    case ...9: return 4
    case 10: return 5
    case 11: return 6
    case 12...14: return 7
    case 15...18: return 8
    case 19...20: return 9
    default: return 10
    }
  }
}
