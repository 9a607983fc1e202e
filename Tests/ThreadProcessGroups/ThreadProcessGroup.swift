// Test support: process groups whose ranks are threads of the test process, so the
// synchronized and data-parallel code runs in every test run without MPI.
import BatchNormalization
import Foundation

/// A process group whose ranks are threads of this process: what the core's
/// synchronized calls need, without MPI. `run(ranks:_:)` starts one thread per rank
/// (never a pool, which could run fewer at once and deadlock) and returns each rank's
/// result in rank order.
public final class ThreadProcessGroup: @unchecked Sendable {
  public let size: Int
  private let condition = NSCondition()
  private var slots: [[Double]?]
  private var arrived = 0
  private var round = 0
  private var delivered: Result<[[Double]], GatherError> = .success([])
  /// How many all-gathers have completed.
  public private(set) var gatherCount = 0

  public struct GatherError: Error, CustomStringConvertible {
    let counts: [Int]
    public var description: String { "ranks passed different counts: \(counts)" }
  }

  public init(size: Int) {
    self.size = size
    slots = Array(repeating: nil, count: size)
  }

  func allGather(rank: Int, _ values: [Double]) throws -> [[Double]] {
    condition.lock()
    defer { condition.unlock() }
    let myRound = round
    slots[rank] = values
    arrived += 1
    if arrived == size {
      let gathered = slots.map { $0! }
      let counts = gathered.map(\.count)
      delivered = Set(counts).count == 1 ? .success(gathered) : .failure(GatherError(counts: counts))
      slots = Array(repeating: nil, count: size)
      arrived = 0
      round += 1
      gatherCount += 1
      condition.broadcast()
    } else {
      while round == myRound { condition.wait() }
    }
    return try delivered.get()
  }

  /// Runs `body` on `size` threads, one per rank, and returns their results in rank order.
  public func run<Result: Sendable>(_ body: @escaping @Sendable (ThreadRank) -> Result) -> [Result] {
    let results = ResultSlots<Result>(count: size)
    let finished = DispatchGroup()
    for rank in 0..<size {
      finished.enter()
      let thread = Thread { [self] in
        results.store(body(ThreadRank(rank: rank, group: self)), at: rank)
        finished.leave()
      }
      thread.start()
    }
    finished.wait()
    return results.values
  }
}

/// One rank's view of a ``ThreadProcessGroup``.
public final class ThreadRank: BatchNormProcessGroup, @unchecked Sendable {
  public let rank: Int
  public let group: ThreadProcessGroup
  public var size: Int { group.size }

  public init(rank: Int, group: ThreadProcessGroup) {
    self.rank = rank
    self.group = group
  }

  public func allGather(_ values: [Double]) throws -> [[Double]] { try group.allGather(rank: rank, values) }
}

/// A group of two that only counts the all-gathers it is asked for (and answers as if
/// both ranks had passed the same values): for calls that should not communicate.
public final class CountingProcessGroup: BatchNormProcessGroup, @unchecked Sendable {
  public let rank = 0
  public let size = 2
  public private(set) var gatherCount = 0
  public init() {}
  public func allGather(_ values: [Double]) throws -> [[Double]] {
    gatherCount += 1
    return [values, values]
  }
}

/// Each rank's result, written by its own thread.
private final class ResultSlots<Value>: @unchecked Sendable {
  private let lock = NSLock()
  private var slots: [Value?]
  init(count: Int) { slots = Array(repeating: nil, count: count) }
  func store(_ value: Value, at index: Int) {
    lock.lock()
    slots[index] = value
    lock.unlock()
  }
  var values: [Value] { slots.map { $0! } }
}
