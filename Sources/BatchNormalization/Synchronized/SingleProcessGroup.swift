/// A group of one process: synchronized calls exchange nothing and give what the
/// unsynchronized ones give. What a data-parallel program runs as outside an MPI launcher.
public final class SingleProcessGroup: BatchNormProcessGroup {
  public let rank = 0
  public let size = 1

  /// The group of this process alone.
  public init() {}

  public func allGather(_ values: [Double]) throws -> [[Double]] { [values] }
}
