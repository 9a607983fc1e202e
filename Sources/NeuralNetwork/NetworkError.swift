/// Why a layer, loss or metric refused its input. Thrown before anything is written:
/// a layer that throws is unchanged.
public enum NetworkError: Error, Hashable, Sendable, CustomStringConvertible {
  /// A layer (or loss) cannot take a tensor of this shape. `expected` describes what it
  /// takes, with N for any batch size: "[N, 784]".
  case shapeMismatch(layer: String, expected: String, actual: [Int])
  /// backward was called without a training-mode forward call before it (an inference
  /// or recalibration call releases what training kept).
  case missingTrainingForward(layer: String)
  /// A hyperparameter is outside its allowed range.
  case invalidParameter(layer: String, name: String, value: Double, allowed: String)
  /// A class label is outside 0..<classCount.
  case invalidLabel(sample: Int, label: Int, classCount: Int)
  /// Loaded state (a parameter or buffer) has the wrong shape.
  case stateShapeMismatch(layer: String, name: String, expected: [Int], actual: [Int])
  /// Loaded state has the wrong number of tensors.
  case stateCountMismatch(layer: String, expected: Int, actual: Int)

  public var description: String {
    switch self {
    case .shapeMismatch(let layer, let expected, let actual):
      return "\(layer) expects \(expected) but got \(actual)"
    case .missingTrainingForward(let layer):
      return "\(layer): backward needs a training-mode forward call first"
    case .invalidParameter(let layer, let name, let value, let allowed):
      return "\(layer): \(name) is \(value); allowed: \(allowed)"
    case .invalidLabel(let sample, let label, let classCount):
      return "sample \(sample) has label \(label), outside 0..<\(classCount)"
    case .stateShapeMismatch(let layer, let name, let expected, let actual):
      return "\(layer): \(name) has shape \(expected) but the loaded tensor has \(actual)"
    case .stateCountMismatch(let layer, let expected, let actual):
      return "\(layer) has \(expected) tensors of state but \(actual) were loaded"
    }
  }
}
