import BatchNormalization

/// One experiment of the lab: it measures one of the article's claims and reports
/// the numbers, the figures and a verdict.
public protocol Experiment: Sendable {
  /// The command-line name (`bn lab NAME`).
  var name: String { get }
  /// Whether it trains networks on ``LabContext/data`` (true unless it says otherwise).
  var needsData: Bool { get }
  /// Runs the experiment with `context`'s budget, seed and data, and reports.
  func run(_ context: LabContext) throws -> ExperimentReport
}

extension Experiment {
  public var needsData: Bool { true }
}

/// An experiment part of which runs on several processes: its `run` asks
/// ``LabContext/distributedRunner`` to start ``processes`` of them (under `mpirun`), each
/// of which calls ``worker(group:context:)`` with the job's process group; the runner
/// returns rank 0's table.
public protocol DistributedExperiment: Experiment {
  /// How many processes the distributed part runs on.
  var processes: Int { get }
  /// One process's part; every process of `group` calls it with the same context.
  func worker(group: any BatchNormProcessGroup, context: LabContext) throws -> DataTable
}

/// Starts `processes` processes that each run the named experiment's
/// ``DistributedExperiment/worker(group:context:)`` with this run's budget, seed and
/// data, and returns rank 0's table.
public typealias DistributedRunner = @Sendable (_ processes: Int, _ experiment: String) throws -> DataTable

/// What every experiment gets: the budget, the seed, progress output.
public struct LabContext: Sendable {
  /// How long to run: quick (a smoke run), standard or full.
  public let budget: LabBudget
  /// The base seed; experiments derive their seeds from it, so the same seed gives the
  /// same CSV files.
  public let seed: UInt64
  /// The images networks train on; `nil` when no selected experiment needs them.
  public let data: LabData?
  /// Prints a progress line.
  public let progress: @Sendable (String) -> Void
  /// Starts the processes of a ``DistributedExperiment``; nil where none can be started.
  public let distributedRunner: DistributedRunner?

  /// A context; `progress` receives one line at a time.
  public init(
    budget: LabBudget, seed: UInt64, data: LabData? = nil, distributedRunner: DistributedRunner? = nil,
    progress: @escaping @Sendable (String) -> Void
  ) {
    self.budget = budget
    self.seed = seed
    self.data = data
    self.distributedRunner = distributedRunner
    self.progress = progress
  }

  /// ``data``, or an error saying that this experiment needs it.
  public func requireData(for experiment: String) throws -> LabData {
    guard let data else { throw LabError.missingData(experiment: experiment) }
    return data
  }
}
