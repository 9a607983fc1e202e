import BatchNormalization
import FileFormats
import Foundation
import Testing

/// `bn normalize` end to end: files written by the test, the real executable, results
/// compared with the library.
@Suite struct NormalizeCommandTests {
  /// Deterministic, not unit-scale data.
  static func values(_ count: Int, seed: Int) -> [Float] {
    (0..<count).map { index in
      let phase = Double(index * 7919 + seed * 104_729)
      return Float(3 * sin(phase * 0.61) + 0.5 * cos(phase * 1.37) + Double(index % 3))
    }
  }

  static func write(_ values: [Float], shape: [Int], to path: String) throws {
    try NPY.write(StoredArray(shape: shape, float32: values), to: URL(fileURLWithPath: path))
  }

  static func read(_ path: String) throws -> StoredArray { try NPY.read(contentsOf: URL(fileURLWithPath: path)) }

  @Test func trainingThenInferenceMatchesTheLibrary() throws {
    let directory = try TemporaryDirectory()
    let dimensions = [4, 3, 5, 2]
    let x = Self.values(120, seed: 1)
    let dy = Self.values(120, seed: 2)
    let gamma: [Float] = [0.5, 1.5, 2]
    let beta: [Float] = [0.1, -0.2, 0.3]
    try Self.write(x, shape: dimensions, to: directory.path("x.npy"))
    try Self.write(dy, shape: dimensions, to: directory.path("dy.npy"))
    try Self.write(gamma, shape: [3], to: directory.path("gamma.npy"))
    try Self.write(beta, shape: [3], to: directory.path("beta.npy"))

    let training = try CommandRunner.run([
      "normalize", directory.path("x.npy"), "--output", directory.path("y.npy"), "--scale", directory.path("gamma.npy"),
      "--shift", directory.path("beta.npy"), "--momentum", "0.3", "--save-state", directory.path("state.safetensors"),
      "--grad-output", directory.path("dy.npy"), "--grad-input", directory.path("dx.npy"),
      "--grad-scale", directory.path("dgamma.npy"), "--grad-shift", directory.path("dbeta.npy"), "--threads", "2",
    ])
    #expect(training.status == 0, "\(training.standardError)")
    #expect(training.standardOutput.contains("per-channel batch statistics over m = 40 values"))

    var layer = try BatchNorm<Float>(channels: 3, configuration: .init(momentum: .exponential(0.3)))
    layer.scale = gamma
    layer.shift = beta
    let shape = try BatchNormShape(dimensions: dimensions)
    let (y, context) = try layer.forward(x, shape: shape, mode: .training)
    let gradients = try layer.backward(dy, input: x, context: context)
    #expect(try Self.read(directory.path("y.npy")) == StoredArray(shape: dimensions, float32: y))
    #expect(try Self.read(directory.path("dx.npy")) == StoredArray(shape: dimensions, float32: gradients.gradInput))
    #expect(try Self.read(directory.path("dgamma.npy")).floats() == gradients.parameters.scale)
    #expect(try Self.read(directory.path("dbeta.npy")).floats() == gradients.parameters.shift)

    let state = try SafeTensors.read(contentsOf: URL(fileURLWithPath: directory.path("state.safetensors")))
    #expect(state.tensors["running_mean"] == StoredArray(shape: [3], float32: layer.runningStatistics.mean))
    #expect(state.tensors["running_var"] == StoredArray(shape: [3], float32: layer.runningStatistics.variance))
    #expect(state.tensors["num_batches_tracked"] == StoredArray(shape: [], int64: [1]))
    #expect(state.tensors["weight"] == StoredArray(shape: [3], float32: gamma))

    // Inference from the saved state: weight and bias come from the state file.
    let x2 = Self.values(120, seed: 3)
    try Self.write(x2, shape: dimensions, to: directory.path("x2.npy"))
    let inference = try CommandRunner.run([
      "normalize", directory.path("x2.npy"), "-o", directory.path("y2.npy"), "--mode", "inference",
      "--state", directory.path("state.safetensors"), "--quiet",
    ])
    #expect(inference.status == 0, "\(inference.standardError)")
    #expect(inference.standardOutput.isEmpty)
    let (y2, _) = try layer.forward(x2, shape: shape, mode: .inference)
    #expect(try Self.read(directory.path("y2.npy")) == StoredArray(shape: dimensions, float32: y2))
  }

  @Test func channelsLastAndDoubleInput() throws {
    let directory = try TemporaryDirectory()
    let x = Self.values(2 * 3 * 4 * 5, seed: 4).map { Double($0) }
    try NPY.write(StoredArray(shape: [2, 3, 4, 5], float64: x), to: URL(fileURLWithPath: directory.path("x.npy")))
    let result = try CommandRunner.run([
      "normalize", directory.path("x.npy"), "--output", directory.path("y.npy"), "--channels-last", "--cumulative",
      "--biased-running-variance", "--epsilon", "0.001", "--save-state", directory.path("state.safetensors"),
    ])
    #expect(result.status == 0, "\(result.standardError)")
    var layer = try BatchNorm<Double>(
      channels: 5, configuration: .init(epsilon: 1e-3, momentum: .cumulative, runningVarianceEstimator: .biased))
    let (y, _) = try layer.forward(x, shape: BatchNormShape(dimensions: [2, 3, 4, 5], layout: .channelsLast), mode: .training)
    #expect(try Self.read(directory.path("y.npy")) == StoredArray(shape: [2, 3, 4, 5], float64: y))
    let state = try SafeTensors.read(contentsOf: URL(fileURLWithPath: directory.path("state.safetensors")))
    #expect(state.tensors["running_var"]?.floats() == layer.runningStatistics.variance.map { Float($0) })
  }

