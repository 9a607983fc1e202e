import Foundation

/// A table of numbers with named columns: an experiment's raw results, written as CSV
/// next to the report so every plotted number can be checked.
public struct DataTable: Sendable, Equatable {
  /// The file name without extension, e.g. `bessel_monte_carlo`.
  public let name: String
  public let columns: [String]
  public private(set) var rows: [[Double]] = []

  public init(name: String, columns: [String]) {
    self.name = name
    self.columns = columns
  }

  /// A table read back from its ``csv``.
  /// - Throws: ``LabError/workerFailed(experiment:reason:)`` for text that is not such a table.
  public init(name: String, csv: String) throws {
    let lines = csv.split(separator: "\n", omittingEmptySubsequences: true)
    guard let header = lines.first else { throw LabError.workerFailed(experiment: name, reason: "an empty table") }
    self.init(name: name, columns: header.split(separator: ",").map(String.init))
    for (number, line) in lines.dropFirst().enumerated() {
      let values = line.split(separator: ",").map { field -> Double? in
        switch field {
        case "nan": return .nan
        case "inf": return .infinity
        case "-inf": return -.infinity
        default: return Double(field)
        }
      }
      guard values.count == columns.count, values.allSatisfy({ $0 != nil }) else {
        throw LabError.workerFailed(experiment: name, reason: "line \(number + 2) of its table is not \(columns.count) numbers")
      }
      rows.append(values.map { $0! })
    }
  }

  /// The rows ordered by the values of `keys`, the first key first.
  public func sorted(by keys: [String]) -> DataTable {
    let indices = keys.map { key in columns.firstIndex(of: key)! }
    var table = self
    table.rows = rows.sorted { a, b in
      for index in indices where a[index] != b[index] { return a[index] < b[index] }
      return false
    }
    return table
  }

  /// Appends one row; its length must equal the column count.
  public mutating func append(_ row: [Double]) {
    precondition(row.count == columns.count, "row of \(row.count) values for \(columns.count) columns")
    rows.append(row)
  }

  /// The values of column `name`.
  public func column(_ name: String) -> [Double] {
    guard let index = columns.firstIndex(of: name) else { preconditionFailure("no column \(name) in \(self.name)") }
    return rows.map { $0[index] }
  }

  /// RFC 4180 CSV: a header line, then one line per row. Numbers use the shortest
  /// representation that reads back exactly, so the same results give the same bytes.
  public var csv: String {
    var lines = [columns.joined(separator: ",")]
    for row in rows {
      lines.append(row.map { $0.isNaN ? "nan" : $0.isInfinite ? ($0 > 0 ? "inf" : "-inf") : "\($0)" }.joined(separator: ","))
    }
    return lines.joined(separator: "\n") + "\n"
  }
}
