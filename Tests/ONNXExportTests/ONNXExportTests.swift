import BatchNormalization
import FileFormats
import Foundation
import NeuralNetwork
import SwiftProtobuf
import Testing

@testable import ONNXExport

/// ONNX export: the graph's nodes, attributes and initializers; its outputs, run by a
/// Float64 reference of the ONNX operators, against the network's own inference, with
/// and without folding; every refusal. (scripts/check-onnx-export runs the exported
/// README models in ONNX Runtime.)
@Suite struct ONNXExportTests {
  static let multilayerPerceptron = "linear:20,bn:momentum=0.01,sigmoid,dropout:0.2,linear:12:nobias,bn,tanh,linear:5"
  static let convolutional =
    "conv:4:3:1:1:nobias,bn,relu,maxpool:2,conv:6:3:2:1,bn:eps=0.001,relu,avgpool:2,linear:7,bn:noaffine,relu,linear:3"

  /// A network of `architecture` with random weights and batch normalization layers
  /// whose γ, β and running statistics are far from their initial values.
  static func checkpoint(_ architecture: String, sampleShape: [Int], seed: UInt64 = 7) throws -> Checkpoint<Float> {
    let parsed = try Architecture(parsing: architecture)
    var generator = SeededGenerator(seed: seed)
    let model: Sequential<Float> = try parsed.makeNetwork(sampleShape: sampleShape, using: &generator)
    var file = Checkpoint(architecture: parsed, sampleShape: sampleShape, model: model).encoded()
    var random = SeededGenerator(seed: seed)
    for (name, tensor) in file.tensors {
      let range: ClosedRange<Float>? =
        name.hasSuffix("running_var") ? 0.2...2 : name.hasSuffix("running_mean") ? -1...1
        : (name.hasSuffix(".weight") && tensor.shape.count == 1) ? 0.5...1.5
        : (name.hasSuffix(".bias") && file.tensors[name.replacingOccurrences(of: ".bias", with: ".running_mean")] != nil) ? -0.5...0.5
        : nil
      if let range {
        file.tensors[name] = StoredArray(shape: tensor.shape, float32: (0..<tensor.elementCount).map { _ in Float.random(in: range, using: &random) })
      }
    }
    return try Checkpoint(decoding: file, file: "test")
  }

  static func decoded(_ model: ONNXModel) throws -> Onnx_ModelProto {
    try Onnx_ModelProto(serializedBytes: try model.serializedData())
  }

  /// The largest difference between the network's inference and the reference run of
  /// its exported graph, over a batch of random samples.
  static func largestDifference(_ checkpoint: Checkpoint<Float>, _ exported: ONNXModel, samples: Int = 6) throws -> Double {
    var random = SeededGenerator(seed: 11)
    let shape = [samples] + checkpoint.sampleShape
    let input = (0..<shape.reduce(1, *)).map { _ in Float.random(in: 0...1, using: &random) }
    var network = checkpoint.model
    let expected = try network.forward(Tensor(shape: shape, scalars: input), mode: .inference)
    let evaluator = ReferenceGraphEvaluator(try decoded(exported))
    let actual = try evaluator.run(.init(shape: shape, values: input.map(Double.init)))
    #expect(actual.shape == expected.shape)
    return zip(actual.values, expected.scalars).map { abs($0 - Double($1)) }.max()!
  }

