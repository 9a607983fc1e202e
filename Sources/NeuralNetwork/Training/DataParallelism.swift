import BatchNormalization

/// How a ``Trainer`` shares each batch among the processes of a group (data-parallel
/// training, as PyTorch's DistributedDataParallel):
///
/// - every process holds the same network and draws the same shuffle from the same
///   seed, so all agree on each global batch;
/// - process r takes a contiguous shard of it (``shard(ofBatch:)``: sizes differ by at
///   most one; a batch smaller than the group leaves processes empty);
/// - each process's loss is averaged over the *global* batch, so the gradients, summed
///   over the processes in Double (one all-reduce per step over every parameter, the same
///   bits on every process), are the whole batch's, and every process takes the same
///   optimizer step;
/// - with ``synchronizesBatchNormalization`` every batch-normalization layer normalizes
///   with the whole batch's statistics (synchronized BN), which makes the run equal to one
///   process on the whole batch; without it each process normalizes its shard alone
///   (DistributedDataParallel without SyncBatchNorm), and after each step every process
///   takes rank 0's running statistics (as DistributedDataParallel broadcasts its
///   buffers), so all processes still hold one network.
public struct DataParallelism: Sendable {
  /// The processes that share each batch.
  public var group: any BatchNormProcessGroup
  /// Whether batch normalization takes the whole batch's statistics (synchronized) or
  /// each shard's own.
  public var synchronizesBatchNormalization: Bool

  /// The processes of `group` share each batch; `synchronizesBatchNormalization` normalizes with the whole batch's statistics.
  public init(group: any BatchNormProcessGroup, synchronizesBatchNormalization: Bool) {
    self.group = group
    self.synchronizesBatchNormalization = synchronizesBatchNormalization
  }

  /// This process's part of a batch of `count` samples: positions
  /// `r·⌊n/P⌋ + min(r, n mod P)` onward, ⌊n/P⌋ of them plus one for the first n mod P ranks.
  public func shard(ofBatch count: Int) -> Range<Int> {
    let base = count / group.size, extra = count % group.size
    let start = group.rank * base + min(group.rank, extra)
    return start..<start + base + (group.rank < extra ? 1 : 0)
  }
}

extension Sequential {
  /// Replaces every gradient with its sum over the processes of `group`, in one
  /// all-reduce in Double (`BatchNormProcessGroup.allReduceSum(_:)`: every process gets
  /// the same bits), and returns the sums of `extras` carried in the same message (a
  /// step's loss and correct count). With `takingRankZeroBuffers`, every buffer (the
  /// running statistics) is replaced by rank 0's, carried in the same all-reduce: the
  /// other ranks send zeros, and x + 0 is x exactly (DistributedDataParallel broadcasts
  /// its buffers the same way).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func sumGradients(
    over group: any BatchNormProcessGroup, takingRankZeroBuffers: Bool = false, alongWith extras: [Double] = []
  ) throws -> [Double] {
    let buffers = takingRankZeroBuffers ? self.buffers : []
    let gradients = self.gradients
    // The other ranks send zeros for the buffers: rank 0's arrive unchanged.
    let sent = group.rank == 0 ? buffers : buffers.map { Tensor(zeros: $0.shape) }
    let total = try group.allReduceSum(widened(gradients + sent, then: extras))
    var offset = 0
    updateGradients { _, gradient in
      narrow(total, from: offset, into: &gradient.scalars)
      offset += gradient.scalars.count
    }
    if !buffers.isEmpty {
      try loadBuffers(
        buffers.map { buffer in
          var loaded = buffer
          narrow(total, from: offset, into: &loaded.scalars)
          offset += buffer.scalars.count
          return loaded
        })
    }
    return Array(total[offset...])
  }
}
