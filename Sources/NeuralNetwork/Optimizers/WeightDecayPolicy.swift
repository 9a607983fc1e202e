/// Which parameters weight decay applies to.
///
/// A common refinement (Goyal et al. 2017, "no bias decay") leaves out the biases and
/// batch normalization's scale γ and shift β: decaying γ only fights the
/// normalization, and neither they nor biases cause overfitting the way weights do.
public enum WeightDecayPolicy: Hashable, Sendable {
  /// Every parameter decays (PyTorch's default).
  case allParameters
  /// Only weights decay: biases and normalization layers' γ and β are left out (see
  /// ``Layer/parameterRoles``).
  case excludingBiasesAndNormalization

  /// For each flat parameter index of `layer` (the order of
  /// ``Layer/updateParameters(_:)``), whether it decays.
  public func decays<Scalar: NetworkScalar>(_ layer: any Layer<Scalar>) -> [Bool] {
    switch self {
    case .allParameters: layer.parameterRoles.map { _ in true }
    case .excludingBiasesAndNormalization: layer.parameterRoles.map { $0 == .weight }
    }
  }
}
