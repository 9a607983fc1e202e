import FileFormats
import Foundation
import NeuralNetwork
import ONNXExport
import Testing

/// `bn export` and `bn eval --logits` end to end on the tests' small data set: the file
/// is the library's model byte for byte, the summary names the nodes and the folded
/// layers, and every bad input is a one-line error that writes nothing.
@Suite struct ExportCommandTests {
  static let architecture = "conv:4:3:1:1:nobias,bn,relu,flatten,linear:10"

  /// A model trained for one epoch on the small data set.
  static func trainedModel(in directory: TemporaryDirectory) throws -> (model: String, dataset: String) {
    let dataset = try TrainCommandTests.writeDataset(in: directory)
    let model = directory.path("model.safetensors")
    let result = try CommandRunner.run([
      "train", "--arch", architecture, "--dataset", dataset, "--epochs", "1", "--batch-size", "20", "--out", model,
    ])
    #expect(result.status == 0, "\(result.standardError)")
    return (model, dataset)
  }

  @Test func exportWritesTheLibrarysModel() throws {
    let directory = try TemporaryDirectory()
    let (model, _) = try Self.trainedModel(in: directory)
    let checkpoint = try Checkpoint<Float>(contentsOf: URL(fileURLWithPath: model))
    for fold in [false, true] {
      let onnx = directory.path(fold ? "folded.onnx" : "plain.onnx")
      let result = try CommandRunner.run(["export", model, "--onnx", onnx] + (fold ? ["--fold-batchnorm"] : []))
      #expect(result.status == 0, "\(result.standardError)")
      let expected = try checkpoint.onnxModel(ONNXExportOptions(foldsBatchNormalization: fold)).serializedData()
      #expect(try Data(contentsOf: URL(fileURLWithPath: onnx)) == expected)
      #expect(result.standardOutput.contains("ONNX opset 15"))
      #expect(result.standardOutput.contains("input [N, 1, 6, 6] → logits [N, 10]"), "\(result.standardOutput)")
      if fold {
        #expect(result.standardOutput.contains("nodes: Conv, Relu, Flatten, Gemm\n"), "\(result.standardOutput)")
        #expect(result.standardOutput.contains("batch normalization folded: layers 1\n"))
      } else {
        #expect(result.standardOutput.contains("nodes: Conv, BatchNormalization, Relu, Flatten, Gemm\n"))
      }
    }
  }

  @Test func aPyTorchFileNeedsItsArchitecture() throws {
    let directory = try TemporaryDirectory()
    let (model, _) = try Self.trainedModel(in: directory)
    var file = try SafeTensors.read(contentsOf: URL(fileURLWithPath: model))
    file.metadata = [:]  // as safetensors.torch.save_file writes it
    let bare = directory.path("bare.safetensors")
    try file.write(to: URL(fileURLWithPath: bare))
    let onnx = directory.path("bare.onnx")
    TrainCommandTests.expectOneLineError(try CommandRunner.run(["export", bare, "--onnx", onnx]), containing: "(pass --arch)")
    #expect(!FileManager.default.fileExists(atPath: onnx))
    let result = try CommandRunner.run(["export", bare, "--onnx", onnx, "--arch", Self.architecture, "--sample-shape", "1,6,6"])
    #expect(result.status == 0, "\(result.standardError)")
    #expect(result.standardOutput.contains("input [N, 1, 6, 6]"))
    TrainCommandTests.expectOneLineError(
      try CommandRunner.run(["export", bare, "--onnx", onnx, "--arch", Self.architecture, "--sample-shape", "1,x"]),
      containing: "--sample-shape must be 1 to 3 positive integers")
  }

  @Test func badInputsWriteNothing() throws {
    let directory = try TemporaryDirectory()
    let (model, _) = try Self.trainedModel(in: directory)
    let onnx = directory.path("out.onnx")
    // Usage errors: the message, then the usage line, exit 64.
    for (arguments, message) in [
      (["export", model, "--onnx", onnx, "--opset", "8"], "opset 8 is not supported: the exporter writes opsets 9 to 21"),
      (["export", model, "--onnx", model], "is the model itself"),
    ] {
      let result = try CommandRunner.run(arguments)
      #expect(result.status == 64)
      #expect(result.standardError.hasPrefix("Error: \(message)") || result.standardError.contains(message), "\(result.standardError)")
    }
    for (arguments, message) in [
      (["export", directory.path("absent.safetensors"), "--onnx", onnx], "absent.safetensors: no such file"),
      (["export", model, "--onnx", directory.path("no/such/folder.onnx")], "cannot create a temporary file"),
    ] {
      TrainCommandTests.expectOneLineError(try CommandRunner.run(arguments), containing: message)
    }
    #expect(!FileManager.default.fileExists(atPath: onnx))
    // The model the refused export named is untouched.
    #expect(try Checkpoint<Float>(contentsOf: URL(fileURLWithPath: model)).architecture.description == Self.architecture)
  }

  @Test func evalWritesTheLogitsItScores() throws {
    let directory = try TemporaryDirectory()
    let (model, dataset) = try Self.trainedModel(in: directory)
    let logits = directory.path("logits.npy")
    let result = try CommandRunner.run(["eval", "--model", model, "--dataset", dataset, "--limit-test", "50", "--logits", logits])
    #expect(result.status == 0, "\(result.standardError)")
    let array = try NPY.read(contentsOf: URL(fileURLWithPath: logits))
    #expect(array.shape == [50, 10])
    // The logits are the network's: recomputed here, bit for bit, and their argmax gives the printed accuracy.
    let checkpoint = try Checkpoint<Float>(contentsOf: URL(fileURLWithPath: model))
    let test = try IDXTestSet.read(dataset, count: 50)
    var network = checkpoint.model
    let expected = try network.forward(Tensor(shape: [50, 1, 6, 6], scalars: test.images), mode: .inference)
    #expect(array.floats()?.map(\.bitPattern) == expected.scalars.map(\.bitPattern))
    let correct = zip(predictedClasses(logits: expected), test.labels).filter { $0 == $1 }.count
    #expect(TrainCommandTests.accuracy(result.standardOutput) == (Double(correct) / 50 * 10_000).rounded() / 10_000)
  }
}

/// The first images and labels of a test split the tests wrote, scaled as bn scales them.
struct IDXTestSet {
  let images: [Float]
  let labels: [Int]

  static func read(_ directory: String, count: Int) throws -> IDXTestSet {
    let images = try Data(contentsOf: URL(fileURLWithPath: directory + "/t10k-images-idx3-ubyte"))
    let labels = try Data(contentsOf: URL(fileURLWithPath: directory + "/t10k-labels-idx1-ubyte"))
    let pixels = images.dropFirst(16).prefix(count * 36).map { Float($0) / 255 }
    return IDXTestSet(images: Array(pixels), labels: labels.dropFirst(8).prefix(count).map { Int($0) })
  }
}
