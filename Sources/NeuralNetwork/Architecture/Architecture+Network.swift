import BatchNormalization
import ComputeRuntime

extension Architecture {
  /// The network this architecture describes, for samples of `sampleShape` (one
  /// sample's shape, without the batch: [784] for flattened images, [1, 28, 28] for
  /// images).
  ///
  /// The shape is followed token by token: `bn` becomes ``BatchNormKind/batchNorm1d``
  /// on features [F] or sequences [C, L] and ``BatchNormKind/batchNorm2d`` on images
  /// [C, H, W]; `linear` takes any shape and flattens it; `conv` and the poolings need
  /// [C, H, W]. A `bn:renorm` layer starts with the limits of plain batch normalization
  /// (rMax = 1, dMax = 0); the trainer sets them from its schedule every step. Dropout
  /// layers are seeded from `generator`, after the weights before them.
  ///
  /// - Throws: ``ArchitectureError`` naming the token whose layer cannot take the shape
  ///   that reaches it, with both shapes (N stands for the batch).
  public func makeNetwork<Scalar: NetworkScalar>(
    sampleShape: [Int], initializer: Initializer = .pytorchDefault, using generator: inout SeededGenerator
  ) throws(ArchitectureError) -> Sequential<Scalar> {
    var shape = sampleShape
    var network: [any Layer<Scalar>] = []
    let valueSize = MemoryLayout<Scalar>.size
    guard sampleShape.allSatisfy({ $0 >= 1 }), MemoryBudget.fits(MemoryBudget.product(sampleShape), bytesPerValue: valueSize) else {
      throw ArchitectureError(
        text: description, tokenIndex: 0, token: layers.first?.description ?? "",
        reason: "samples of shape \(sampleShape) \(Self.tooLarge(MemoryBudget.product(sampleShape), valueSize))")
    }
    var parameterCount = 0
    let valuesPerParameter = 4
    for (index, specification) in layers.enumerated() {
      do {
        // Sizes first, in checked arithmetic: a layer too large is an error, not a trap.
        let total = specification.parameterCount(inputShape: shape).flatMap { count in
          parameterCount.addingReportingOverflow(count).overflow ? nil : parameterCount + count
        }
        // Training keeps each parameter, its gradient and up to two optimizer buffers.
        guard let total, MemoryBudget.fits(total, bytesPerValue: valuesPerParameter * valueSize) else {
          throw LayerSpecification.ResourceFailure(
            message: "the parameters up to here, with their gradients and optimizer state, \(Self.tooLarge(total.map { $0.multipliedReportingOverflow(by: valuesPerParameter).overflow ? nil : $0 * valuesPerParameter } ?? nil, valueSize))")
        }
        parameterCount = total
        let layer: any Layer<Scalar> = try specification.makeLayer(
          inputShape: shape, initializer: initializer, using: &generator)
        let outputShape = Array(try layer.outputShape(forInputShape: [1] + shape).dropFirst())
        guard MemoryBudget.fits(MemoryBudget.product(outputShape), bytesPerValue: valueSize) else {
          throw LayerSpecification.ResourceFailure(
            message: "its output per sample, \(outputShape), \(Self.tooLarge(MemoryBudget.product(outputShape), valueSize))")
        }
        shape = outputShape
        network.append(layer)
      } catch {
        throw ArchitectureError(
          text: description, tokenIndex: index, token: specification.description,
          reason: Self.reason(error, inputShape: shape))
      }
    }
    return Sequential(network)
  }

  /// The output shape of one sample after every layer, or the error `makeNetwork` would throw.
  public func outputShape(forSampleShape sampleShape: [Int]) throws(ArchitectureError) -> [Int] {
    var generator = SeededGenerator(seed: 0)
    let network: Sequential<Float> = try makeNetwork(sampleShape: sampleShape, using: &generator)
    do {
      return Array(try network.outputShape(forInputShape: [1] + sampleShape).dropFirst())
    } catch {
      preconditionFailure("a network that was built token by token does not chain: \(error)")
    }
  }

  /// "need 78500000000 values (314 GB), more than this machine's 25.3 GB of memory", or
  /// "holds more values than a 64-bit integer counts".
  private static func tooLarge(_ count: Int?, _ valueSize: Int) -> String {
    guard let count else { return "holds more values than a 64-bit integer counts" }
    let bytes = MemoryBudget.describe(bytes: Double(count) * Double(valueSize))
    return "need \(count) values (\(bytes)), \(MemoryBudget.limitDescription)"
  }

  /// Whether the network wants image-shaped samples [C, H, W]: its first layer that
  /// cares about the shape is a convolution or a pooling (rather than linear or flatten).
  public var takesImages: Bool {
    for layer in layers {
      switch layer {
      case .convolution, .maxPool, .averagePool: return true
      case .linear, .flatten: return false
      case .batchNorm, .sigmoid, .tanh, .relu, .dropout: continue
      }
    }
    return false
  }

