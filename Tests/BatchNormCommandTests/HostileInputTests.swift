import FileFormats
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The findings of a black-box run, each a test: crashes, files left behind or
/// replaced, silent wrong results and unclear errors (issue 15).
@Suite struct HostileInputTests {
  /// An x of shape [4, 3] in `directory`, and the output path.
  static func input(in directory: TemporaryDirectory) throws -> (x: String, y: String) {
    try NormalizeCommandTests.write(NormalizeCommandTests.values(12, seed: 6), shape: [4, 3], to: directory.path("x.npy"))
    return (directory.path("x.npy"), directory.path("y.npy"))
  }

  static func state(_ tensors: [String: StoredArray], in directory: TemporaryDirectory) throws -> String {
    let path = directory.path("state.safetensors")
    try SafeTensors(tensors: tensors).write(to: URL(fileURLWithPath: path))
    return path
  }

  static let threeChannels = (
    mean: StoredArray(shape: [3], float32: [0, 0, 0]), variance: StoredArray(shape: [3], float32: [1, 1, 1])
  )

  @Test func aStateThatCountsIntMaxBatchesDoesNotTrap() throws {
    let directory = try TemporaryDirectory()
    let (x, y) = try Self.input(in: directory)
    for extra in [[String](), ["--cumulative"]] {
      let state = try Self.state(
        [
          "running_mean": Self.threeChannels.mean, "running_var": Self.threeChannels.variance,
          "num_batches_tracked": StoredArray(shape: [], int64: [Int64.max]),
        ], in: directory)
      let saved = directory.path("saved.safetensors")
      let result = try CommandRunner.run(["normalize", x, "-o", y, "--state", state, "--save-state", saved, "-q"] + extra)
      #expect(result.status == 0, "\(result.standardError)")
      let tracked = try SafeTensors.read(contentsOf: URL(fileURLWithPath: saved)).tensors["num_batches_tracked"]
      #expect(tracked == StoredArray(shape: [], int64: [Int64.max]), "the count saturates")
    }
  }

  @Test func aLaterOutputThatCannotBeWrittenLeavesTheEarlierOnesAlone() throws {
    let directory = try TemporaryDirectory()
    let (x, y) = try Self.input(in: directory)
    try Data("the old output".utf8).write(to: URL(fileURLWithPath: y))
    try FileManager.default.createDirectory(atPath: directory.path("state-dir"), withIntermediateDirectories: false)
    let before = try directory.contents()
    let result = try CommandRunner.run([
      "normalize", x, "-o", y, "--save-state", directory.path("state-dir"), "--grad-output", x, "--grad-input",
      directory.path("dx.npy"),
    ])
    TrainCommandTests.expectOneLineError(result, containing: "state-dir: is a directory; give a file name; no output was written")
    #expect(try directory.contents() == before)
    #expect(try String(contentsOfFile: y, encoding: .utf8) == "the old output")
  }

  @Test func devicesAreWrittenThroughAndLinksFollowed() throws {
    let directory = try TemporaryDirectory()
    let (x, y) = try Self.input(in: directory)
    let toDevice = try CommandRunner.run(["normalize", x, "-o", "/dev/null", "-q"])
    #expect(toDevice.status == 0, "\(toDevice.standardError)")
    var status = stat()
    #expect(stat("/dev/null", &status) == 0 && (status.st_mode & S_IFMT) == S_IFCHR, "/dev/null is still a device")

    try Data("old".utf8).write(to: URL(fileURLWithPath: directory.path("real.npy")))
    try FileManager.default.createSymbolicLink(atPath: y, withDestinationPath: "real.npy")
    #expect(try CommandRunner.run(["normalize", x, "-o", y, "-q"]).status == 0)
    #expect(try FileManager.default.destinationOfSymbolicLink(atPath: y) == "real.npy", "the link stays a link")
    #expect(try NPY.read(contentsOf: URL(fileURLWithPath: directory.path("real.npy"))).shape == [4, 3])
  }

