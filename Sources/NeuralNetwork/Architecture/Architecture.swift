import Foundation
import BatchNormalization

/// A network written as a compact string of comma-separated layers, in the order of a
/// PyTorch `nn.Sequential`, so layer i's parameters are PyTorch's `i.…` keys:
///
/// | token | layer |
/// |---|---|
/// | `linear:OUT` | fully connected, OUT outputs (flattens image-shaped input) |
/// | `conv:OUT:KERNEL:STRIDE:PADDING` | 2-D convolution (STRIDE and PADDING default 1 and 0) |
/// | `…:nobias` after either | the same without a bias (PyTorch's `bias=False`), as before `bn` |
/// | `maxpool:K`, `avgpool:K` | 2-D pooling, kernel = stride = K |
/// | `flatten` | (N, C, H, W) → (N, C·H·W) |
/// | `bn` | BatchNorm1d after a linear layer, BatchNorm2d after a convolution |
/// | `sigmoid`, `tanh`, `relu` | activations |
/// | `dropout:P` | inverted dropout with drop probability P |
///
/// `bn` takes options after colons: `momentum=M` (weight on the new batch), `eps=E`,
/// `ghost=V` (virtual batch size), `renorm` (Batch Renormalization), `biased` (biased
/// running variance), `noaffine`, `cumulative`. Example:
/// `linear:100,bn:momentum=0.01,sigmoid,linear:10`.
public struct Architecture: Hashable, Sendable, CustomStringConvertible {
  /// The layers in order.
  public let layers: [LayerSpecification]

  /// An architecture of these layers, in order.
  public init(layers: [LayerSpecification]) {
    self.layers = layers
  }

  /// Parses the compact form.
  /// - Throws: ``ArchitectureError`` pointing at the token that is wrong.
  public init(parsing text: String) throws(ArchitectureError) {
    let tokens = text.split(separator: ",", omittingEmptySubsequences: false).map {
      String($0).trimmingCharacters(in: .whitespaces)
    }
    guard !(tokens.count == 1 && tokens[0].isEmpty) else {
      throw ArchitectureError(text: text, tokenIndex: 0, token: "", reason: "the architecture is empty")
    }
    var layers: [LayerSpecification] = []
    for (index, token) in tokens.enumerated() {
      do {
        layers.append(try LayerSpecification(parsing: token))
      } catch let reason {
        throw ArchitectureError(text: text, tokenIndex: index, token: token, reason: reason.message)
      }
    }
    self.layers = layers
  }

  /// The canonical compact form; parsing it gives the same architecture.
  public var description: String { layers.map(\.description).joined(separator: ",") }
}

/// Why an architecture string could not be read, pointing at the token.
public struct ArchitectureError: Error, Hashable, Sendable, CustomStringConvertible {
  /// The whole architecture string.
  public let text: String
  /// The 0-based position of the wrong token (= the layer index it would have had).
  public let tokenIndex: Int
  /// The token, as written.
  public let token: String
  /// What is wrong with it.
  public let reason: String

  public var description: String {
    "architecture token \(tokenIndex + 1) '\(token)': \(reason)"
  }
}

/// One layer of an ``Architecture``.
public enum LayerSpecification: Hashable, Sendable, CustomStringConvertible {
  /// `linear:OUT`, or `linear:OUT:nobias`.
  case linear(outputs: Int, hasBias: Bool = true)
  /// `conv:OUT:KERNEL:STRIDE:PADDING`, or the same ending in `:nobias`.
  case convolution(outputs: Int, kernel: Int, stride: Int, padding: Int, hasBias: Bool = true)
  /// `maxpool:K`.
  case maxPool(kernel: Int)
  /// `avgpool:K`.
  case averagePool(kernel: Int)
  /// `flatten`.
  case flatten
  /// `bn` with its options.
  case batchNorm(BatchNormOptions)
  /// `sigmoid`.
  case sigmoid
  /// `tanh`.
  case tanh
  /// `relu`.
  case relu
  /// `dropout:P`.
  case dropout(probability: Double)

  /// The per-layer message of a parse failure.
  struct ParseFailure: Error {
    let message: String
  }

