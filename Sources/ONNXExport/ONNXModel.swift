import FileFormats
import Foundation
import NeuralNetwork
import SwiftProtobuf

/// A trained network as an ONNX model (a `ModelProto`), for ONNX Runtime and the tools
/// that read ONNX.
///
/// The graph takes `input`, a Float32 tensor [N, sample shape…], and gives `logits`
/// [N, outputs]. Linear layers are `Gemm` (transB = 1; `Flatten` first on image-shaped
/// input), convolutions `Conv`, batch normalization `BatchNormalization` with the
/// running statistics (inference; `training_mode = 0` from opset 14), or folded into the
/// layer before it; `Relu`, `Sigmoid`, `Tanh`, `MaxPool` and `AveragePool` (kernel =
/// stride), `Flatten` (axis 1); dropout is left out. Initializers carry PyTorch's
/// `state_dict` names (`0.weight`, `1.running_var`, …).
///
/// ONNX's BatchNormalization `momentum` weights the *old* running value: PyTorch's
/// momentum m (ours) is written as 1 − m. It matters only to a runtime that trains.
public struct ONNXModel: Sendable {
  /// The model as protobuf messages.
  let proto: Onnx_ModelProto
  /// The opset the model imports.
  public let opset: Int
  /// The nodes' operator types, in order (`Gemm`, `BatchNormalization`, …).
  public let operatorTypes: [String]
  /// The architecture's indices of the batch normalization layers folded into the
  /// layer before them.
  public let foldedBatchNormLayers: [Int]
  /// The indices of the batch normalization layers written as BatchNormalization nodes.
  public let batchNormNodeLayers: [Int]
  /// One sample's input and output shapes (the batch dimension N comes first in the file).
  public let sampleShape: [Int]
  /// One sample's output shape.
  public let outputShape: [Int]

  init(
    proto: Onnx_ModelProto, opset: Int, foldedBatchNormLayers: [Int], batchNormNodeLayers: [Int], sampleShape: [Int],
    outputShape: [Int]
  ) {
    self.proto = proto
    self.opset = opset
    self.operatorTypes = proto.graph.node.map(\.opType)
    self.foldedBatchNormLayers = foldedBatchNormLayers
    self.batchNormNodeLayers = batchNormNodeLayers
    self.sampleShape = sampleShape
    self.outputShape = outputShape
  }

  /// The `.onnx` file's bytes (protobuf binary encoding).
  /// - Throws: ``ONNXExportError/cannotEncode(_:)`` for a model beyond protobuf's 2 GiB.
  public func serializedData() throws(ONNXExportError) -> Data {
    do {
      return try proto.serializedBytes()
    } catch {
      throw .cannotEncode("\(error) (protobuf messages, and so ONNX files, hold at most 2 GiB)")
    }
  }

  /// Writes the model to `url` atomically: a reader sees the old file or the whole new one.
  public func write(to url: URL) throws(ONNXExportError) {
    let data = try serializedData()
    do {
      try AtomicFile.write(data, to: url)
    } catch {
      throw .cannotWrite(file: error.file, problem: error.problem)
    }
  }
}

