/// Every experiment of the lab, in report order.
public enum LabCatalog {
  /// Every experiment, in report order.
  public static let all: [any Experiment] = [
    ConvergenceExperiment(), SaturationExperiment(), LearningRateExperiment(), BesselExperiment(),
    RegularizationExperiment(), SmallBatchExperiment(), AffineExperiment(), SyncBatchNormExperiment(),
    CovariateShiftExperiment(), NoisyBatchNormExperiment(), SmoothnessExperiment(),
  ]

  /// Their command-line names, in report order.
  public static var names: [String] { all.map(\.name) }

  /// The experiments named, or all of them for "all".
  /// - Throws: ``LabError/unknownExperiment(_:known:)`` naming the unknown name.
  public static func experiments(named names: [String]) throws -> [any Experiment] {
    if names.isEmpty || names.contains("all") { return all }
    return try names.map { name in
      guard let experiment = all.first(where: { $0.name == name }) else {
        throw LabError.unknownExperiment(name, known: self.names)
      }
      return experiment
    }
  }
}

/// Why the lab could not run.
public enum LabError: Error, CustomStringConvertible {
  /// No experiment has this name; the names that exist.
  case unknownExperiment(String, known: [String])
  /// The experiment trains on data, and none was given.
  case missingData(experiment: String)
  /// The experiment needs several processes, and no runner was given to start them.
  case needsProcesses(experiment: String)
  /// A worker process of a distributed experiment failed; why.
  case workerFailed(experiment: String, reason: String)

  public var description: String {
    switch self {
    case .unknownExperiment(let name, let known):
      return "unknown experiment '\(name)'; expected one of \(known.joined(separator: ", ")), or all"
    case .missingData(let experiment):
      return "the \(experiment) experiment trains networks but no data set was loaded"
    case .needsProcesses(let experiment):
      return "the \(experiment) experiment runs several processes, but nothing here can start them"
    case .workerFailed(let experiment, let reason):
      return "the processes of the \(experiment) experiment failed: \(reason)"
    }
  }
}