  /// The message for a layer that cannot be made for, or cannot take, `inputShape`.
  private static func reason(_ error: any Error, inputShape: [Int]) -> String {
    let shown = "[N" + inputShape.map { ", \($0)" }.joined() + "]"
    switch error {
    case NetworkError.shapeMismatch(let layer, let expected, _):
      return "\(layer) expects \(expected) but gets \(shown)"
    case let error as LayerSpecification.ShapeFailure:
      return "\(error.message) but gets \(shown)"
    case let error as LayerSpecification.ResourceFailure:
      return "\(error.message) (input \(shown))"
    default:
      return "\(error) (input \(shown))"
    }
  }
}

extension LayerSpecification {
  /// A layer that cannot be made for the shape that reaches it.
  struct ShapeFailure: Error {
    let message: String
  }

  /// A layer, or a network up to it, too large for this machine.
  struct ResourceFailure: Error {
    let message: String
  }

  /// The layer's parameter count for samples of `inputShape`; nil when it overflows
  /// `Int`. Layers that cannot take the shape count 0 (making them says why).
  func parameterCount(inputShape: [Int]) -> Int? {
    switch self {
    case .linear(let outputs, _):
      guard let features = MemoryBudget.product(inputShape) else { return nil }
      return MemoryBudget.product([features + 1, outputs])  // features fit in memory: + 1 cannot overflow
    case .convolution(let outputs, let kernel, _, _, _):
      guard inputShape.count == 3 else { return 0 }
      guard let weightsPerOutput = MemoryBudget.product([inputShape[0], kernel, kernel]) else { return nil }
      return MemoryBudget.product([weightsPerOutput + 1, outputs])  // the +1 cannot overflow: that product did not
    case .batchNorm:
      return inputShape.first.map { 4 * $0 } ?? 0
    case .maxPool, .averagePool, .flatten, .sigmoid, .tanh, .relu, .dropout:
      return 0
    }
  }

  /// The layer for samples of `inputShape` (without the batch dimension).
  func makeLayer<Scalar: NetworkScalar>(
    inputShape: [Int], initializer: Initializer, using generator: inout SeededGenerator
  ) throws -> any Layer<Scalar> {
    func channels(_ name: String) throws -> Int {
      guard inputShape.count == 3 else { throw ShapeFailure(message: "\(name) expects images [N, C, H, W]") }
      return inputShape[0]
    }
    switch self {
    case .linear(let outputs, let hasBias):
      return try Linear<Scalar>(
        inputFeatures: inputShape.reduce(1, *), outputFeatures: outputs, hasBias: hasBias, initializer: initializer,
        using: &generator)
    case .convolution(let outputs, let kernel, let stride, let padding, let hasBias):
      // The window must fit the padded image: checked before any weight is drawn.
      guard inputShape.count != 3 || inputShape.dropFirst().allSatisfy({ $0 + 2 * padding >= kernel }) else {
        let layer = "Conv2d(\(inputShape[0]), \(outputs), kernel: \(kernel), stride: \(stride), padding: \(padding)"
          + (hasBias ? ")" : ", bias: false)")
        throw ShapeFailure(
          message: "\(layer) expects [N, \(inputShape[0]), H, W] with H, W + 2·\(padding) ≥ the kernel \(kernel)×\(kernel)")
      }
      return try Conv2d<Scalar>(
        inputChannels: try channels("Conv2d"), outputChannels: outputs, kernelSize: kernel, stride: stride,
        padding: padding, hasBias: hasBias, initializer: initializer, using: &generator)
    case .maxPool(let kernel):
      return try MaxPool2d<Scalar>(kernelSize: kernel)
    case .averagePool(let kernel):
      return try AvgPool2d<Scalar>(kernelSize: kernel)
    case .flatten:
      return Flatten<Scalar>()
    case .batchNorm(let options):
      guard (1...3).contains(inputShape.count) else {
        throw ShapeFailure(message: "batch normalization expects [N, C], [N, C, L] or [N, C, H, W]")
      }
      var configuration = options.configuration
      if options.renormalize { configuration.renormalization = RenormalizationSchedule().limits(atStep: 0) }
      return try BatchNormLayer<Scalar>(
        inputShape.count == 3 ? .batchNorm2d : .batchNorm1d, channels: inputShape[0], configuration: configuration)
    case .sigmoid:
      return Sigmoid<Scalar>()
    case .tanh:
      return Tanh<Scalar>()
    case .relu:
      return ReLU<Scalar>()
    case .dropout(let probability):
      return try Dropout<Scalar>(probability: probability, seed: generator.next())
    }
  }
}