extension Checkpoint where Scalar == Float {
  /// The network as an ONNX model for inference; see ``ONNXModel``.
  ///
  /// Every architecture that `bn train` makes exports: the batch normalization variants
  /// (ghost batches, Batch Renormalization, no affine parameters, cumulative or biased
  /// running averages) all compute y = γ (x − µ) / √(σ² + ε) + β at inference.
  /// - Throws: ``ONNXExportError`` for an unsupported opset, a batch normalization
  ///   channel whose σ² + ε is not positive, or a folded weight beyond Float's range.
  public func onnxModel(_ options: ONNXExportOptions = ONNXExportOptions()) throws(ONNXExportError) -> ONNXModel {
    guard ONNXExportOptions.supportedOpsets.contains(options.opset) else { throw .unsupportedOpset(options.opset) }
    var (operations, outputShape) = try inferenceOperations()
    if options.foldsBatchNormalization { operations = try operations.foldingBatchNormalization() }

    var builder = ONNXGraphBuilder(
      opset: options.opset, name: architecture.description, inputName: "input", inputShape: sampleShape)
    var batchNormNodeLayers: [Int] = []
    for operation in operations {
      let layer = operation.layer
      switch operation.kind {
      case .linear(let affine):
        var parameters = builder.addAffineParameters(affine, layer: layer)
        // Gemm's C is optional from opset 11; before, a layer without bias adds zeros.
        if affine.bias == nil && options.opset < 11 {
          parameters.append(
            builder.addInitializer(
              "\(layer).bias", shape: [affine.outputCount], values: [Float](repeating: 0, count: affine.outputCount),
              note: "zeros: the layer has no bias, and Gemm before opset 11 needs one"))
        }
        builder.addNode("Gemm", layer: layer, parameters: parameters, attributes: [.integer("transB", 1)])
      case .convolution(let affine, let kernel, let stride, let padding):
        builder.addNode(
          "Conv", layer: layer, parameters: builder.addAffineParameters(affine, layer: layer),
          attributes: [
            .integers("kernel_shape", [kernel, kernel]), .integers("strides", [stride, stride]),
            .integers("pads", [padding, padding, padding, padding]),
          ])
      case .batchNormalization(let normalization):
        batchNormNodeLayers.append(layer)
        let channels = [normalization.scale.count]
        let parameters = [
          builder.addInitializer("\(layer).weight", shape: channels, values: normalization.scale),
          builder.addInitializer("\(layer).bias", shape: channels, values: normalization.shift),
          builder.addInitializer("\(layer).running_mean", shape: channels, values: normalization.mean),
          builder.addInitializer("\(layer).running_var", shape: channels, values: normalization.variance),
        ]
        var attributes: [Onnx_AttributeProto] = [.float("epsilon", normalization.epsilon)]
        if let momentum = normalization.momentum { attributes.append(.float("momentum", 1 - momentum)) }
        if options.opset >= 14 { attributes.append(.integer("training_mode", 0)) }
        builder.addNode("BatchNormalization", layer: layer, parameters: parameters, attributes: attributes)
      case .relu: builder.addNode("Relu", layer: layer)
      case .sigmoid: builder.addNode("Sigmoid", layer: layer)
      case .tanh: builder.addNode("Tanh", layer: layer)
      case .flatten: builder.addNode("Flatten", layer: layer, attributes: [.integer("axis", 1)])
      case .maxPool(let kernel):
        builder.addNode(
          "MaxPool", layer: layer,
          attributes: [.integers("kernel_shape", [kernel, kernel]), .integers("strides", [kernel, kernel])])
      case .averagePool(let kernel):
        builder.addNode(
          "AveragePool", layer: layer,
          attributes: [.integers("kernel_shape", [kernel, kernel]), .integers("strides", [kernel, kernel])])
      }
    }
    builder.finish(outputName: "logits", outputShape: outputShape)

    var proto = Onnx_ModelProto()
    proto.irVersion = ONNXExportOptions.irVersion(forOpset: options.opset)
    var operatorSet = Onnx_OperatorSetIdProto()
    operatorSet.domain = ""
    operatorSet.version = Int64(options.opset)
    proto.opsetImport = [operatorSet]
    proto.producerName = "swift-batchnorm"
    proto.docString = "Inference graph of the network '\(architecture)' for samples of shape \(sampleShape)."
    proto.graph = builder.graph
    proto.metadataProps = [
      Self.metadata(CheckpointKeys.architecture, architecture.description),
      Self.metadata(CheckpointKeys.sampleShape, "[" + sampleShape.map(String.init).joined(separator: ",") + "]"),
    ]
    let folded = operations.compactMap { operation -> Int? in
      switch operation.kind {
      case .linear(let affine), .convolution(let affine, _, _, _): return affine.foldedBatchNormLayer
      default: return nil
      }
    }
    return ONNXModel(
      proto: proto, opset: options.opset, foldedBatchNormLayers: folded, batchNormNodeLayers: batchNormNodeLayers,
      sampleShape: sampleShape, outputShape: outputShape)
  }

  private static func metadata(_ key: String, _ value: String) -> Onnx_StringStringEntryProto {
    var entry = Onnx_StringStringEntryProto()
    entry.key = key
    entry.value = value
    return entry
  }
}

extension ONNXGraphBuilder {
  /// The weight and (when present) the bias of a linear layer or convolution as
  /// initializers named after PyTorch's keys; returns their names.
  mutating func addAffineParameters(_ affine: AffineParameters, layer: Int) -> [String] {
    let note = affine.foldedBatchNormLayer.map { "folded with the batch normalization of layer \($0)" }
    var names = [addInitializer("\(layer).weight", shape: affine.weightShape, values: affine.weight, note: note)]
    if let bias = affine.bias {
      names.append(addInitializer("\(layer).bias", shape: [affine.outputCount], values: bias, note: note))
    }
    return names
  }
}