  @Test func multilayerPerceptronNodesAttributesAndInitializers() throws {
    let checkpoint = try Self.checkpoint(Self.multilayerPerceptron, sampleShape: [1, 4, 4])
    let model = try Self.decoded(try checkpoint.onnxModel())
    #expect(model.irVersion == 8)
    #expect(model.opsetImport.map(\.version) == [15])
    #expect(model.opsetImport.map(\.domain) == [""])
    let nodes = model.graph.node
    #expect(nodes.map(\.opType) == ["Flatten", "Gemm", "BatchNormalization", "Sigmoid", "Gemm", "BatchNormalization", "Tanh", "Gemm"])
    #expect(nodes.map(\.name) == ["0.Flatten", "0.Gemm", "1.BatchNormalization", "2.Sigmoid", "4.Gemm", "5.BatchNormalization", "6.Tanh", "7.Gemm"])
    // Each node reads the one before it; the last writes the graph's output.
    #expect(nodes[0].input == ["input"])
    for (previous, node) in zip(nodes, nodes.dropFirst()) { #expect(node.input[0] == previous.output[0]) }
    #expect(nodes.last!.output == ["logits"])
    #expect(model.graph.output.map(\.name) == ["logits"])
    let inputShape = model.graph.input[0].type.tensorType.shape.dim
    #expect(inputShape.map(\.dimParam) == ["N", "", "", ""])
    #expect(inputShape.dropFirst().map(\.dimValue) == [1, 4, 4])
    #expect(model.graph.output[0].type.tensorType.shape.dim.dropFirst().map(\.dimValue) == [5])
    // The layer without a bias has no C; the others read PyTorch's names.
    #expect(nodes[1].input.dropFirst() == ["0.weight", "0.bias"])
    #expect(nodes[4].input.dropFirst() == ["4.weight"])
    #expect(nodes[2].input.dropFirst() == ["1.weight", "1.bias", "1.running_mean", "1.running_var"])
    // PyTorch's momentum m is ONNX's 1 − m; inference mode is stated.
    let attributes = Dictionary(uniqueKeysWithValues: nodes[2].attribute.map { ($0.name, $0) })
    #expect(attributes["momentum"]?.f == Float(1 - 0.01))
    #expect(attributes["epsilon"]?.f == Float(1e-5))
    #expect(attributes["training_mode"]?.i == 0)
    #expect(nodes[5].attribute.first { $0.name == "momentum" }?.f == Float(1 - 0.1))
    #expect(nodes[1].attribute.map(\.name) == ["transB"])
    // Initializers are the checkpoint's tensors, bit for bit.
    let stored = checkpoint.encoded().tensors
    for initializer in model.graph.initializer {
      let expected = try #require(stored[initializer.name]?.floats(), "\(initializer.name)")
      #expect(initializer.dims == stored[initializer.name]!.shape.map { Int64($0) })
      let bits = [UInt8](initializer.rawData)
      let values = stride(from: 0, to: bits.count, by: 4).map {
        Float(bitPattern: UInt32(bits[$0]) | UInt32(bits[$0 + 1]) << 8 | UInt32(bits[$0 + 2]) << 16 | UInt32(bits[$0 + 3]) << 24)
      }
      #expect(values.map(\.bitPattern) == expected.map(\.bitPattern), "\(initializer.name)")
    }
    #expect(Set(model.graph.initializer.map(\.name)) == Set(stored.keys.filter { !$0.hasSuffix("num_batches_tracked") }))
    #expect(model.metadataProps.first { $0.key == "architecture" }?.value == Self.multilayerPerceptron)
  }

  @Test func outputsMatchTheNetworkWithAndWithoutFolding() throws {
    for (architecture, sampleShape) in [(Self.multilayerPerceptron, [16]), (Self.convolutional, [2, 9, 9])] {
      let checkpoint = try Self.checkpoint(architecture, sampleShape: sampleShape)
      let plain = try checkpoint.onnxModel()
      let folded = try checkpoint.onnxModel(ONNXExportOptions(foldsBatchNormalization: true))
      #expect(try Self.largestDifference(checkpoint, plain) < 1e-5, "\(architecture)")
      #expect(try Self.largestDifference(checkpoint, folded) < 1e-5, "\(architecture), folded")
    }
  }

  @Test func foldingRemovesEveryBatchNormalizationThatFollowsALinearOperation() throws {
    let checkpoint = try Self.checkpoint(Self.convolutional, sampleShape: [2, 9, 9])
    let folded = try checkpoint.onnxModel(ONNXExportOptions(foldsBatchNormalization: true))
    #expect(folded.foldedBatchNormLayers == [1, 5, 9])
    #expect(folded.batchNormNodeLayers.isEmpty)
    #expect(folded.operatorTypes == ["Conv", "Relu", "MaxPool", "Conv", "Relu", "AveragePool", "Flatten", "Gemm", "Relu", "Gemm"])
    // The convolution without a bias gains one: (0 − µ)·s + β.
    let proto = try Self.decoded(folded)
    #expect(proto.graph.node[0].input.dropFirst() == ["0.weight", "0.bias"])
    // A batch normalization after an activation, or first, stays a node.
    let kept = try Self.checkpoint("bn,linear:6,relu,bn,linear:2,dropout:0.5,bn", sampleShape: [5])
    let keptModel = try kept.onnxModel(ONNXExportOptions(foldsBatchNormalization: true))
    #expect(keptModel.batchNormNodeLayers == [0, 3])
    #expect(keptModel.foldedBatchNormLayers == [6])
    #expect(try Self.largestDifference(kept, keptModel) < 1e-5)
  }

  @Test func foldedInitializersAreTheCoresFolding() throws {
    let checkpoint = try Self.checkpoint("linear:6,bn:eps=0.01,relu,linear:3:nobias,bn", sampleShape: [4])
    let model = try Self.decoded(try checkpoint.onnxModel(ONNXExportOptions(foldsBatchNormalization: true)))
    let stored = checkpoint.encoded().tensors
    func initializer(_ name: String) -> [UInt32] {
      let bytes = [UInt8](model.graph.initializer.first { $0.name == name }!.rawData)
      return stride(from: 0, to: bytes.count, by: 4).map { offset -> UInt32 in
        var bits: UInt32 = 0
        for byte in 0..<4 { bits |= UInt32(bytes[offset + byte]) << (8 * byte) }
        return bits
      }
    }
    for (linear, normalization, hasBias) in [(0, 1, true), (3, 4, false)] {
      let layer = try #require(checkpoint.model.layers[normalization] as? BatchNormLayer<Float>)
      let folded = try layer.normalization.folded(
        weight: stored["\(linear).weight"]!.floats()!, bias: hasBias ? stored["\(linear).bias"]!.floats()! : nil)
      #expect(initializer("\(linear).weight") == folded.weight.map(\.bitPattern))
      #expect(initializer("\(linear).bias") == folded.bias.map(\.bitPattern))
      // Not the unfolded values: folding changed them.
      #expect(initializer("\(linear).weight") != stored["\(linear).weight"]!.floats()!.map(\.bitPattern))
    }
  }

  @Test func opsetsChangeTheFileTheyMust() throws {
    let checkpoint = try Self.checkpoint("linear:6:nobias,bn,relu,linear:3", sampleShape: [4])
    let old = try Self.decoded(try checkpoint.onnxModel(ONNXExportOptions(opset: 9)))
    #expect(old.irVersion == 4)
    // Before opset 11 Gemm needs C: zeros; before 14 BatchNormalization has no training_mode.
    #expect(old.graph.node[0].input.dropFirst() == ["0.weight", "0.bias"])
    #expect(old.graph.initializer.first { $0.name == "0.bias" }?.rawData == Data(count: 24))
    #expect(!old.graph.node[1].attribute.contains { $0.name == "training_mode" })
    let newest = try Self.decoded(try checkpoint.onnxModel(ONNXExportOptions(opset: 21)))
    #expect(newest.irVersion == 10)
    #expect(newest.graph.node[0].input.dropFirst() == ["0.weight"])
    #expect(try Self.largestDifference(checkpoint, try checkpoint.onnxModel(ONNXExportOptions(opset: 9))) < 1e-5)
    for opset in [8, 22] {
      #expect(throws: ONNXExportError.unsupportedOpset(opset)) { try checkpoint.onnxModel(ONNXExportOptions(opset: opset)) }
    }
    #expect("\(ONNXExportError.unsupportedOpset(8))" == "opset 8 is not supported: the exporter writes opsets 9 to 21")
  }

  @Test func batchNormalizationVariantsExportAsTheirInference() throws {
    for options in ["ghost=4", "renorm", "cumulative", "biased", "noaffine", "eps=0.1:momentum=0.5"] {
      let checkpoint = try Self.checkpoint("linear:8,bn:\(options),relu,linear:3", sampleShape: [6])
      for fold in [false, true] {
        let exported = try checkpoint.onnxModel(ONNXExportOptions(foldsBatchNormalization: fold))
        #expect(try Self.largestDifference(checkpoint, exported) < 1e-5, "bn:\(options), folded: \(fold)")
      }
    }
    // The cumulative average has no ONNX momentum: the attribute is left out.
    let cumulative = try Self.decoded(try Self.checkpoint("linear:4,bn:cumulative", sampleShape: [3]).onnxModel())
    #expect(!cumulative.graph.node[1].attribute.contains { $0.name == "momentum" })
  }

  @Test func aNetworkOfIdentitiesStillHasAnOutput() throws {
    let checkpoint = try Self.checkpoint("dropout:0.5", sampleShape: [3])
    let model = try Self.decoded(try checkpoint.onnxModel())
    #expect(model.graph.node.map(\.opType) == ["Identity"])
    #expect(try Self.largestDifference(checkpoint, try checkpoint.onnxModel()) == 0)
  }

  @Test func aBatchNormalizationThatDividesByZeroIsRefused() throws {
    var file = try Self.checkpoint("linear:3,bn:eps=0,relu", sampleShape: [2]).encoded()
    file.tensors["1.running_var"] = StoredArray(shape: [3], float32: [1, 0, 2])
    let checkpoint = try Checkpoint<Float>(decoding: file, file: "test")
    #expect(throws: ONNXExportError.degenerateBatchNormalization(layer: 1, channel: 1, variance: 0, epsilon: 0)) {
      try checkpoint.onnxModel()
    }
    let message = "\(ONNXExportError.degenerateBatchNormalization(layer: 1, channel: 1, variance: 0, epsilon: 0))"
    #expect(message.hasPrefix("layer 1 (bn): running_var[1] + eps = 0.0 + 0.0 is not positive"))
  }

