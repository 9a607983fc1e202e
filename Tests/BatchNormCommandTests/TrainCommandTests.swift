import FileFormats
import Foundation
import NeuralNetwork
import Testing

/// `bn train` and `bn eval` end to end on a small MNIST-format directory the tests
/// write, every bad input a one-line error with nothing written, and (when Debian's
/// dataset-fashion-mnist is installed) real Fashion-MNIST.
@Suite struct TrainCommandTests {
  static let mlp = "linear:16,bn,sigmoid,linear:10"

  /// An MNIST-format directory of 6 × 6 images labeled 0…3, each class a bright
  /// quadrant plus noise: easy to learn. (An MNIST-format data set has at least 10
  /// classes, so the networks end with linear:10.)
  static func writeDataset(in directory: TemporaryDirectory, trainCount: Int = 200, testCount: Int = 80) throws -> String {
    var generator = SeededGenerator(seed: 5)
    func split(_ prefix: String, count: Int) throws {
      var pixels: [UInt8] = []
      var labels: [UInt8] = []
      for index in 0..<count {
        let label = index % 4
        labels.append(UInt8(label))
        for row in 0..<6 {
          for column in 0..<6 {
            let bright = (row / 3) * 2 + column / 3 == label
            pixels.append(UInt8(min(255, (bright ? 150 : 30) + Int(generator.next() % 100))))
          }
        }
      }
      try idx(dimensions: [count, 6, 6], bytes: pixels).write(to: URL(fileURLWithPath: directory.path("\(prefix)-images-idx3-ubyte")))
      try idx(dimensions: [count], bytes: labels).write(to: URL(fileURLWithPath: directory.path("\(prefix)-labels-idx1-ubyte")))
    }
    try split("train", count: trainCount)
    try split("t10k", count: testCount)
    return directory.url.path
  }

  /// An IDX file of unsigned bytes: magic 0x0000 08 NDIM, big-endian sizes, the bytes.
  static func idx(dimensions: [Int], bytes: [UInt8]) -> Data {
    var data = Data([0, 0, 0x08, UInt8(dimensions.count)])
    for dimension in dimensions { data += withUnsafeBytes(of: UInt32(dimension).bigEndian) { Data($0) } }
    return data + bytes
  }

  /// The accuracy on the `test accuracy: 0.xxxx` line.
  static func accuracy(_ output: String) -> Double? {
    output.split(separator: "\n").last { $0.hasPrefix("test accuracy: ") }.flatMap { Double($0.dropFirst(15)) }
  }

  /// Checks a one-line error and a non-zero exit.
  static func expectOneLineError(_ result: CommandResult, containing text: String) {
    #expect(result.status != 0)
    let lines = result.standardError.split(separator: "\n")
    #expect(lines.count == 1, "\(result.standardError)")
    #expect(result.standardError.contains(text), "\(result.standardError)")
  }

  @Test func trainThenEvaluate() throws {
    let data = try TemporaryDirectory()
    let dataset = try Self.writeDataset(in: data)
    let output = try TemporaryDirectory()
    let model = output.path("model.safetensors")
    let training = try CommandRunner.run([
      "train", "--dataset", dataset, "--arch", Self.mlp, "--epochs", "3", "--batch-size", "20", "--optimizer", "adam",
      "--lr", "0.01", "--threads", "1", "--report-every", "5", "--out", model,
    ])
    #expect(training.status == 0, "\(training.standardError)")
    // Not a terminal: plain lines, every 5 steps and at the end of each epoch (10 steps).
    #expect(training.standardOutput.contains("epoch 1/3  step 5/10  loss "))
    #expect(training.standardOutput.contains("epoch 3/3  step 10/10  loss "))
    #expect(!training.standardOutput.contains("\r"))
    let trained = try #require(Self.accuracy(training.standardOutput))
    #expect(trained > 0.9, "\(training.standardOutput)")
    #expect(try output.contents() == ["model.resume.safetensors", "model.safetensors", "model.svg"])
    let svg = try String(contentsOfFile: output.path("model.svg"), encoding: .utf8)
    #expect(svg.hasPrefix("<svg") && svg.contains("test accuracy") && svg.contains("training loss"))

    let checkpoint = try Checkpoint<Float>(contentsOf: URL(fileURLWithPath: model))
    #expect(checkpoint.architecture.description == Self.mlp)
    #expect(checkpoint.sampleShape == [36])

    let evaluation = try CommandRunner.run(["eval", "--model", model, "--dataset", dataset])
    #expect(evaluation.status == 0, "\(evaluation.standardError)")
    #expect(Self.accuracy(evaluation.standardOutput) == trained)
    #expect(evaluation.standardOutput.contains("true \\ predicted"))

    // The same seed gives the same model, bit for bit.
    let again = output.path("again.safetensors")
    _ = try CommandRunner.run([
      "train", "--dataset", dataset, "--arch", Self.mlp, "--epochs", "3", "--batch-size", "20", "--optimizer", "adam",
      "--lr", "0.01", "--threads", "1", "--out", again,
    ])
    #expect(try Data(contentsOf: URL(fileURLWithPath: again)) == Data(contentsOf: URL(fileURLWithPath: model)))
  }

