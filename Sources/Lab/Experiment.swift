/// One experiment of the lab: it measures one of the article's claims and reports
/// the numbers, the figures and a verdict.
public protocol Experiment: Sendable {
  /// The command-line name (`bn lab NAME`).
  var name: String { get }
  /// Whether it trains networks on ``LabContext/data`` (true unless it says otherwise).
  var needsData: Bool { get }
  func run(_ context: LabContext) throws -> ExperimentReport
}

extension Experiment {
  public var needsData: Bool { true }
}

/// What every experiment gets: the budget, the seed, progress output.
public struct LabContext: Sendable {
  public let budget: LabBudget
  /// The base seed; experiments derive their seeds from it, so the same seed gives the
  /// same CSV files.
  public let seed: UInt64
  /// The images networks train on; `nil` when no selected experiment needs them.
  public let data: LabData?
  /// Prints a progress line.
  public let progress: @Sendable (String) -> Void

  public init(budget: LabBudget, seed: UInt64, data: LabData? = nil, progress: @escaping @Sendable (String) -> Void) {
    self.budget = budget
    self.seed = seed
    self.data = data
    self.progress = progress
  }

  /// ``data``, or an error saying that this experiment needs it.
  public func requireData(for experiment: String) throws -> LabData {
    guard let data else { throw LabError.missingData(experiment: experiment) }
    return data
  }
}
