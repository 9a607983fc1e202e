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
