/// How much compute an experiment may spend: `quick` is a smoke run that CI can afford
/// (about a minute for all experiments), `standard` is the default report (all of them
/// within 15 minutes on 2 cores), `full` is the papers' lengths.
public enum LabBudget: String, Sendable, CaseIterable {
  /// A smoke run: about a minute for all experiments; its numbers mean little.
  case quick
  /// The default report: a few minutes for all experiments on 2 cores.
  case standard
  /// The papers' lengths: much longer.
  case full

  /// `quick`, `standard` or `full` of the three values.
  public func choose<Value>(quick: Value, standard: Value, full: Value) -> Value {
    switch self {
    case .quick: return quick
    case .standard: return standard
    case .full: return full
    }
  }
}
