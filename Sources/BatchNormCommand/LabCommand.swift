import ArgumentParser
import BatchNormalization
import ComputeRuntime
import FileFormats
import Foundation
import Lab

/// `bn lab`: runs the experiments and writes the report.
struct LabCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "lab",
    abstract: "Reproduce the article's claims on real data: plots, CSV files and an HTML report.",
    discussion: """
      Experiments: \(LabCatalog.names.joined(separator: ", ")), or all. sync-bn starts \
      4 processes with Open MPI's mpirun itself (run bn lab without mpirun).
      Each prints its progress and ends in the report (report/index.html by default) \
      with its figures, the raw numbers as CSV, and a verdict with the numbers behind it.
      --quick is a smoke run (seconds; its numbers mean little), the default takes about \
      4½ minutes for all on 2 cores, --full runs the papers' lengths (much longer).
      """
  )

  @Argument(help: "Experiments to run: \(LabCatalog.names.joined(separator: ", ")), or all.")
  var experiments: [String] = ["all"]

  @Flag(help: "Smoke-run budget (seconds for all experiments; its numbers mean little).")
  var quick = false

  @Flag(help: "The papers' lengths (much longer).")
  var full = false

  @Option(help: "Base seed; the same seed reproduces the same CSV files.")
  var seed: UInt64 = 2015

  @OptionGroup var data: DatasetOptions

  @Option(help: "Where to write the report.")
  var out: String = "report"

  @OptionGroup var computing: ThreadOptions

  @Option(help: .hidden)
  var worker: String?

  func run() throws {
    guard !(quick && full) else { throw CommandError("give either --quick or --full, not both") }
    let selected = try LabCatalog.experiments(named: experiments)
    if let threads = computing.threads { ComputeThreads.count = threads }
    if let worker { return try runWorker(selected, writingTo: worker) }
    try CommandProcesses.refuseMPI("lab", reason: "starts the processes of its sync-bn experiment itself")
    var labData: LabData?
    if selected.contains(where: { $0.needsData }) {
      labData = try LabData(dataset: DatasetArgument.load(data.dataset), source: data.dataset, binarizeAt: data.binarize)
    } else if let images = try? DatasetArgument.load(data.dataset) {
      // Experiments that only use data when they have it (bessel's network half).
      labData = try LabData(dataset: images, source: data.dataset, binarizeAt: data.binarize)
    }
    let context = LabContext(budget: budget, seed: seed, data: labData, distributedRunner: distributedRunner) { line in
      FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
    do {
      try ReportWriter.prepare(URL(fileURLWithPath: out))
    } catch {
      throw CommandError("--out \(error)")
    }
    var reports: [ExperimentReport] = []
    for experiment in selected {
      context.progress("== \(experiment.name)")
      let report = try experiment.run(context)
      context.progress("\(experiment.name): \(report.verdict.rawValue) (\(String(format: "%.1f", report.wallSeconds)) s)")
      reports.append(report)
    }
    let index: URL
    do {
      index = try ReportWriter.write(reports, budget: budget, seed: seed, to: URL(fileURLWithPath: out))
    } catch {
      throw CommandError("--out \(error); the report was not written")
    }
    print("report: \(index.path)")
  }

  var budget: LabBudget { quick ? .quick : full ? .full : .standard }

  /// Starts `processes` copies of this program under Open MPI's `mpirun`, each running
  /// `bn lab EXPERIMENT --worker FILE` with this command's budget, seed and data, and
  /// reads back the table rank 0 wrote to FILE. Their progress lines pass through.
  var distributedRunner: DistributedRunner {
    let arguments =
      ["lab", "--seed", "\(seed)", "--dataset", data.dataset]
      + (quick ? ["--quick"] : full ? ["--full"] : []) + (data.binarize.map { ["--binarize", "\($0)"] } ?? [])
    return { processes, experiment in
      let mpirun = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) }
      guard let mpirun else {
        throw CommandError(
          "the \(experiment) experiment starts \(processes) processes with Open MPI's mpirun, which is not installed: "
            + "sudo apt-get install openmpi-bin libopenmpi-dev (or run scripts/ensure-dependencies)")
      }
      let table = FileManager.default.temporaryDirectory.appendingPathComponent("bn-lab-\(experiment)-\(UUID().uuidString).csv")
      defer { try? FileManager.default.removeItem(at: table) }
      let process = Process()
      process.executableURL = URL(fileURLWithPath: mpirun)
      // As root Open MPI wants --allow-run-as-root; --oversubscribe lets P exceed the cores.
      process.arguments =
        (getuid() == 0 ? ["--allow-run-as-root"] : []) + ["--oversubscribe", "-np", "\(processes)", Self.executablePath]
        + arguments + [experiment, "--worker", table.path]
      try process.run()
      process.waitUntilExit()
      guard process.terminationStatus == 0 else {
        throw CommandError("the \(processes) processes of the \(experiment) experiment failed (mpirun exited with \(process.terminationStatus))")
      }
      return try DataTable(name: "\(experiment.replacingOccurrences(of: "-", with: "_"))_runs", csv: String(contentsOf: table, encoding: .utf8))
    }
  }

  /// This program's own path, for the processes it starts.
  static var executablePath: String {
    let link = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
    return link ?? Bundle.main.executablePath ?? CommandLine.arguments[0]
  }

  /// One process's part of a distributed experiment (`--worker FILE`, started by
  /// ``distributedRunner``): rank 0 writes its table to FILE, atomically.
  func runWorker(_ selected: [any Experiment], writingTo path: String) throws {
    guard selected.count == 1, let experiment = selected[0] as? any DistributedExperiment else {
      throw CommandError("--worker runs one experiment that uses several processes")
    }
    let processes = try CommandProcesses.start(threads: computing.threads)
    let labData = try LabData(dataset: DatasetArgument.load(data.dataset), source: data.dataset, binarizeAt: data.binarize)
    let context = LabContext(budget: budget, seed: seed, data: labData) { line in processes.say(line) }
    let table = try experiment.worker(group: processes.group, context: context)
    if processes.isLeader { try AtomicFile.write(Data(table.csv.utf8), to: URL(fileURLWithPath: path)) }
    try processes.finish()
  }
}
