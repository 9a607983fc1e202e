import Foundation
import NeuralNetwork
import Testing

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `bn train --resume`: a run killed (SIGKILL) after its first checkpoint, or stopped
/// with Ctrl-C (SIGINT) or SIGTERM in the middle of an epoch, and resumed, ends with the
/// same model file, byte for byte, as the run that never stopped.
@Suite struct ResumeCommandTests {
  /// Dropout, momentum and a cosine schedule: every piece of state a resumed run needs.
  static func arguments(dataset: String, out: String) -> [String] {
    [
      "train", "--dataset", dataset, "--arch", "linear:16,bn,relu,dropout:0.2,linear:10", "--epochs", "30",
      "--batch-size", "20", "--optimizer", "sgd", "--lr", "0.05", "--schedule", "cosine", "--threads", "1",
      "--out", out,
    ]
  }

  /// Starts `bn` with `arguments`, waits until `file` exists, sends `signal`, and
  /// returns how it ended and what it printed.
  /// With `toChildren`, the signal goes to `program`'s children instead (the ranks of an
  /// mpirun job: the test runner starts its processes with most signals blocked, and
  /// mpirun, unlike bn, never unblocks them, so it could not forward one).
  static func runAndSignal(
    _ arguments: [String], once file: String, signal: Int32, program: URL = CommandRunner.executable,
    toChildren: Bool = false
  ) throws -> (Process, String) {
    let process = Process()
    process.executableURL = program
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let deadline = Date().addingTimeInterval(60)
    while !FileManager.default.fileExists(atPath: file) && process.isRunning && Date() < deadline { usleep(200) }
    if toChildren {
      let pkill = Process()
      pkill.executableURL = URL(fileURLWithPath: "/usr/bin/pkill")
      pkill.arguments = ["-\(signal)", "-P", "\(process.processIdentifier)"]
      try pkill.run()
      pkill.waitUntilExit()
    } else {
      kill(process.processIdentifier, signal)
    }
    let printed = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process, String(decoding: printed, as: UTF8.self))
  }

  /// The uninterrupted run's model.
  static func straightRun(dataset: String, in directory: TemporaryDirectory) throws -> Data {
    let result = try CommandRunner.run(arguments(dataset: dataset, out: directory.path("straight.safetensors")))
    #expect(result.status == 0, "\(result.standardError)")
    return try Data(contentsOf: URL(fileURLWithPath: directory.path("straight.safetensors")))
  }

  @Test func killedAfterTheFirstCheckpointAndResumedIsTheSameRun() throws {
    let data = try TemporaryDirectory()
    let dataset = try TrainCommandTests.writeDataset(in: data)
    let directory = try TemporaryDirectory()
    let straight = try Self.straightRun(dataset: dataset, in: directory)

    let model = directory.path("model.safetensors")
    let (killed, _) = try Self.runAndSignal(
      Self.arguments(dataset: dataset, out: model), once: directory.path("model.resume.safetensors"), signal: SIGKILL)
    #expect(killed.terminationReason == .uncaughtSignal && killed.terminationStatus == SIGKILL)
    let saved = try TrainingCheckpoint<Float>(contentsOf: URL(fileURLWithPath: directory.path("model.resume.safetensors")))
    #expect(saved.trainer.epochCount >= 1 && saved.trainer.epochCount < 30, "killed after epoch \(saved.trainer.epochCount)")

    let resumed = try CommandRunner.run(Self.arguments(dataset: dataset, out: model) + ["--resume", model])
    #expect(resumed.status == 0, "\(resumed.standardError)")
    #expect(resumed.standardOutput.contains("resuming from \(directory.path("model.resume.safetensors")) after step"))
    #expect(try Data(contentsOf: URL(fileURLWithPath: model)) == straight)
    // No temporary file of an interrupted write is left.
    #expect(try directory.contents().filter { $0.hasPrefix(".") } == [])
  }

  @Test(arguments: [SIGINT, SIGTERM])
  func stoppedBySignalWritesWhereItStoppedAndResumes(signal: Int32) throws {
    let data = try TemporaryDirectory()
    let dataset = try TrainCommandTests.writeDataset(in: data, trainCount: 2000)
    let directory = try TemporaryDirectory()
    let model = directory.path("model.safetensors")
    // The signal comes once the first epoch's files exist: in the middle of a later epoch.
    let (stopped, printed) = try Self.runAndSignal(
      Self.arguments(dataset: dataset, out: model), once: directory.path("model.svg"), signal: signal)
    #expect(stopped.terminationReason == .exit && stopped.terminationStatus == 128 + signal, "\(printed)")
    let name = signal == SIGINT ? "SIGINT" : "SIGTERM"
    #expect(printed.contains("stopped by \(name) after step "), "\(printed)")
    #expect(printed.contains("to continue, run the same command with --resume \(model)"))
    let saved = try TrainingCheckpoint<Float>(contentsOf: URL(fileURLWithPath: directory.path("model.resume.safetensors")))
    // The model file is where it stopped, and it is the one in the training state.
    let stoppedModel = try Checkpoint<Float>(contentsOf: URL(fileURLWithPath: model)).model
    #expect(stoppedModel.parameters == saved.checkpoint.model.parameters)

    let resumed = try CommandRunner.run(Self.arguments(dataset: dataset, out: model) + ["--resume", model])
    #expect(resumed.status == 0, "\(resumed.standardError)")
    let straight = try CommandRunner.run(Self.arguments(dataset: dataset, out: directory.path("straight.safetensors")))
    #expect(straight.status == 0)
    #expect(try Data(contentsOf: URL(fileURLWithPath: model)) == Data(contentsOf: URL(fileURLWithPath: directory.path("straight.safetensors"))))
  }

  /// Under mpirun, SIGUSR1 (which mpirun forwards to every process) stops every rank at the
  /// same step; the resumed data-parallel run ends with the same bytes.
  @Test func anMPIJobStoppedWithSIGUSR1Resumes() throws {
    let data = try TemporaryDirectory()
    let dataset = try TrainCommandTests.writeDataset(in: data, trainCount: 2000)
    let directory = try TemporaryDirectory()
    func job(_ out: String) -> [String] {
      MPITrainingTests.launcher + ["-np", "2", CommandRunner.executable.path]
        + Self.arguments(dataset: dataset, out: out) + ["--sync-bn"]
    }
    let straight = try CommandRunner.run(MPITrainingTests.mpirun, job(directory.path("straight.safetensors")))
    #expect(straight.status == 0, "\(straight.standardError)")
    let model = directory.path("model.safetensors")
    let (stopped, printed) = try Self.runAndSignal(
      job(model), once: directory.path("model.svg"), signal: SIGUSR1, program: MPITrainingTests.mpirun, toChildren: true)
    #expect(stopped.terminationStatus != 0)
    #expect(printed.contains("stopped by SIGUSR1 after step "), "\(printed)")
    let resumed = try CommandRunner.run(MPITrainingTests.mpirun, job(model) + ["--resume", model])
    #expect(resumed.status == 0, "\(resumed.standardError)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: model)) == Data(contentsOf: URL(fileURLWithPath: directory.path("straight.safetensors"))))
  }

  @Test func resumingWithOtherSettingsIsRefused() throws {
    let data = try TemporaryDirectory()
    let dataset = try TrainCommandTests.writeDataset(in: data)
    let directory = try TemporaryDirectory()
    let model = directory.path("model.safetensors")
    var arguments = Self.arguments(dataset: dataset, out: model)
    arguments[arguments.firstIndex(of: "30")!] = "2"
    #expect(try CommandRunner.run(arguments).status == 0)
    let before = try Data(contentsOf: URL(fileURLWithPath: model))

    var otherRate = arguments
    otherRate[otherRate.firstIndex(of: "0.05")!] = "0.1"
    TrainCommandTests.expectOneLineError(
      try CommandRunner.run(otherRate + ["--resume", model]),
      containing: "this run has --lr 0.1, but \(directory.path("model.resume.safetensors")) was saved by a run with --lr 0.05")
    // The cosine schedule depends on --epochs: it must stay, and 2 of 2 are done.
    TrainCommandTests.expectOneLineError(try CommandRunner.run(arguments + ["--resume", model]), containing: "nothing is left to train")
    var longer = arguments
    longer[longer.firstIndex(of: "2")!] = "4"
    TrainCommandTests.expectOneLineError(
      try CommandRunner.run(longer + ["--resume", model]), containing: "this run has --epochs 4, but")
    TrainCommandTests.expectOneLineError(
      try CommandRunner.run(arguments + ["--resume", directory.path("other.safetensors")]),
      containing: "there is no \(directory.path("other.resume.safetensors")) beside it")
    #expect(try Data(contentsOf: URL(fileURLWithPath: model)) == before)
  }

  @Test func theCurveCannotReplaceTheModel() throws {
    let data = try TemporaryDirectory()
    let dataset = try TrainCommandTests.writeDataset(in: data)
    let directory = try TemporaryDirectory()
    let result = try CommandRunner.run(Self.arguments(dataset: dataset, out: directory.path("m.svg")))
    TrainCommandTests.expectOneLineError(result, containing: "--out \(directory.path("m.svg")): name the model MODEL.safetensors")
    #expect(try directory.contents() == [])
  }
}
