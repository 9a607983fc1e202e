import FileFormats
import Foundation
import HalfPrecision
import NeuralNetwork
import Testing

/// Checkpoints: PyTorch's keys, shapes and dtypes; round trips; a file written by
/// PyTorch (Fixtures/make_pytorch_training_fixtures.py); every mismatch an error
/// naming the key.
@Suite struct CheckpointTests {
  static let architecture = "conv:2:3:1:1,bn,relu,maxpool:2,flatten,linear:3"

  /// A checkpoint of the fixture's architecture after one training step (so the
  /// running statistics are not their initial values).
  static func trained() throws -> Checkpoint<Float> {
    let architecture = try Architecture(parsing: Self.architecture)
    var generator = SeededGenerator(seed: 3)
    var model: Sequential<Float> = try architecture.makeNetwork(sampleShape: [1, 4, 4], using: &generator)
    let logits = try model.forward(generator.gaussianTensor([5, 1, 4, 4]), mode: .training)
    _ = try model.backward(try SoftmaxCrossEntropy().evaluate(logits: logits, labels: [0, 1, 2, 0, 1]).gradient)
    var optimizer = SGD<Float>(schedule: .constant(0.1))
    optimizer.step(&model)
    return Checkpoint(architecture: architecture, sampleShape: [1, 4, 4], model: model)
  }