  @Test func inputFromAPipe() throws {
    let directory = try TemporaryDirectory()
    let (x, y) = try Self.input(in: directory)
    let process = Process()
    process.executableURL = CommandRunner.executable
    process.arguments = ["normalize", "/dev/stdin", "-o", y, "-q"]
    process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: x))
    let pipe = Pipe()
    let feeder = Process()
    feeder.executableURL = URL(fileURLWithPath: "/bin/cat")
    feeder.arguments = [x]
    feeder.standardOutput = pipe
    process.standardInput = pipe
    try feeder.run()
    try process.run()
    process.waitUntilExit()
    feeder.waitUntilExit()
    #expect(process.terminationStatus == 0)
    #expect(try NPY.read(contentsOf: URL(fileURLWithPath: y)).shape == [4, 3])
  }

  @Test func outputsThatNameNoFileOrTheSameFile() throws {
    let directory = try TemporaryDirectory()
    let (x, y) = try Self.input(in: directory)
    TrainCommandTests.expectOneLineError(
      try CommandRunner.run(["normalize", x, "-o", ""]), containing: "--output '' names no file: give a file name")
    TrainCommandTests.expectOneLineError(
      try CommandRunner.run(["normalize", x, "-o", y, "--save-state", y]),
      containing: "--output and --save-state name the same file")
    #expect(try directory.contents() == ["x.npy"])
  }

  @Test(arguments: [
    ("running_var", [1, -0.5, 1] as [Float], "running_var of channel 1 is -0.5; a running variance must be finite and ≥ 0"),
    ("running_var", [1, 1, .nan], "running_var of channel 2 is nan"),
    ("running_mean", [0, .infinity, 0], "running_mean of channel 1 is inf; a running mean must be finite"),
  ])
  func statesThatCannotBeRunningStatistics(key: String, values: [Float], message: String) throws {
    let directory = try TemporaryDirectory()
    let (x, y) = try Self.input(in: directory)
    var tensors = ["running_mean": Self.threeChannels.mean, "running_var": Self.threeChannels.variance]
    tensors[key] = StoredArray(shape: [3], float32: values)
    let state = try Self.state(tensors, in: directory)
    TrainCommandTests.expectOneLineError(
      try CommandRunner.run(["normalize", x, "-o", y, "--mode", "inference", "--state", state]), containing: message)
    #expect(!FileManager.default.fileExists(atPath: y))
  }

  @Test func float64StatisticsBeyondFloat32AreRefusedNotSavedAsInfinity() throws {
    let directory = try TemporaryDirectory()
    let x = directory.path("x.npy")
    // A variance near 1e60: finite in Double, infinite in float32.
    try NPY.write(StoredArray(shape: [4, 1], float64: [1e30, -1e30, 2e30, -2e30]), to: URL(fileURLWithPath: x))
    let result = try CommandRunner.run(["normalize", x, "-o", directory.path("y.npy"), "--save-state", directory.path("s.safetensors")])
    TrainCommandTests.expectOneLineError(result, containing: "beyond float32 (the state file's type); no output was written")
    #expect(try directory.contents() == ["x.npy"])
  }

  @Test func float64ValuesNear1e154AreNormalizedOrSaidToBeNonFinite() throws {
    let directory = try TemporaryDirectory()
    let x = directory.path("x.npy")
    // Deviations of 1e154 square beyond Double's range, but M2 = 1e308 does not: normalized.
    try NPY.write(StoredArray(shape: [4, 1], float64: [5e153, -5e153, 5e153, -5e153]), to: URL(fileURLWithPath: x))
    let fits = try CommandRunner.run(["normalize", x, "-o", directory.path("y.npy"), "-q"])
    #expect(fits.status == 0 && fits.standardError.isEmpty, "\(fits.standardError)")
    let y = try #require(try NPY.read(contentsOf: URL(fileURLWithPath: directory.path("y.npy"))).doubles())
    #expect(zip(y, [1.0, -1, 1, -1]).allSatisfy { abs($0 - $1) < 1e-12 }, "\(y)")
    // Here M2 itself is beyond Double: said, and the running statistics are left alone.
    try NPY.write(StoredArray(shape: [4, 1], float64: [1e154, -1e154, 1e154, -1e154]), to: URL(fileURLWithPath: x))
    let beyond = try CommandRunner.run(["normalize", x, "-o", directory.path("y.npy"), "-q", "--save-state", directory.path("s.safetensors")])
    #expect(beyond.status == 0)
    #expect(beyond.standardError.contains("running statistics were NOT updated"))
    let state = try SafeTensors.read(contentsOf: URL(fileURLWithPath: directory.path("s.safetensors")))
    #expect(state.tensors["running_var"]?.floats() == [1] && state.tensors["num_batches_tracked"]?.elements == .int64([0]))
  }

  @Test func float32BatchOfHugeValuesLeavesRunningVarianceFinite() throws {
    let directory = try TemporaryDirectory()
    let x = directory.path("x.npy")
    try NPY.write(StoredArray(shape: [4, 1], float32: [3e38, -3e38, 3e38, -3e38]), to: URL(fileURLWithPath: x))
    let result = try CommandRunner.run(["normalize", x, "-o", directory.path("y.npy"), "-q", "--save-state", directory.path("s.safetensors")])
    #expect(result.standardError.contains("running statistics were NOT updated"), "\(result.standardError)")
    let state = try SafeTensors.read(contentsOf: URL(fileURLWithPath: directory.path("s.safetensors")))
    #expect(state.tensors["running_var"]?.floats() == [1])
  }

  @Test func sizesTooLargeAreErrorsNotTraps() throws {
    let data = try TemporaryDirectory()
    let dataset = try TrainCommandTests.writeDataset(in: data)
    let directory = try TemporaryDirectory()
    let cases = [
      ("linear:9223372036854775807", "OUT must be at most 2147483647, got '9223372036854775807'"),
      ("conv:8:4611686018427387904", "KERNEL must be at most 2147483647"),
      ("conv:8:3:1:9223372036854775807", "PADDING must be at most 2147483647"),
      ("linear:2000000000", "the parameters up to here, with their gradients and optimizer state, need 296000000000 values (1.2 TB), more than this machine's"),
      ("conv:8:3:1:2147483647", "its output per sample, [8, 4294967298, 4294967298], holds more values than a 64-bit integer counts"),
    ]
    for (architecture, message) in cases {
      let result = try CommandRunner.run([
        "train", "--dataset", dataset, "--arch", architecture, "--out", directory.path("m.safetensors"),
      ])
      TrainCommandTests.expectOneLineError(result, containing: message)
    }
    for arguments in [["--shape", "100000000000x4"], ["--training-steps", "--model", "mlp", "--batch", "100000000000"]] {
      let result = try CommandRunner.run(["bench"] + arguments)
      #expect(result.status != 0)
      #expect(result.standardError.contains("more than this machine's"), "\(result.standardError)")
    }
    #expect(try directory.contents() == [])
  }

  @Test func aCheckpointWithHugeSizesOrNaNWeightsIsRefused() throws {
    let directory = try TemporaryDirectory()
    let empty = SafeTensors(tensors: [:], metadata: ["architecture": "linear:10", "sample_shape": "[4611686018427387904,4]"])
    try empty.write(to: URL(fileURLWithPath: directory.path("huge.safetensors")))
    TrainCommandTests.expectOneLineError(
      try CommandRunner.run(["eval", "--model", directory.path("huge.safetensors")]), containing: "samples of shape")

    let weights = SafeTensors(
      tensors: [
        "0.weight": StoredArray(shape: [10, 36], float32: [Float](repeating: 0.1, count: 359) + [.nan]),
        "0.bias": StoredArray(shape: [10], float32: [Float](repeating: 0, count: 10)),
      ], metadata: ["architecture": "linear:10", "sample_shape": "[36]"])
    try weights.write(to: URL(fileURLWithPath: directory.path("nan.safetensors")))
    TrainCommandTests.expectOneLineError(
      try CommandRunner.run(["eval", "--model", directory.path("nan.safetensors")]),
      containing: "tensor '0.weight' holds nan at index 359 of 360")
  }

  @Test func negativeCountsSayWhatIsWrong() throws {
    let data = try TemporaryDirectory()
    let dataset = try TrainCommandTests.writeDataset(in: data)
    let result = try CommandRunner.run([
      "train", "--dataset", dataset, "--arch", "linear:10", "--epochs", "-1", "--out", "/tmp/never.safetensors",
    ])
    #expect(result.status != 0)
    #expect(result.standardError.contains("--epochs must be at least 1, got -1"), "\(result.standardError)")
  }

  @Test func anEmptyTestSetOrTooFewOutputsIsRefusedBeforeTraining() throws {
    let data = try TemporaryDirectory()
    let dataset = try TrainCommandTests.writeDataset(in: data)
    let empty = try TemporaryDirectory()
    let emptyDataset = try TrainCommandTests.writeDataset(in: empty, testCount: 0)
    let directory = try TemporaryDirectory()
    let model = directory.path("m.safetensors")
    TrainCommandTests.expectOneLineError(
      try CommandRunner.run(["train", "--dataset", emptyDataset, "--arch", "linear:10", "--out", model]),
      containing: "holds no images: nothing to evaluate on")
    TrainCommandTests.expectOneLineError(
      try CommandRunner.run(["train", "--dataset", dataset, "--arch", "linear:4", "--out", model]),
      containing: "the network gives [4] outputs per sample but the data set has 10 classes: end with linear:10")
    #expect(try directory.contents() == [])
    let trained = try CommandRunner.run(["train", "--dataset", dataset, "--arch", "linear:10", "--epochs", "1", "--out", model])
    #expect(trained.status == 0)
    TrainCommandTests.expectOneLineError(
      try CommandRunner.run(["eval", "--model", model, "--dataset", emptyDataset]), containing: "holds no images")
  }

  @Test func aLabReportPlaceThatCannotBeWrittenIsSaidFirst() throws {
    let directory = try TemporaryDirectory()
    try Data("a file".utf8).write(to: URL(fileURLWithPath: directory.path("file")))
    for (out, message) in [
      (directory.path("file"), "is a file; the report needs a directory"),
      (directory.path("file/report"), "cannot create the report directory \(directory.path("file/report")): Not a directory"),
    ] {
      let result = try CommandRunner.run(["lab", "bessel", "--quick", "--out", out])
      TrainCommandTests.expectOneLineError(result, containing: "--out \(out): \(message)")
      #expect(result.standardOutput.isEmpty, "no experiment ran: \(result.standardOutput)")
    }
  }
}
