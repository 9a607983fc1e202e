import BatchNormalization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The processes of an MPI job (Open MPI's world communicator) as a process group:
/// synchronized batch normalization and data-parallel training communicate through it.
///
/// ```swift
/// let group = try MPIProcessGroup.world()     // under `mpirun -np 4 …`: ranks 0…3
/// var layer = try BatchNorm<Float>(channels: 64)
/// let (y, context) = try layer.forward(x, shape: shard, mode: .training, into: y, synchronizedOver: group)
/// ```
///
/// Every exchange first gathers each rank's count, so ranks that pass different counts
/// all throw ``MessagePassingError/countMismatch(counts:)`` instead of corrupting memory
/// or waiting forever. Calls come from one thread (the one that made the group).
public final class MPIProcessGroup: BatchNormProcessGroup, @unchecked Sendable {
  public let rank: Int
  public let size: Int

  private init(rank: Int, size: Int) {
    self.rank = rank
    self.size = size
  }

  /// Whether this process was started by an MPI launcher (`mpirun`, `mpiexec`, `srun`),
  /// judged from the variables they set. Outside one, a program can run as a group of
  /// one without starting MPI at all.
  public static var isLaunchedByMPI: Bool {
    let launcherVariables = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"]
    return launcherVariables.contains { name in getenv(name) != nil }
  }

  /// The job's processes, starting MPI on first use.
  /// - Throws: ``MessagePassingError`` when MPI cannot start.
  public static func world() throws(MessagePassingError) -> MPIProcessGroup {
    try MPI.initialize()
    return MPIProcessGroup(rank: try MPI.rank(), size: try MPI.size())
  }

  public func allGather(_ values: [Double]) throws -> [[Double]] {
    try checkCounts(values.count)
    let gathered = try MPI.allGather(values, size: size)
    return (0..<size).map { rank in Array(gathered[rank * values.count..<(rank + 1) * values.count]) }
  }

  /// The element-wise sum over the ranks, by MPI_Allreduce: Open MPI's algorithms
  /// (recursive doubling, ring, Rabenseifner) give every rank the same bits, as IEEE
  /// addition is commutative, but the order of the additions is theirs, not rank order;
  /// data-parallel training checks every epoch that all ranks still hold the same network.
  /// Each rank receives the sum once instead of every rank's values: what makes the
  /// gradients of a large network affordable (benchmarks/RESULTS.md).
  public func allReduceSum(_ values: [Double]) throws -> [Double] {
    try checkCounts(values.count)
    return try MPI.allReduceSum(values)
  }

  /// Rank `root`'s `values` on every rank.
  /// - Throws: ``MessagePassingError/countMismatch(counts:)`` on every rank when the
  ///   counts differ.
  public func broadcast(_ values: [Double], from root: Int) throws(MessagePassingError) -> [Double] {
    precondition((0..<size).contains(root), "root \(root) is not a rank of a group of \(size)")
    try checkCounts(values.count)
    var buffer = values
    try MPI.broadcast(&buffer, root: root)
    return buffer
  }

  /// Returns once every rank has called it.
  public func barrier() throws(MessagePassingError) {
    try MPI.barrier()
  }

  /// Ends MPI in this process; call once, after the last exchange, on every rank.
  public func finish() throws(MessagePassingError) {
    try MPI.finalize()
  }

  /// Throws ``MessagePassingError/countMismatch(counts:)`` on every rank unless every
  /// rank is about to send `count` values: a collective call with different counts
  /// would read or write past a buffer, or wait for ever.
  private func checkCounts(_ count: Int) throws(MessagePassingError) {
    let counts = try MPI.allGather(Int64(count), size: size)
    guard counts.allSatisfy({ $0 == counts[0] }) else { throw .countMismatch(counts: counts.map { Int($0) }) }
  }
}
