import Foundation

/// A table of numbers with named columns: an experiment's raw results, written as CSV
/// next to the report so every plotted number can be checked. Rows are written column by
/// column (``append(_:)``) and read by column (``column(_:)``), so a value always stays
/// with its column, whatever order the columns are declared in.
public struct DataTable: Sendable, Equatable {
  /// The file name without extension, e.g. `bessel_monte_carlo`.
  public let name: String
  /// The column names, in CSV order.
  public let columns: [String]
  /// The rows, each one value per column.
  public private(set) var rows: [[Double]] = []

  /// An empty table with these columns.
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

  /// Appends one row, given column by column: `["m": 2, "trials": 1000, …]`.
  /// - Precondition: every column of the table appears exactly once.
  public mutating func append(_ values: KeyValuePairs<String, Double>) {
    append(values.map { (column: $0.key, value: $0.value) })
  }

  /// A row given column by column, for rows whose columns are computed.
  public typealias Row = [(column: String, value: Double)]

  /// Appends one row, given column by column.
  /// - Precondition: every column of the table appears exactly once.
  public mutating func append(_ values: Row) {
    var row = [Double?](repeating: nil, count: columns.count)
    for (column, value) in values {
      guard let index = columns.firstIndex(of: column) else { preconditionFailure("no column \(column) in \(name)") }
      precondition(row[index] == nil, "column \(column) of \(name) given twice")
      row[index] = value
    }
    if let missing = row.indices.first(where: { row[$0] == nil }) {
      preconditionFailure("row of \(name) without column \(columns[missing])")
    }
    rows.append(row.map { $0! })
  }

  /// The rows for which `predicate` holds, as a table with the same name and columns.
  /// `predicate` reads a row's values by column name: `table.filter { $0("batch_norm") == 1 }`.
  public func filter(_ predicate: (_ value: (_ column: String) -> Double) -> Bool) -> DataTable {
    let indices = Dictionary(uniqueKeysWithValues: columns.enumerated().map { ($1, $0) })
    var table = self
    table.rows = rows.filter { row in
      predicate { column in
        guard let index = indices[column] else { preconditionFailure("no column \(column) in \(name)") }
        return row[index]
      }
    }
    return table
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