  @Test func nonFiniteBatchLeavesTheStateAndSaysSo() throws {
    let directory = try TemporaryDirectory()
    var x = Self.values(12, seed: 5)
    x[4] = .nan
    try Self.write(x, shape: [4, 3], to: directory.path("x.npy"))
    let first = try CommandRunner.run([
      "normalize", directory.path("x.npy"), "--output", directory.path("y.npy"), "--save-state", directory.path("state.safetensors"),
    ])
    #expect(first.status == 0)
    #expect(first.standardError.contains("running statistics were NOT updated"))
    let state = try SafeTensors.read(contentsOf: URL(fileURLWithPath: directory.path("state.safetensors")))
    #expect(state.tensors["running_mean"]?.floats() == [0, 0, 0])
    #expect(state.tensors["running_var"]?.floats() == [1, 1, 1])
    #expect(state.tensors["num_batches_tracked"] == StoredArray(shape: [], int64: [0]))
  }

  // MARK: Bad input: a one-line error, a non-zero exit, no output file.

  /// Runs `bn normalize x.npy --output out.npy EXTRA…` on an x of `shape` and expects a
  /// failure whose message contains `message`.
  func expectFailure(
    shape: [Int] = [4, 3], extra: (TemporaryDirectory) throws -> [String] = { _ in [] }, message: String,
    prepare: (TemporaryDirectory) throws -> Void = { _ in }
  ) throws {
    let directory = try TemporaryDirectory()
    try Self.write(Self.values(shape.reduce(1, *), seed: 6), shape: shape, to: directory.path("x.npy"))
    try prepare(directory)
    let before = try directory.contents()
    let result = try CommandRunner.run(["normalize", directory.path("x.npy"), "--output", directory.path("out.npy")] + extra(directory))
    #expect(result.status != 0)
    #expect(result.standardError.contains(message), "stderr: \(result.standardError)")
    #expect(try directory.contents() == before, "no output file may be left behind")
  }

  @Test func oneValuePerChannel() throws {
    try expectFailure(shape: [1, 3], message: "x.npy: training needs more than 1 value per channel, but shape [1, 3] has 1")
  }

  @Test func mismatchedScale() throws {
    try expectFailure(
      extra: { ["--scale", $0.path("gamma.npy")] }, message: "gamma.npy: expected 3 values (one per channel), got shape [2]",
      prepare: { try Self.write([1, 2], shape: [2], to: $0.path("gamma.npy")) })
  }

  @Test func negativeEpsilonAndBadMomentum() throws {
    try expectFailure(extra: { _ in ["--epsilon", "-1"] }, message: "epsilon is -1")
    try expectFailure(extra: { _ in ["--momentum", "1.5"] }, message: "momentum is 1.5")
  }

  @Test func rankBelowTwo() throws {
    try expectFailure(shape: [6], message: "rank 1 is below 2")
  }

  @Test func unsupportedDtype() throws {
    let directory = try TemporaryDirectory()
    try NPY.write(StoredArray(shape: [2, 2], int64: [1, 2, 3, 4]), to: URL(fileURLWithPath: directory.path("x.npy")))
    let result = try CommandRunner.run(["normalize", directory.path("x.npy"), "--output", directory.path("y.npy")])
    #expect(result.status != 0)
    #expect(result.standardError.contains("dtype int64 is not supported"))
    #expect(!FileManager.default.fileExists(atPath: directory.path("y.npy")))
  }

  @Test func truncatedInput() throws {
    let directory = try TemporaryDirectory()
    let data = NPY.encode(StoredArray(shape: [4, 3], float32: Self.values(12, seed: 7)))
    try data.prefix(data.count - 5).write(to: URL(fileURLWithPath: directory.path("x.npy")))
    let result = try CommandRunner.run(["normalize", directory.path("x.npy"), "--output", directory.path("y.npy")])
    #expect(result.status != 0)
    #expect(result.standardError.contains("x.npy"))
    #expect(result.standardError.contains("truncated"))
    #expect(!FileManager.default.fileExists(atPath: directory.path("y.npy")))
  }

  @Test func corruptState() throws {
    try expectFailure(
      extra: { ["--mode", "inference", "--state", $0.path("state.safetensors")] }, message: "state.safetensors",
      prepare: { try Data("not a safetensors file".utf8).write(to: URL(fileURLWithPath: $0.path("state.safetensors"))) })
  }

  @Test func stateWithTheWrongChannelCount() throws {
    try expectFailure(
      extra: { ["--mode", "inference", "--state", $0.path("state.safetensors")] },
      message: "'running_mean' has shape [2] but the input has 3 channels",
      prepare: {
        try SafeTensors(tensors: [
          "running_mean": StoredArray(shape: [2], float32: [0, 0]), "running_var": StoredArray(shape: [2], float32: [1, 1]),
        ]).write(to: URL(fileURLWithPath: $0.path("state.safetensors")))
      })
  }

  @Test func inferenceWithoutState() throws {
    try expectFailure(extra: { _ in ["--mode", "inference"] }, message: "--mode inference needs running statistics")
  }

  @Test func missingOutputDirectory() throws {
    try expectFailure(extra: { _ in ["--save-state", "/nonexistent-dir/state.safetensors"] }, message: "does not exist")
  }

  @Test func helpTeachesTheOptions() throws {
    let result = try CommandRunner.run(["normalize", "--help"])
    #expect(result.status == 0)
    for option in ["--channels-last", "--momentum", "--cumulative", "--state", "--grad-output", "UNBIASED", "running_var"] {
      #expect(result.standardOutput.contains(option), "help lacks \(option)")
    }
  }
}
