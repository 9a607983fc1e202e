import ArgumentParser
import BatchNormalization
import ComputeRuntime
import Foundation
import Lab

/// `bn lab`: runs the experiments and writes the report.
struct LabCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "lab",
    abstract: "Reproduce the article's claims on real data: plots, CSV files and an HTML report.",
    discussion: """
      Experiments: \(LabCatalog.names.joined(separator: ", ")), or all.
      Each prints its progress and ends in the report (report/index.html by default) \
      with its figures, the raw numbers as CSV, and a verdict with the numbers behind it.
      --quick is a smoke run (seconds; its numbers mean little), the default takes about \
      8 minutes for all on 2 cores, --full runs the papers' lengths (much longer).
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

  @Option(help: .init(stringLiteral: "The images: " + DatasetArgument.help))
  var dataset: String = "fashion-mnist"

  @Option(help: "Binarize pixels at this threshold (0…1), as the paper did for MNIST.")
  var binarize: Float?

  @Option(help: "Where to write the report.")
  var out: String = "report"

  @Option(help: "Threads (default: all processors).")
  var threads: Int?

  func run() throws {
    guard !(quick && full) else { throw CommandError("give either --quick or --full, not both") }
    let selected = try LabCatalog.experiments(named: experiments)
    if let threads {
      guard threads >= 1 else { throw CommandError("--threads must be at least 1, got \(threads)") }
      ComputeThreads.count = threads
    }
    let budget: LabBudget = quick ? .quick : full ? .full : .standard
    if let binarize, !(0...1).contains(binarize) { throw CommandError("--binarize must be in 0…1, got \(binarize)") }
    var data: LabData?
    if selected.contains(where: { $0.needsData }) {
      data = try LabData(dataset: DatasetArgument.load(dataset), source: dataset, binarizeAt: binarize)
    } else if let dataset = try? DatasetArgument.load(dataset) {
      // Experiments that only use data when they have it (bessel's network half).
      data = try LabData(dataset: dataset, source: self.dataset, binarizeAt: binarize)
    }
    let context = LabContext(budget: budget, seed: seed, data: data) { line in
      FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
    var reports: [ExperimentReport] = []
    for experiment in selected {
      context.progress("== \(experiment.name)")
      let report = try experiment.run(context)
      context.progress("\(experiment.name): \(report.verdict.rawValue) (\(String(format: "%.1f", report.wallSeconds)) s)")
      reports.append(report)
    }
    let index = try ReportWriter.write(reports, budget: budget, seed: seed, to: URL(fileURLWithPath: out))
    print("report: \(index.path)")
  }
}
