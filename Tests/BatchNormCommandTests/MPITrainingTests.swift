import Foundation
import NeuralNetwork
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// `bn train` under a real `mpirun` (Open MPI from Debian, which scripts/ensure-dependencies
/// installs): data-parallel training with synchronized batch normalization must give one
/// process's network on 2 and 3 processes with unequal shards, the same bits from run to
/// run; per-shard statistics must not; ranks that disagree must all stop with an error;
/// a rank killed mid-epoch must end the job and leave a checkpoint that loads.
@Suite(.serialized) struct MPITrainingTests {
  static let mpirun = URL(fileURLWithPath: "/usr/bin/mpirun")
  /// As root, Open MPI wants --allow-run-as-root; two cores need --oversubscribe for 3 ranks.
  static let launcher = ["--allow-run-as-root", "--oversubscribe"]
  static let paperMLP = "linear:100,bn,sigmoid,linear:100,bn,sigmoid,linear:100,bn,sigmoid,linear:10"
  static let smallCNN = "conv:32:3:1:1,bn,relu,maxpool:2,conv:64:3:1:1,bn,relu,maxpool:2,flatten,linear:10"

  /// 200 steps of batch 61 (1220 samples: 20 steps an epoch, 10 epochs), so that 2 and 3
  /// processes get shards of 31 + 30 and 21 + 20 + 20.
  static func trainArguments(_ architecture: String, dataset: String, out: String) -> [String] {
    [
      "train", "--dataset", dataset, "--arch", architecture, "--epochs", "10", "--batch-size", "61", "--lr", "0.1",
      "--out", out,
    ]
  }

  static func mpi(_ processes: Int, _ arguments: [String], seconds: Double = 600) throws -> CommandResult {
    try #require(FileManager.default.isExecutableFile(atPath: mpirun.path), "mpirun is missing: run scripts/ensure-dependencies")
    return try CommandRunner.run(
      mpirun, launcher + ["-np", "\(processes)", CommandRunner.executable.path] + arguments, seconds: seconds)
  }

  /// Parameters and buffers of a checkpoint, in order.
  static func state(_ path: String) throws -> [Tensor<Float>] {
    let model = try Checkpoint<Float>(contentsOf: URL(fileURLWithPath: path)).model
    return model.parameters + model.buffers
  }

  /// The largest |a − b| / max|b| over the tensors.
  static func relativeDifference(_ a: [Tensor<Float>], _ b: [Tensor<Float>]) -> Double {
    guard a.count == b.count else { return .infinity }
    return zip(a, b).map { x, y in
      let scale = y.scalars.map { abs(Double($0)) }.max() ?? 0
      let difference = zip(x.scalars, y.scalars).map { abs(Double($0) - Double($1)) }.max() ?? 0
      return x.scalars.count == y.scalars.count ? difference / max(scale, 1e-30) : .infinity
    }.max() ?? 0
  }

  @Test(arguments: [paperMLP, smallCNN])
  func synchronizedProcessesTrainTheOneProcessNetwork(architecture: String) throws {
    let data = try TemporaryDirectory()
    let dataset = try TrainCommandTests.writeDataset(in: data, trainCount: 1220, testCount: 100)
    let output = try TemporaryDirectory()
    let single = try CommandRunner.run(Self.trainArguments(architecture, dataset: dataset, out: output.path("one.safetensors")))
    #expect(single.status == 0, "\(single.standardError)")
    let reference = try Self.state(output.path("one.safetensors"))
    for processes in [2, 3] {
      let out = output.path("p\(processes).safetensors")
      let result = try Self.mpi(processes, Self.trainArguments(architecture, dataset: dataset, out: out) + ["--sync-bn"])
      #expect(result.status == 0, "\(result.standardError)")
      #expect(result.standardOutput.contains("\(processes) processes share each batch of 61; synchronized batch statistics"))
      // Rank 0 alone prints: one summary line, not one per process.
      #expect(result.standardOutput.components(separatedBy: "test accuracy: ").count == 2, "\(result.standardOutput)")
      let error = Self.relativeDifference(try Self.state(out), reference)
      #expect(error <= 1e-5, "\(processes) processes: parameters and running statistics differ from one process by \(error)")
      #expect(TrainCommandTests.accuracy(result.standardOutput) == TrainCommandTests.accuracy(single.standardOutput))
    }
    // The same bits from run to run.
    let again = output.path("again.safetensors")
    let rerun = try Self.mpi(3, Self.trainArguments(architecture, dataset: dataset, out: again) + ["--sync-bn"])
    #expect(rerun.status == 0, "\(rerun.standardError)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: again)) == Data(contentsOf: URL(fileURLWithPath: output.path("p3.safetensors"))))
  }

