// What the ranks of a synchronized call send each other: a fixed-size header first, so
// that ranks that disagree find out before any message whose length depends on the
// channel count, then the per-channel numbers. A rank that refused its own input still
// sends its header (with the refusal flagged), so no rank waits for it.

/// What one rank of a synchronized forward call holds.
struct ShardDescription: Equatable {
  var channels: Int
  var spatial: Int
  var layout: ChannelLayout
  /// The element type's size in bytes (4 for Float, 8 for Double).
  var scalarBytes: Int
  var mode: BatchNormMode
  /// N, this rank's samples (0 for an empty shard).
  var batch: Int

  /// The header's numbers, after the refusal flag.
  var encoded: [Double] {
    [
      Double(channels), Double(spatial), layout == .channelsFirst ? 0 : 1, Double(scalarBytes),
      Double(BatchNormMode.allCases.firstIndex(of: mode)!), Double(batch),
    ]
  }

  /// The first field in which rank `rank`'s header `other` differs from rank 0's `first`
  /// (both ``encoded``), as a sentence that names both values; the sample counts may differ.
  static func difference(between first: [Double], and other: [Double], rank: Int) -> String? {
    let names = ["channels", "spatial positions per channel", "layout", "element size", "mode"]
    for (index, name) in names.enumerated() where other[index] != first[index] {
      func shown(_ value: Double) -> String {
        switch index {
        case 2: return value == 0 ? "channelsFirst" : "channelsLast"
        case 3: return "\(Int(value)) bytes"
        case 4: return BatchNormMode.allCases.indices.contains(Int(value)) ? BatchNormMode.allCases[Int(value)].rawValue : "\(value)"
        default: return "\(Int(value))"
        }
      }
      return "rank \(rank) has \(name) \(shown(other[index])) but rank 0 has \(shown(first[index]))"
    }
    return nil
  }
}

/// Runs `exchange` on `group`, turning the group's own errors into ``BatchNormError``.
private func communicate<Result>(
  _ group: any BatchNormProcessGroup, _ exchange: () throws -> Result
) throws(BatchNormError) -> Result {
  do {
    return try exchange()
  } catch let error as BatchNormError {
    throw error
  } catch {
    throw .communicationFailed(reason: "\(error)")
  }
}

/// Sends the refusal flag (`problem`) with `payload`, and throws on every rank if any
/// rank refused: this rank's own error where it refused, otherwise an error that names
/// the first rank that did. Returns every rank's payload.
private func exchange(
  _ payload: [Double], problem: BatchNormError?, over group: any BatchNormProcessGroup
) throws(BatchNormError) -> [[Double]] {
  let gathered = try communicate(group) { try group.allGather([problem == nil ? 0 : 1] + payload) }
  if let problem { throw problem }
  if let refused = gathered.firstIndex(where: { $0.first != 0 }) {
    throw .synchronizationMismatch(reason: "rank \(refused) refused its input (its own error says why)")
  }
  return gathered.map { Array($0.dropFirst()) }
}

/// The batch statistics of all ranks' shards together: every rank sends its header,
/// then its per-channel (count, mean, M2), and every rank merges them in rank order with
/// Chan's formula in Double, so all ranks get the same bits, exact for shards of unequal
/// size; an empty shard contributes nothing.
///
/// - Parameters:
///   - local: this rank's moments, one per channel (all empty for an empty shard);
///     ignored when `problem` is set.
///   - problem: why this rank refuses the call, if it does.
/// - Returns: the merged moments and the total number of samples.
/// - Throws: on every rank, when any rank refused or the headers differ.
func exchangeMoments(
  _ local: [ChannelMoments], shard: ShardDescription, problem: BatchNormError?,
  over group: any BatchNormProcessGroup
) throws(BatchNormError) -> (moments: [ChannelMoments], batch: Int) {
  let headers = try exchange(shard.encoded, problem: problem, over: group)
  for (rank, header) in headers.enumerated().dropFirst() {
    if let difference = ShardDescription.difference(between: headers[0], and: header, rank: rank) {
      throw .synchronizationMismatch(reason: difference)
    }
  }
  var payload = [Double]()
  payload.reserveCapacity(3 * local.count)
  for moments in local { payload += [Double(moments.count), moments.mean, moments.sumOfSquaredDeviations] }
  let gathered = try communicate(group) { try group.allGather(payload) }
  var merged = [ChannelMoments](repeating: .empty, count: shard.channels)
  for contribution in gathered {
    for channel in 0..<shard.channels {
      let base = 3 * channel
      merged[channel].merge(
        ChannelMoments(count: Int(contribution[base]), mean: contribution[base + 1], sumOfSquaredDeviations: contribution[base + 2]))
    }
  }
  return (merged, headers.reduce(0) { $0 + Int($1[5]) })
}

/// The backward sums Σdy′ and Σdy′·(x − µ) of all ranks' shards, added in rank order
/// in Double (every rank gets the same bits); an empty shard sends zeros.
/// - Throws: on every rank, when any rank refused.
func exchangeGradientSums(
  _ local: [GradientSums], channels: Int, problem: BatchNormError?, over group: any BatchNormProcessGroup
) throws(BatchNormError) -> [GradientSums] {
  let payload = problem == nil ? local.map(\.sum) + local.map(\.dot) : [Double](repeating: 0, count: 2 * channels)
  let gathered = try exchange(payload, problem: problem, over: group)
  var total = [GradientSums](repeating: GradientSums(), count: channels)
  for contribution in gathered {
    for channel in 0..<channels {
      total[channel] += GradientSums(sum: contribution[channel], dot: contribution[channels + channel])
    }
  }
  return total
}