  @Test func aFoldThatOverflowsFloatIsRefused() throws {
    var file = try Self.checkpoint("linear:2,bn:eps=0", sampleShape: [2]).encoded()
    file.tensors["0.weight"] = StoredArray(shape: [2, 2], float32: [3e38, 1, 1, 1])
    file.tensors["1.weight"] = StoredArray(shape: [2], float32: [1e3, 1])
    file.tensors["1.running_var"] = StoredArray(shape: [2], float32: [1e-2, 1])
    let checkpoint = try Checkpoint<Float>(decoding: file, file: "test")
    #expect(throws: ONNXExportError.foldedValueOverflows(layer: 0, batchNormLayer: 1)) {
      try checkpoint.onnxModel(ONNXExportOptions(foldsBatchNormalization: true))
    }
    _ = try checkpoint.onnxModel()  // unfolded, the same layer exports
  }

  @Test func writesAtomicallyAndRefusesAMissingFolder() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("onnx-export-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let checkpoint = try Self.checkpoint("linear:3,bn,relu", sampleShape: [2])
    let url = folder.appendingPathComponent("model.onnx")
    try Data("old".utf8).write(to: url)
    let exported = try checkpoint.onnxModel()
    try exported.write(to: url)
    #expect(try Data(contentsOf: url) == (try exported.serializedData()))
    #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["model.onnx"])
    let missing = folder.appendingPathComponent("absent/model.onnx")
    #expect(throws: ONNXExportError.self) { try exported.write(to: missing) }
    #expect(!FileManager.default.fileExists(atPath: missing.path))
  }
}
