import BatchNormalization

/// The settings and data that every process of a data-parallel job must share, checked
/// once before training: processes started with another `--epochs` would otherwise wait
/// for ever for a step the others never take, and other differences would show only
/// after an epoch, or never (different data still gives identical parameters once the
/// gradients are summed).
struct JobSettings {
  /// Each setting as the user wrote it (or the data's digest), in a fixed order, and
  /// whether a resumed run must repeat it.
  private var entries: [(name: String, value: String, resumable: Bool)] = []

  /// Adds a setting; `resumable: false` for one that a resumed run may change.
  mutating func add(_ name: String, _ value: some CustomStringConvertible, resumable: Bool = true) {
    entries.append((name, value.description, resumable))
  }

  /// Adds a digest of `values` (FNV-1a over their bits): two copies of a data set that
  /// differ anywhere differ here.
  mutating func add(_ name: String, digestOf values: [Float], labels: [Int], resumable: Bool = true) {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for value in values { hash = (hash ^ UInt64(value.bitPattern)) &* 0x100_0000_01b3 }
    for label in labels { hash = (hash ^ UInt64(truncatingIfNeeded: label)) &* 0x100_0000_01b3 }
    add(name, "\(values.count) values, digest \(String(hash, radix: 16))", resumable: resumable)
  }

  /// The settings a resumed run must repeat, by name, to save with the run.
  var dictionary: [String: String] {
    Dictionary(entries.filter(\.resumable).map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
  }

  /// The first setting a resumed run must repeat that `saved` (a ``dictionary`` saved
  /// with the run) holds with another value: its name, this run's value and the saved one.
  func firstDifference(from saved: [String: String]) -> (name: String, value: String, saved: String)? {
    for entry in entries where entry.resumable {
      if let old = saved[entry.name], old != entry.value { return (entry.name, entry.value, old) }
      if saved[entry.name] == nil { return (entry.name, entry.value, "none") }
    }
    return nil
  }

  /// Throws on every process, naming the first setting in which a process differs from
  /// rank 0, unless all agree. Every process sends the same number of values (one per
  /// setting), so the check itself cannot wait for ever.
  func check(in group: any BatchNormProcessGroup) throws {
    guard group.size > 1 else { return }
    // Each value hashed to 52 bits, which a Double holds exactly.
    let mine = entries.map { entry in
      var hash: UInt64 = 0xcbf2_9ce4_8422_2325
      for byte in entry.value.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
      return Double(hash & (1 << 52 - 1))
    }
    let all = try group.allGather(mine)
    for rank in 1..<group.size {
      guard let index = all[rank].indices.first(where: { all[rank][$0] != all[0][$0] }) else { continue }
      let entry = entries[index]
      let known = group.rank == 0 ? " (rank 0: \(entry.value))" : group.rank == rank ? " (rank \(rank): \(entry.value))" : ""
      throw CommandError(
        "rank \(rank) was started with other \(entry.name) than rank 0\(known): every process of the job needs the same settings and data",
        everyProcess: true)
    }
  }
}
