/// Why a batch-normalization call refused its input. Every case names the values
/// that were wrong; nothing was written or updated when one is thrown.
public enum BatchNormError: Error, Equatable, Sendable, CustomStringConvertible {
  /// Training needs at least two values per channel to have a variance.
  case singleValuePerChannel(shape: BatchNormShape)
  /// The dimensions do not describe a batch (rank below 2, a zero size, overflow).
  case invalidShape(dimensions: [Int], reason: String)
  /// A per-channel array (scale, shift, running mean, …) has the wrong length.
  case channelCountMismatch(name: String, expected: Int, actual: Int)
  /// A buffer (input, output, gradient) has the wrong number of elements.
  case elementCountMismatch(name: String, expected: Int, actual: Int)
  /// A configuration value is outside its allowed range.
  case invalidParameter(name: String, value: Double, allowed: String)
  /// The context passed to backward belongs to a different call or shape.
  case contextMismatch(reason: String)
  /// A mode needs something the layer does not have (for example inference without
  /// running statistics).
  case unsupported(reason: String)
  /// The ranks of a synchronized call disagree (channels, layout, element type, mode), or
  /// another rank refused its own input; every rank throws, none waits.
  case synchronizationMismatch(reason: String)
  /// The process group could not deliver a synchronized call's exchange.
  case communicationFailed(reason: String)

  public var description: String {
    switch self {
    case .singleValuePerChannel(let shape):
      return "Expected more than 1 value per channel when training, got \(shape.valuesPerChannel) "
        + "for input of shape \(shape)"
    case .invalidShape(let dimensions, let reason):
      return "invalid shape \(dimensions): \(reason)"
    case .channelCountMismatch(let name, let expected, let actual):
      guard name != "input" else { return "input has \(actual) channels but the layer has \(expected)" }
      return "\(name) has \(actual) values but the layer has \(expected) channels"
    case .elementCountMismatch(let name, let expected, let actual):
      return "\(name) has \(actual) elements but the shape needs \(expected)"
    case .invalidParameter(let name, let value, let allowed):
      let shown = value.rounded() == value && abs(value) < 1e15 ? String(Int(value)) : String(value)
      return "\(name) is \(shown); allowed: \(allowed)"
    case .contextMismatch(let reason):
      return "backward context does not match: \(reason)"
    case .unsupported(let reason):
      return reason
    case .synchronizationMismatch(let reason):
      return "synchronized batch normalization: \(reason)"
    case .communicationFailed(let reason):
      return "synchronized batch normalization could not communicate: \(reason)"
    }
  }
}
