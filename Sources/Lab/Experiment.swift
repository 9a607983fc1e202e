/// One experiment of the lab: it measures one of the article's claims and reports
/// the numbers, the figures and a verdict.
public protocol Experiment: Sendable {
  /// The command-line name (`bn lab NAME`).
  var name: String { get }
  func run(_ context: LabContext) throws -> ExperimentReport
}

/// What every experiment gets: the budget, the seed, progress output.
public struct LabContext: Sendable {
  public let budget: LabBudget
  /// The base seed; experiments derive their seeds from it, so the same seed gives the
  /// same CSV files.
  public let seed: UInt64
  /// Prints a progress line.
  public let progress: @Sendable (String) -> Void

  public init(budget: LabBudget, seed: UInt64, progress: @escaping @Sendable (String) -> Void) {
    self.budget = budget
    self.seed = seed
    self.progress = progress
  }
}
