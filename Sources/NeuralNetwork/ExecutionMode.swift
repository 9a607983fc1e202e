/// What a forward pass is for; a network passes it to every layer.
public enum ExecutionMode: String, Sendable, Hashable, CaseIterable {
  /// Batch statistics in batch normalization (which updates its running statistics),
  /// dropout on, and every layer keeps what its backward call needs.
  case training
  /// Running statistics in batch normalization, dropout off; nothing is kept for
  /// backward (and what the last training pass kept is released).
  case inference
  /// As ``inference``, except that batch-normalization layers normalize with batch
  /// statistics and average them exactly into their running statistics
  /// (`BatchNormMode.recalibration`, the paper's Algorithm 2). Call
  /// ``Layer/beginRecalibration()`` before the first batch of a pass.
  case recalibration
}