  @Test func convolutionalNetworkTakesImages() throws {
    let data = try TemporaryDirectory()
    let dataset = try Self.writeDataset(in: data)
    let output = try TemporaryDirectory()
    let result = try CommandRunner.run([
      "train", "--dataset", dataset, "--arch", "conv:4:3:1:1,bn,relu,maxpool:2,linear:10", "--epochs", "1",
      "--batch-size", "20", "--out", output.path("cnn.safetensors"),
    ])
    #expect(result.status == 0, "\(result.standardError)")
    let checkpoint = try Checkpoint<Float>(contentsOf: URL(fileURLWithPath: output.path("cnn.safetensors")))
    #expect(checkpoint.sampleShape == [1, 6, 6])
  }

  @Test func missingDatasetSaysHowToInstallIt() throws {
    let output = try TemporaryDirectory()
    let result = try CommandRunner.run([
      "train", "--dataset", output.path("nowhere"), "--arch", Self.mlp, "--out", output.path("m.safetensors"),
    ])
    Self.expectOneLineError(result, containing: "no such directory; for Fashion-MNIST use --dataset fashion-mnist after `sudo apt-get install dataset-fashion-mnist`")
    #expect(try output.contents().isEmpty)
  }

  @Test func architectureErrorPointsAtTheToken() throws {
    let output = try TemporaryDirectory()
    let result = try CommandRunner.run(["train", "--arch", "linear:100,bn,sigmoyd,linear:10", "--out", output.path("m.safetensors")])
    Self.expectOneLineError(result, containing: "Error: architecture token 3 'sigmoyd': unknown layer 'sigmoyd'")
    #expect(try output.contents().isEmpty)
  }

  @Test func shapesThatDoNotChain() throws {
    let data = try TemporaryDirectory()
    let dataset = try Self.writeDataset(in: data, trainCount: 8, testCount: 4)
    let output = try TemporaryDirectory()
    let result = try CommandRunner.run([
      "train", "--dataset", dataset, "--arch", "linear:8,conv:4:3,linear:10", "--out", output.path("m.safetensors"),
    ])
    Self.expectOneLineError(
      result, containing: "architecture token 2 'conv:4:3:1:0': Conv2d expects images [N, C, H, W] but gets [N, 8] (samples [36]")
    let classes = try CommandRunner.run([
      "train", "--dataset", dataset, "--arch", "linear:3", "--out", output.path("m.safetensors"),
    ])
    Self.expectOneLineError(classes, containing: "the network gives [3] outputs per sample but the data set has 10 classes: end with linear:10")
    #expect(try output.contents().isEmpty)
  }

  @Test func nonFiniteLossKeepsTheLastGoodCheckpoint() throws {
    let data = try TemporaryDirectory()
    let dataset = try Self.writeDataset(in: data)
    let output = try TemporaryDirectory()
    let model = output.path("m.safetensors")
    let good = try CommandRunner.run([
      "train", "--dataset", dataset, "--arch", "linear:8,relu,linear:10", "--epochs", "1", "--out", model,
    ])
    #expect(good.status == 0, "\(good.standardError)")
    let before = try Data(contentsOf: URL(fileURLWithPath: model))
    let result = try CommandRunner.run([
      "train", "--dataset", dataset, "--arch", "linear:8,relu,linear:10", "--lr", "1e30", "--out", model,
    ])
    Self.expectOneLineError(result, containing: "training stopped: the loss became")
    #expect(result.standardError.contains("try a smaller learning rate; nothing was written"))
    #expect(try Data(contentsOf: URL(fileURLWithPath: model)) == before)
    #expect(try output.contents() == ["m.resume.safetensors", "m.safetensors", "m.svg"])
  }

