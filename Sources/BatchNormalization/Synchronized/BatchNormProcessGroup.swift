/// The communication that synchronized batch normalization needs from a group of
/// processes, each holding a shard of one batch: an all-gather of a few numbers per
/// channel. The core defines it and does not implement it, so it needs no MPI; the
/// `Distributed` module implements it over Open MPI, and a test can implement it with
/// threads.
///
/// Like any collective, every rank must make the same calls in the same order:
/// synchronized forward and backward calls of the same layers, in the same modes.
public protocol BatchNormProcessGroup: AnyObject, Sendable {
  /// This process's place in the group, `0..<size`.
  var rank: Int { get }
  /// The number of processes in the group.
  var size: Int { get }
  /// Every rank's `values`, in rank order (element `r` is what rank `r` passed).
  ///
  /// Every rank passes the same number of values; where they do not, an implementation
  /// must throw on every rank rather than hang or return a wrong result.
  func allGather(_ values: [Double]) throws -> [[Double]]
  /// The element-wise sum of every rank's `values` (data-parallel gradients). Every rank
  /// must get the same bits. By default an all-gather added in rank order in Double;
  /// a transport may use its own reduction where it gives every rank the same result.
  func allReduceSum(_ values: [Double]) throws -> [Double]
}

extension BatchNormProcessGroup {
  /// The element-wise sum of every rank's `values`, added in rank order in Double, so
  /// every rank gets the same bits whatever the transport. It moves P times the values
  /// to every rank: fine for small messages, the wrong tool for large ones.
  public func allReduceSum(_ values: [Double]) throws -> [Double] {
    let gathered = try allGather(values)
    var total = gathered[0]
    for contribution in gathered.dropFirst() {
      for index in total.indices { total[index] += contribution[index] }
    }
    return total
  }
}