  init(parsing token: String) throws(ParseFailure) {
    let parts = token.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    let name = parts[0].lowercased()
    // `nobias` (PyTorch's bias=False) ends a linear or conv token.
    let hasBias = !(["linear", "conv"].contains(name) && parts.count > 2 && parts.last?.lowercased() == "nobias")
    let arguments = Array(parts.dropFirst().dropLast(hasBias ? 0 : 1))
    func integers(_ names: [String], defaults: [Int?]) throws(ParseFailure) -> [Int] {
      guard arguments.count <= names.count else {
        throw ParseFailure(message: "\(name) takes at most \(names.count) numbers (\(names.joined(separator: ":")))")
      }
      var values: [Int] = []
      for (position, argumentName) in names.enumerated() {
        if position < arguments.count {
          guard let value = Int(arguments[position]), value >= (argumentName == "PADDING" ? 0 : 1) else {
            throw ParseFailure(message: "\(argumentName) must be a \(argumentName == "PADDING" ? "non-negative" : "positive") integer, got '\(arguments[position])'")
          }
          guard value <= Self.largestSize else {
            throw ParseFailure(message: "\(argumentName) must be at most \(Self.largestSize), got '\(arguments[position])'")
          }
          values.append(value)
        } else if let fallback = defaults[position] {
          values.append(fallback)
        } else {
          throw ParseFailure(message: "\(name) needs \(names.prefix(position + 1).joined(separator: ":")), e.g. \(Self.examples[name] ?? name)")
        }
      }
      return values
    }
    switch name {
    case "linear":
      self = .linear(outputs: try integers(["OUT"], defaults: [nil])[0], hasBias: hasBias)
    case "conv":
      let values = try integers(["OUT", "KERNEL", "STRIDE", "PADDING"], defaults: [nil, nil, 1, 0])
      self = .convolution(outputs: values[0], kernel: values[1], stride: values[2], padding: values[3], hasBias: hasBias)
    case "maxpool":
      self = .maxPool(kernel: try integers(["K"], defaults: [nil])[0])
    case "avgpool":
      self = .averagePool(kernel: try integers(["K"], defaults: [nil])[0])
    case "flatten", "sigmoid", "tanh", "relu":
      guard arguments.isEmpty else { throw ParseFailure(message: "\(name) takes no arguments") }
      self = name == "flatten" ? .flatten : name == "sigmoid" ? .sigmoid : name == "tanh" ? .tanh : .relu
    case "dropout":
      guard arguments.count == 1, let probability = Double(arguments[0]), (0..<1).contains(probability) else {
        throw ParseFailure(message: "dropout needs a probability in [0, 1), e.g. dropout:0.5")
      }
      self = .dropout(probability: probability)
    case "bn":
      self = .batchNorm(try BatchNormOptions(parsing: arguments))
    default:
      throw ParseFailure(message: "unknown layer '\(parts[0])'; expected one of linear, conv, maxpool, avgpool, flatten, bn, sigmoid, tanh, relu, dropout")
    }
  }

  /// The largest size a token takes (2³¹ − 1): no layer has more outputs, kernel,
  /// stride or padding, and sums and products of a few such sizes stay far from
  /// overflowing `Int`.
  static let largestSize = Int(Int32.max)

  private static let examples = ["linear": "linear:100", "conv": "conv:32:3:1:1", "maxpool": "maxpool:2", "avgpool": "avgpool:2"]

  public var description: String {
    switch self {
    case .linear(let outputs, let hasBias): return "linear:\(outputs)" + (hasBias ? "" : ":nobias")
    case .convolution(let outputs, let kernel, let stride, let padding, let hasBias):
      return "conv:\(outputs):\(kernel):\(stride):\(padding)" + (hasBias ? "" : ":nobias")
    case .maxPool(let kernel): return "maxpool:\(kernel)"
    case .averagePool(let kernel): return "avgpool:\(kernel)"
    case .flatten: return "flatten"
    case .batchNorm(let options): return (["bn"] + options.arguments).joined(separator: ":")
    case .sigmoid: return "sigmoid"
    case .tanh: return "tanh"
    case .relu: return "relu"
    case .dropout(let probability): return "dropout:\(probability)"
    }
  }
}

/// The options of a `bn` token; the defaults are PyTorch's.
public struct BatchNormOptions: Hashable, Sendable {
  /// The layer's configuration (momentum, ε, ghost batches, …).
  public var configuration: BatchNormConfiguration
  /// Batch Renormalization with the paper's schedule for rMax and dMax.
  public var renormalize: Bool

  /// Options; the defaults are PyTorch's, without renormalization.
  public init(configuration: BatchNormConfiguration = .pytorch, renormalize: Bool = false) {
    self.configuration = configuration
    self.renormalize = renormalize
  }

  init(parsing arguments: [String]) throws(LayerSpecification.ParseFailure) {
    self.init()
    for argument in arguments {
      let pair = argument.split(separator: "=", maxSplits: 1).map(String.init)
      let key = pair.first?.lowercased() ?? ""
      let number = pair.count == 2 ? Double(pair[1]) : nil
      switch (key, pair.count) {
      case ("momentum", 2):
        guard let number, (0...1).contains(number) else {
          throw .init(message: "momentum must be in [0, 1] (weight on the new batch), got '\(pair[1])'")
        }
        configuration.momentum = .exponential(number)
      case ("eps", 2):
        guard let number, number >= 0 else { throw .init(message: "eps must be a number ≥ 0, got '\(pair[1])'") }
        configuration.epsilon = number
      case ("ghost", 2):
        guard let size = Int(pair[1]), size >= 1 else {
          throw .init(message: "ghost (virtual batch size) must be a positive integer, got '\(pair[1])'")
        }
        configuration.virtualBatchSize = size
      case ("renorm", 1): renormalize = true
      case ("biased", 1): configuration.runningVarianceEstimator = .biased
      case ("noaffine", 1): configuration.isAffine = false
      case ("cumulative", 1): configuration.momentum = .cumulative
      default:
        throw .init(message: "unknown bn option '\(argument)'; expected momentum=M, eps=E, ghost=V, renorm, biased, noaffine, cumulative")
      }
    }
  }

  /// The options in token form, defaults left out.
  var arguments: [String] {
    var result: [String] = []
    switch configuration.momentum {
    case .exponential(let momentum) where momentum != 0.1: result.append("momentum=\(momentum)")
    case .cumulative: result.append("cumulative")
    default: break
    }
    if configuration.epsilon != 1e-5 { result.append("eps=\(configuration.epsilon)") }
    if let size = configuration.virtualBatchSize { result.append("ghost=\(size)") }
    if renormalize { result.append("renorm") }
    if configuration.runningVarianceEstimator == .biased { result.append("biased") }
    if !configuration.isAffine { result.append("noaffine") }
    return result
  }
}