  @Test func evaluationSharedByProcessesCountsWhatOneProcessCounts() throws {
    let data = try TemporaryDirectory()
    let dataset = try TrainCommandTests.writeDataset(in: data, trainCount: 200, testCount: 101)
    let output = try TemporaryDirectory()
    let model = output.path("m.safetensors")
    // Outside mpirun, --sync-bn is a group of one: the plain run, bit for bit.
    let synchronized = try CommandRunner.run(
      ["train", "--dataset", dataset, "--arch", TrainCommandTests.mlp, "--epochs", "2", "--sync-bn", "--out", model])
    #expect(synchronized.status == 0, "\(synchronized.standardError)")
    let plain = try CommandRunner.run(
      ["train", "--dataset", dataset, "--arch", TrainCommandTests.mlp, "--epochs", "2", "--out", output.path("plain.safetensors")])
    #expect(plain.status == 0, "\(plain.standardError)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: model)) == Data(contentsOf: URL(fileURLWithPath: output.path("plain.safetensors"))))
    let single = try CommandRunner.run(["eval", "--model", model, "--dataset", dataset])
    #expect(single.status == 0, "\(single.standardError)")
    // 101 test images over 3 processes: shards of 34, 34 and 33.
    let shared = try Self.mpi(3, ["eval", "--model", model, "--dataset", dataset])
    #expect(shared.status == 0, "\(shared.standardError)")
    #expect(shared.standardOutput == single.standardOutput, "the same accuracy and confusion matrix, printed once")
  }

  @Test func perProcessStatisticsTrainADifferentNetwork() throws {
    let data = try TemporaryDirectory()
    let dataset = try TrainCommandTests.writeDataset(in: data, trainCount: 1220, testCount: 100)
    let output = try TemporaryDirectory()
    let arguments = ["--epochs", "2"]
    let single = try CommandRunner.run(Self.trainArguments(Self.paperMLP, dataset: dataset, out: output.path("one.safetensors")) + arguments)
    #expect(single.status == 0, "\(single.standardError)")
    let local = try Self.mpi(3, Self.trainArguments(Self.paperMLP, dataset: dataset, out: output.path("local.safetensors")) + arguments + ["--local-bn"])
    #expect(local.status == 0, "\(local.standardError)")
    #expect(local.standardOutput.contains("per-process batch statistics"))
    let error = Self.relativeDifference(try Self.state(output.path("local.safetensors")), try Self.state(output.path("one.safetensors")))
    #expect(error > 1e-3, "per-shard statistics should change the run; they moved it by \(error)")
  }

  @Test func processesThatDisagreeAllStop() throws {
    let data = try TemporaryDirectory()
    let dataset = try TrainCommandTests.writeDataset(in: data)
    let output = try TemporaryDirectory()
    // Two programs in one job (MPI's colon syntax): rank 1 has 12 channels where rank 0 has 16.
    let bn = CommandRunner.executable.path
    func rank(_ architecture: String) -> [String] {
      ["-np", "1", bn, "train", "--dataset", dataset, "--arch", architecture, "--sync-bn", "--out", output.path("m.safetensors")]
    }
    try #require(FileManager.default.isExecutableFile(atPath: Self.mpirun.path))
    let result = try CommandRunner.run(
      Self.mpirun, Self.launcher + rank("linear:16,bn,sigmoid,linear:10") + [":"] + rank("linear:12,bn,sigmoid,linear:10"),
      seconds: 120)
    #expect(result.status != 0 && result.status != SIGTERM, "the job must fail by itself, not hang: \(result.status)")
    // Both processes find the difference before training; rank 0 alone says so.
    let errors = result.standardError.split(separator: "\n").filter { $0.hasPrefix("Error: ") }
    #expect(errors.count == 1, "\(result.standardError)")
    #expect(errors.first?.contains("rank 1 was started with other --arch than rank 0 (rank 0: linear:16,bn,sigmoid,linear:10)") == true, "\(result.standardError)")
    #expect(try output.contents().isEmpty)
  }

  @Test func processesWithOtherEpochCountsStopBeforeTraining() throws {
    let data = try TemporaryDirectory()
    let dataset = try TrainCommandTests.writeDataset(in: data)
    let output = try TemporaryDirectory()
    let bn = CommandRunner.executable.path
    func rank(_ epochs: String) -> [String] {
      ["-np", "1", bn, "train", "--dataset", dataset, "--arch", TrainCommandTests.mlp, "--sync-bn", "--epochs", epochs,
       "--out", output.path("m.safetensors")]
    }
    try #require(FileManager.default.isExecutableFile(atPath: Self.mpirun.path))
    let result = try CommandRunner.run(Self.mpirun, Self.launcher + rank("1") + [":"] + rank("2"), seconds: 120)
    #expect(result.status != 0 && result.status != SIGTERM, "the job must fail by itself, not wait: \(result.status)")
    #expect(result.standardError.contains("rank 1 was started with other --epochs than rank 0 (rank 0: 1)"), "\(result.standardError)")
    #expect(try output.contents().isEmpty)
  }

