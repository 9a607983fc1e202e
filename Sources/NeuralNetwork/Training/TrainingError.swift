/// Why training stopped.
public enum TrainingError: Error, Hashable, Sendable, CustomStringConvertible {
  /// A batch's loss was NaN or infinite (usually a learning rate that is too high). The
  /// step was not applied: the network keeps the parameters it had.
  case nonFiniteLoss(epoch: Int, step: Int, loss: Double)
  /// A gradient held NaN or ∞ although the loss was finite; the step was not applied.
  case nonFiniteGradient(epoch: Int, step: Int, parameter: String)
  /// The data give no batch: no samples, or fewer than one batch with ``LastBatchPolicy/drop``.
  case noBatches(sampleCount: Int, batchSize: Int)
  /// Data-parallel processes that should hold the same network do not: these ranks'
  /// parameters or running statistics differ from rank 0's.
  case replicasDiverged(ranks: [Int])
  /// A stop was asked for (``Trainer/fit(_:epochs:test:classCount:checkpoint:afterEpoch:onMetrics:stopWhen:notes:)``'s
  /// `stopWhen`, Ctrl-C in `bn train`); training stopped after a whole step, `stepCount`
  /// steps and `epochCount` whole epochs in.
  case interrupted(epochCount: Int, stepCount: Int)
  /// A saved training state does not fit this run: the reason.
  case cannotResume(String)

  public var description: String {
    switch self {
    case .nonFiniteLoss(let epoch, let step, let loss):
      return "the loss became \(loss) at epoch \(epoch + 1), step \(step + 1); try a smaller learning rate"
    case .nonFiniteGradient(let epoch, let step, let parameter):
      return "the gradient of \(parameter) became non-finite at epoch \(epoch + 1), step \(step + 1); try a smaller learning rate"
    case .noBatches(let sampleCount, let batchSize):
      return "\(sampleCount) samples give no batch of \(batchSize)"
    case .replicasDiverged(let ranks):
      let names = ranks.map { "rank \($0)" }.joined(separator: ", ")
      return "the network of \(names) differs from rank 0's (parameters and running statistics must be identical on every process)"
    case .interrupted(let epochCount, let stepCount):
      return "interrupted after step \(stepCount) (\(epochCount) whole epoch\(epochCount == 1 ? "" : "s"))"
    case .cannotResume(let reason):
      return "cannot resume: \(reason)"
    }
  }
}
