import FileFormats
import NeuralNetwork

extension Checkpoint where Scalar == Float {
  /// The network's inference-time operations in order, with their parameters from the
  /// checkpoint's `state_dict`, and the output shape of one sample. Dropout is left out;
  /// a linear layer on image-shaped input is preceded by a flatten; every batch
  /// normalization variant (ghost batches, renormalization, no affine parameters, a
  /// cumulative or biased running average) is the plain inference-mode one.
  func inferenceOperations() throws(ONNXExportError) -> (operations: [InferenceOperation], outputShape: [Int]) {
    let tensors = encoded().tensors
    func values(_ name: String) throws(ONNXExportError) -> [Float] {
      guard let stored = tensors[name], let floats = stored.floats() else { throw .missingTensor(name) }
      return floats
    }
    func shape(_ name: String) throws(ONNXExportError) -> [Int] {
      guard let stored = tensors[name] else { throw .missingTensor(name) }
      return stored.shape
    }
    func affine(_ layer: Int, hasBias: Bool) throws(ONNXExportError) -> AffineParameters {
      AffineParameters(
        weight: try values("\(layer).weight"), weightShape: try shape("\(layer).weight"),
        bias: hasBias ? try values("\(layer).bias") : nil)
    }

    var operations: [InferenceOperation] = []
    var shape = sampleShape
    for (layer, specification) in architecture.layers.enumerated() {
      let inputShape = shape
      do {
        shape = Array(try model.layers[layer].outputShape(forInputShape: [1] + inputShape).dropFirst())
      } catch {
        preconditionFailure("a checkpoint's network chains: \(error)")
      }
      switch specification {
      case .linear(_, let hasBias):
        if inputShape.count > 1 { operations.append(InferenceOperation(layer: layer, kind: .flatten)) }
        operations.append(InferenceOperation(layer: layer, kind: .linear(try affine(layer, hasBias: hasBias))))
      case .convolution(_, let kernel, let stride, let padding, let hasBias):
        operations.append(
          InferenceOperation(
            layer: layer,
            kind: .convolution(try affine(layer, hasBias: hasBias), kernel: kernel, stride: stride, padding: padding)))
      case .batchNorm(let options):
        let configuration = options.configuration
        let channels = inputShape[0]
        let momentum: Double?
        switch configuration.momentum {
        case .exponential(let value): momentum = value
        case .cumulative: momentum = nil
        }
        guard let batchNormLayer = model.layers[layer] as? BatchNormLayer<Float> else {
          preconditionFailure("a bn token makes a BatchNormLayer")
        }
        let parameters = BatchNormParameters(
          layer: batchNormLayer.normalization,
          scale: configuration.isAffine ? try values("\(layer).weight") : [Float](repeating: 1, count: channels),
          shift: configuration.isAffine ? try values("\(layer).bias") : [Float](repeating: 0, count: channels),
          mean: try values("\(layer).running_mean"), variance: try values("\(layer).running_var"),
          epsilon: configuration.epsilon, momentum: momentum)
        _ = try parameters.inverseStandardDeviations(layer: layer)  // refuses a layer inference cannot compute
        operations.append(InferenceOperation(layer: layer, kind: .batchNormalization(parameters)))
      case .relu: operations.append(InferenceOperation(layer: layer, kind: .relu))
      case .sigmoid: operations.append(InferenceOperation(layer: layer, kind: .sigmoid))
      case .tanh: operations.append(InferenceOperation(layer: layer, kind: .tanh))
      case .flatten: operations.append(InferenceOperation(layer: layer, kind: .flatten))
      case .maxPool(let kernel): operations.append(InferenceOperation(layer: layer, kind: .maxPool(kernel: kernel)))
      case .averagePool(let kernel):
        operations.append(InferenceOperation(layer: layer, kind: .averagePool(kernel: kernel)))
      case .dropout: break  // the identity at inference
      }
    }
    return (operations, shape)
  }
}

extension [InferenceOperation] {
  /// The same operations with every batch normalization that directly follows a
  /// linear layer or a convolution folded into it (see ``AffineParameters/folding(_:layer:)``);
  /// the others stay as they are.
  func foldingBatchNormalization() throws(ONNXExportError) -> [InferenceOperation] {
    var result: [InferenceOperation] = []
    for operation in self {
      guard case .batchNormalization(let normalization) = operation.kind, let previous = result.last else {
        result.append(operation)
        continue
      }
      func folded(_ affine: AffineParameters) throws(ONNXExportError) -> AffineParameters {
        guard let folded = affine.folding(normalization, layer: operation.layer) else {
          throw .foldedValueOverflows(layer: previous.layer, batchNormLayer: operation.layer)
        }
        return folded
      }
      switch previous.kind {
      case .linear(let affine) where affine.foldedBatchNormLayer == nil:
        result[result.count - 1].kind = .linear(try folded(affine))
      case .convolution(let affine, let kernel, let stride, let padding) where affine.foldedBatchNormLayer == nil:
        result[result.count - 1].kind = .convolution(try folded(affine), kernel: kernel, stride: stride, padding: padding)
      default:
        result.append(operation)
      }
    }
    return result
  }
}