  @Test func aKilledRankEndsTheJobAndTheCheckpointStillLoads() throws {
    let data = try TemporaryDirectory()
    let dataset = try TrainCommandTests.writeDataset(in: data, trainCount: 1220, testCount: 100)
    let output = try TemporaryDirectory()
    let model = output.path("model.safetensors")
    try #require(FileManager.default.isExecutableFile(atPath: Self.mpirun.path))
    let job = Process()
    job.executableURL = Self.mpirun
    job.arguments = Self.launcher + ["-np", "2", CommandRunner.executable.path] + Self.trainArguments(Self.paperMLP, dataset: dataset, out: model)
      + ["--epochs", "1000", "--sync-bn"]
    job.standardOutput = FileHandle.nullDevice
    job.standardError = FileHandle.nullDevice
    try job.run()
    defer {
      if job.isRunning { job.terminate() }
      job.waitUntilExit()  // reaps the job, and frees Foundation's bookkeeping of it
    }
    // Wait for the first checkpoint, then kill rank 1 in the middle of an epoch.
    let clock = ContinuousClock()
    let start = clock.now
    while !FileManager.default.fileExists(atPath: model) && clock.now - start < .seconds(120) { usleep(50_000) }
    try #require(FileManager.default.fileExists(atPath: model), "no checkpoint after 120 s")
    usleep(300_000)
    let rank1 = try #require(Self.process(withRank: 1, under: job.processIdentifier), "rank 1 not found")
    let killed = clock.now
    kill(rank1, SIGKILL)
    while job.isRunning && clock.now - killed < .seconds(30) { usleep(50_000) }
    #expect(!job.isRunning, "the job still runs 30 s after a rank was killed")
    if !job.isRunning { #expect(job.terminationStatus != 0) }
    let evaluation = try CommandRunner.run(["eval", "--model", model, "--dataset", dataset])
    #expect(evaluation.status == 0, "\(evaluation.standardError)")
    #expect(TrainCommandTests.accuracy(evaluation.standardOutput) != nil)
  }

  /// The process below `parent` whose environment says it is MPI rank `rank`.
  static func process(withRank rank: Int, under parent: Int32) -> Int32? {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    for entry in entries {
      guard let pid = Int32(entry),
        let environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ"),
        let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
        status.contains("\nPPid:\t\(parent)\n")
      else { continue }
      let variables = environment.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
      if variables.contains("OMPI_COMM_WORLD_RANK=\(rank)") { return pid }
    }
    return nil
  }
}

extension MPITrainingTests {
  /// `bn lab sync-bn` starts its 4 processes with mpirun itself and writes the report.
  /// (In this serialized suite, so that no two MPI jobs share the cores.)
  @Test func labQuickRunWritesTheReportAndSynchronizedMatchesOneProcess() throws {
    let data = try TemporaryDirectory()
    let dataset = try TrainCommandTests.writeDataset(in: data, trainCount: 600, testCount: 200)
    let output = try TemporaryDirectory()
    let result = try CommandRunner.run(["lab", "sync-bn", "--quick", "--dataset", dataset, "--out", output.url.path])
    #expect(result.status == 0, "\(result.standardError)")
    #expect(result.standardOutput.contains("starting 4 processes (mpirun)"))
    let files = try output.contents()
    #expect(files.contains("index.html") && files.contains("sync_bn_runs.csv") && files.contains("sync_bn_accuracy.svg"))
    let csv = try String(contentsOfFile: output.path("sync_bn_runs.csv"), encoding: .utf8)
    let rows = csv.split(separator: "\n").dropFirst().map { $0.split(separator: ",").map { Double($0)! } }
    // Columns: shard_size, mode, seed, steps, diverged, test_accuracy, …; one seed in the quick run.
    #expect(rows.count == 4 * 3)
    for m in [2.0, 4, 8, 16] {
      let accuracy = { (mode: Double) in rows.first { $0[0] == m && $0[1] == mode }?[5] }
      let synchronized = try #require(accuracy(1)), single = try #require(accuracy(2))
      #expect(abs(synchronized - single) <= 0.005, "m = \(m): synchronized \(synchronized), one process \(single)")
    }
  }
}