  @Test func corruptCheckpointIsAnError() throws {
    let data = try TemporaryDirectory()
    let dataset = try Self.writeDataset(in: data, trainCount: 8, testCount: 4)
    let output = try TemporaryDirectory()
    let truncated = output.path("truncated.safetensors")
    try Data([0x40, 0, 0, 0, 0, 0, 0, 0, 0x7B]).write(to: URL(fileURLWithPath: truncated))
    let result = try CommandRunner.run(["eval", "--model", truncated, "--dataset", dataset])
    Self.expectOneLineError(result, containing: "\(truncated): the header length is 64 bytes but only 1 bytes follow it")

    // A file without metadata (as PyTorch writes) needs --arch; a wrong one names the key.
    let file = SafeTensors(tensors: ["0.weight": StoredArray(shape: [10, 36], float32: Array(repeating: 0, count: 360))])
    let bare = output.path("bare.safetensors")
    try file.write(to: URL(fileURLWithPath: bare))
    let noArchitecture = try CommandRunner.run(["eval", "--model", bare, "--dataset", dataset])
    Self.expectOneLineError(noArchitecture, containing: "no architecture in the metadata (a file saved by PyTorch?): give the architecture (pass --arch)")
    let wrong = try CommandRunner.run(["eval", "--model", bare, "--arch", "linear:10", "--dataset", dataset])
    Self.expectOneLineError(wrong, containing: "missing tensor '0.bias' of shape [10] for architecture 'linear:10'")
  }

  /// Real Fashion-MNIST, when Debian's dataset-fashion-mnist is installed: the paper's
  /// MNIST network (three sigmoid layers of 100 with batch normalization) on the first
  /// 10,000 training images for 2 epochs with Adam, tested on all 10,000 test images.
  ///
  /// Threshold: measured 0.8164 (this configuration, seed 1); the same network reached
  /// 0.75–0.82 at every epoch of 3-epoch runs with SGD and Adam here, and PyTorch's
  /// fluctuates the same way. 0.75 leaves that margin, and is far above anything a
  /// broken network gives (chance is 0.10; a network whose batch normalization or
  /// optimizer is wrong stalls well below 0.7). Takes about 8 s in a debug build on 2 cores.
  @Test(.enabled(if: FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist")))
  func fashionMNISTSubset() throws {
    let output = try TemporaryDirectory()
    let model = output.path("fashion.safetensors")
    let result = try CommandRunner.run([
      "train", "--dataset", "fashion-mnist", "--arch",
      "linear:100,bn,sigmoid,linear:100,bn,sigmoid,linear:100,bn,sigmoid,linear:10", "--limit-train", "10000",
      "--epochs", "2", "--optimizer", "adam", "--threads", "2", "--report-every", "1000", "--out", model,
    ])
    #expect(result.status == 0, "\(result.standardError)")
    let accuracy = try #require(Self.accuracy(result.standardOutput))
    #expect(accuracy > 0.75, "\(result.standardOutput)")
    let evaluation = try CommandRunner.run(["eval", "--model", model, "--threads", "2"])
    #expect(Self.accuracy(evaluation.standardOutput) == accuracy)
    #expect(evaluation.standardOutput.contains("Ankle boot"))
  }

  /// What PyTorch users reach for first: layers without a bias before batch
  /// normalization (checkpoint keys as PyTorch's bias=False), AdamW, the step schedule,
  /// and evaluating on part of the test set.
  @Test func biasFreeLayersAdamWAndTheStepSchedule() throws {
    let data = try TemporaryDirectory()
    let dataset = try Self.writeDataset(in: data)
    let output = try TemporaryDirectory()
    let model = output.path("model.safetensors")
    let architecture = "conv:4:3:1:1:nobias,bn,relu,flatten,linear:16:nobias,bn,relu,linear:10"
    let training = try CommandRunner.run([
      "train", "--dataset", dataset, "--arch", architecture, "--epochs", "3", "--batch-size", "20", "--optimizer", "adamw",
      "--lr", "0.01", "--schedule", "step", "--step-epochs", "1", "--step-factor", "0.5", "--out", model,
    ])
    #expect(training.status == 0, "\(training.standardError)")
    let file = try SafeTensors.read(contentsOf: URL(fileURLWithPath: model))
    #expect(file.tensors["0.weight"]?.shape == [4, 1, 3, 3] && file.tensors["0.bias"] == nil)
    #expect(file.tensors["4.weight"]?.shape == [16, 144] && file.tensors["4.bias"] == nil)
    #expect(file.tensors["7.bias"]?.shape == [10])
    #expect(file.metadata["architecture"] == architecture)
    let trained = try #require(Self.accuracy(training.standardOutput))
    #expect(trained > 0.8, "\(training.standardOutput)")

    let evaluation = try CommandRunner.run(["eval", "--model", model, "--dataset", dataset])
    #expect(Self.accuracy(evaluation.standardOutput) == trained)
    let one = try CommandRunner.run(["eval", "--model", model, "--dataset", dataset, "--limit-test", "1"])
    let accuracy = try #require(Self.accuracy(one.standardOutput))
    #expect(accuracy == 0 || accuracy == 1, "one image is right or wrong: \(one.standardOutput)")
    let misplaced = try CommandRunner.run(["train", "--dataset", dataset, "--arch", "linear:10", "--step-epochs", "2", "--out", model])
    #expect(misplaced.status != 0)
    #expect(misplaced.standardError.contains("--step-epochs and --step-factor go with --schedule step"))
  }
}