  static func fixtureURL(_ name: String) -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)")
  }

  @Test func pytorchKeysShapesAndDtypes() throws {
    let file = try Self.trained().encoded()
    let shapes = file.tensors.mapValues(\.shape)
    #expect(
      shapes == [
        "0.weight": [2, 1, 3, 3], "0.bias": [2], "1.weight": [2], "1.bias": [2], "1.running_mean": [2],
        "1.running_var": [2], "1.num_batches_tracked": [], "5.weight": [3, 8], "5.bias": [3],
      ])
    #expect(file.tensors["1.num_batches_tracked"] == StoredArray(shape: [], int64: [1]))
    #expect(file.tensors.filter { $0.key != "1.num_batches_tracked" }.allSatisfy { $0.value.dtypeName == "float32" })
    #expect(file.metadata == ["architecture": Self.architecture, "sample_shape": "[1,4,4]"])
  }

  @Test func roundTripThroughAFile() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("checkpoint-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let original = try Self.trained()
    let url = directory.appendingPathComponent("model.safetensors")
    try original.write(to: url)
    let loaded = try Checkpoint<Float>(contentsOf: url)
    #expect(loaded.architecture == original.architecture)
    #expect(loaded.sampleShape == [1, 4, 4])
    #expect(loaded.model.parameters == original.model.parameters)
    #expect(loaded.model.buffers == original.model.buffers)
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["model.safetensors"])
  }

  /// A PyTorch state saved in half precision (model.half(), model.to(torch.bfloat16))
  /// loads into a Float network widened exactly; a Double network still wants float64.
  @Test func halfPrecisionStatesLoadWidened() throws {
    let architecture = try Architecture(parsing: "conv:3:3,bn,relu,flatten,linear:4:nobias,bn:noaffine,linear:2")
    var generator = SeededGenerator(seed: 3)
    let model: Sequential<Float> = try architecture.makeNetwork(sampleShape: [1, 6, 6], using: &generator)
    let file = Checkpoint(architecture: architecture, sampleShape: [1, 6, 6], model: model).encoded()
    for halfType in ["float16", "bfloat16"] {
      var half = file
      var widened: [String: [Float]] = [:]
      for (name, tensor) in file.tensors {
        guard let values = tensor.floats() else { continue }
        if halfType == "float16" {
          half.tensors[name] = StoredArray(shape: tensor.shape, float16: Float16.narrowed(values))
        } else {
          half.tensors[name] = StoredArray(shape: tensor.shape, bfloat16: BFloat16.narrowed(values))
        }
        widened[name] = half.tensors[name]!.floatsWidening()
      }
      let loaded = try Checkpoint<Float>(decoding: half, file: "half.safetensors")
      let names = loaded.model.parameterNames + loaded.model.bufferNames
      for (name, tensor) in zip(names, loaded.model.parameters + loaded.model.buffers) where widened[name] != nil {
        #expect(tensor.scalars == widened[name]!, "\(halfType) \(name)")
        #expect(tensor.scalars != file.tensors[name]!.floats()! || tensor.scalars.allSatisfy { $0 == 0 || $0 == 1 }, "\(name) was rounded")
      }
      #expect(throws: CheckpointError.self) { try Checkpoint<Double>(decoding: half, file: "half.safetensors") }
    }
  }

  @Test func doubleNetworksUseFloat64() throws {
    let architecture = try Architecture(parsing: "linear:2,bn")
    var generator = SeededGenerator(seed: 1)
    let model: Sequential<Double> = try architecture.makeNetwork(sampleShape: [3], using: &generator)
    let file = Checkpoint(architecture: architecture, sampleShape: [3], model: model).encoded()
    #expect(file.tensors["0.weight"]?.dtypeName == "float64")
    #expect(file.tensors["1.num_batches_tracked"]?.dtypeName == "int64")
    let loaded = try Checkpoint<Double>(decoding: file, file: "model")
    #expect(loaded.model.parameters == model.parameters)
    #expect(throws: CheckpointError(file: "model", problem: "tensor '0.weight' is float64 but must be float32 (or float16 or bfloat16, widened)")) {
      try Checkpoint<Float>(decoding: file, file: "model")
    }
  }

  @Test func pytorchCheckpointPredictsAsPyTorchDoes() throws {
    struct Fixture: Decodable {
      let architecture: String
      let input_shape: [Int]
      let inputs, eval_logits: [Double]
    }
    let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: Self.fixtureURL("pytorch_checkpoint.json")))
    let url = Self.fixtureURL("pytorch_checkpoint.safetensors")
    #expect(throws: CheckpointError.self) { try Checkpoint<Float>(contentsOf: url) }
    var checkpoint = try Checkpoint<Float>(
      contentsOf: url, architecture: try Architecture(parsing: fixture.architecture), sampleShape: [1, 4, 4])
    let input = Tensor(shape: fixture.input_shape, scalars: fixture.inputs.map { Float($0) })
    let logits = try checkpoint.model.forward(input, mode: .inference)
    #expect(maximumDifference(logits.scalars, fixture.eval_logits) < 1e-5)
    #expect(predictedClasses(logits: logits) == predictedClasses(logits: Tensor(shape: logits.shape, scalars: fixture.eval_logits)))
  }

  @Test func fileWithoutMetadataNeedsAnArchitecture() throws {
    var file = try Self.trained().encoded()
    file.metadata = [:]
    #expect(
      throws: CheckpointError(
        file: "torch.safetensors", problem: "no architecture in the metadata (a file saved by PyTorch?): give the architecture")
    ) { try Checkpoint<Float>(decoding: file, file: "torch.safetensors") }
  }

  @Test(arguments: [
    ("missing", "m.safetensors: missing tensor '5.bias' of shape [3] for architecture 'conv:2:3:1:0,bn,relu,maxpool:2,flatten,linear:3'"),
    ("extra", "m.safetensors: unexpected tensor '6.weight' of shape [2]: architecture 'conv:2:3:1:1,bn,relu,maxpool:2,flatten,linear:3' has no such parameter or buffer"),
    ("shape", "m.safetensors: tensor '5.weight' has shape [3, 9] but the architecture needs [3, 8]"),
    ("dtype", "m.safetensors: tensor '1.num_batches_tracked' is float32 but must be int64"),
    ("count", "m.safetensors: BatchNorm2d(2): num_batches_tracked is -1.0; allowed: a whole number ≥ 0"),
    ("architecture", "m.safetensors: the metadata's architecture token 2 'bn:fast': unknown bn option 'fast'; expected momentum=M, eps=E, ghost=V, renorm, biased, noaffine, cumulative"),
    ("chain", "m.safetensors: architecture token 4 'maxpool:2': MaxPool2d(2) expects [N, C, H, W] with H, W ≥ 2 but gets [N, 2, 1, 1] (sample shape [1, 1, 1])"),
  ])
  func mismatchesNameTheKeyAndBothShapes(kind: String, message: String) throws {
    var file = try Self.trained().encoded()
    switch kind {
    case "missing":
      file.tensors["5.bias"] = nil
      file.metadata["architecture"] = "conv:2:3:1:0,bn,relu,maxpool:2,flatten,linear:3"
      file.metadata["sample_shape"] = "[1,6,6]"
    case "extra": file.tensors["6.weight"] = StoredArray(shape: [2], float32: [1, 2])
    case "shape": file.tensors["5.weight"] = StoredArray(shape: [3, 9], float32: Array(repeating: 0, count: 27))
    case "dtype": file.tensors["1.num_batches_tracked"] = StoredArray(shape: [], float32: [1])
    case "count": file.tensors["1.num_batches_tracked"] = StoredArray(shape: [], int64: [-1])
    case "architecture": file.metadata["architecture"] = "conv:2:3,bn:fast"
    default: file.metadata["sample_shape"] = "[1,1,1]"
    }
    do {
      _ = try Checkpoint<Float>(decoding: file, file: "m.safetensors")
      Issue.record("a \(kind) mismatch loaded")
    } catch {
      #expect(error.description == message)
    }
  }

  @Test func truncatedFileIsAnError() throws {
    let data = try Self.trained().encoded().encode()
    #expect(throws: FileFormatError.self) { try SafeTensors.decode(data.prefix(data.count - 4), file: "cut") }
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("checkpoint-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let url = directory.appendingPathComponent("cut.safetensors")
    try data.prefix(data.count - 4).write(to: url)
    do {
      _ = try Checkpoint<Float>(contentsOf: url)
      Issue.record("a truncated file loaded")
    } catch {
      #expect(error.file == url.path)
    }
  }
}
