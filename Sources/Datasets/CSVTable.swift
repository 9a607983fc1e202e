import FileFormats
import Foundation

/// A table of numbers read from a CSV file, with column names when the file has a header row.
///
/// Format: UTF-8 text, one row per line (`\n` or `\r\n`), cells separated by commas, spaces
/// around a cell ignored, blank lines skipped. Every cell is a number as `Double(_:)` reads it
/// (`3`, `-0.5`, `1e-3`, `nan`, `inf`); an empty cell is an error, not a missing value. With a
/// header, the first line holds the column names (double quotes around a name are removed).
/// There is no other quoting: a comma always separates cells. Every row has as many cells as
/// the first line.
public struct CSVTable: Equatable, Sendable {
  /// The header row's names, one per column; nil when the file has no header.
  public let columnNames: [String]?
  /// The number of columns: the number of cells in the first line (0 for an empty file).
  public let columnCount: Int
  /// The rows in file order, each with `columnCount` numbers.
  public let rows: [[Double]]

  /// Reads a table from the text of a CSV file whose first line is a header when `hasHeader`
  /// is true; errors name `file`, the line and the column.
  public static func decode(_ text: String, file: String, hasHeader: Bool) throws(FileFormatError) -> CSVTable {
    func failure(line: Int, _ problem: String) -> FileFormatError {
      FileFormatError(file: file, problem: "line \(line): \(problem)")
    }
    let body = text.hasPrefix("\u{FEFF}") ? text.dropFirst() : Substring(text)
    let lines = body.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()
      .filter { !$0.element.allSatisfy(\.isWhitespace) }
      .map { (number: $0.offset + 1, cells: $0.element.split(separator: ",", omittingEmptySubsequences: false)) }
    guard let firstLine = lines.first else {
      guard !hasHeader else {
        throw FileFormatError(file: file, problem: "no header row: the file is empty")
      }
      return CSVTable(columnNames: nil, columnCount: 0, rows: [])
    }
    let columnCount = firstLine.cells.count
    let columnNames = hasHeader ? firstLine.cells.map(columnName) : nil
    var rows: [[Double]] = []
    for line in lines.dropFirst(hasHeader ? 1 : 0) {
      guard line.cells.count == columnCount else {
        throw failure(line: line.number, "\(line.cells.count) cells, but line \(firstLine.number) has \(columnCount)")
      }
      var row: [Double] = []
      row.reserveCapacity(columnCount)
      for (column, cell) in line.cells.enumerated() {
        let trimmed = cell.trimmingCharacters(in: .whitespaces)
        guard let value = Double(trimmed) else {
          let name = columnNames.map { " (\"\(FileFormatError.printable($0[column]))\")" } ?? ""
          throw failure(
            line: line.number, "column \(column + 1)\(name): \"\(FileFormatError.printable(trimmed))\" is not a number")
        }
        row.append(value)
      }
      rows.append(row)
    }
    return CSVTable(columnNames: columnNames, columnCount: columnCount, rows: rows)
  }

  /// Reads the CSV file at `url`, whose first line is a header when `hasHeader` is true; errors
  /// name its path, the line and the column.
  public static func read(contentsOf url: URL, hasHeader: Bool) throws(FileFormatError) -> CSVTable {
    let data = try Data.contents(of: url)
    guard let text = String(validating: data, as: UTF8.self) else {
      throw FileFormatError(file: url.path, problem: "not UTF-8 text")
    }
    return try decode(text, file: url.path, hasHeader: hasHeader)
  }

  /// A header cell without the spaces around it, and without its double quotes when quoted.
  private static func columnName(_ cell: Substring) -> String {
    let name = cell.trimmingCharacters(in: .whitespaces)
    let quoted = name.count >= 2 && name.hasPrefix("\"") && name.hasSuffix("\"")
    return quoted ? String(name.dropFirst().dropLast()) : name
  }
}
