// libFuzzer target: CSV tables (lines, cells, header names, numbers as Double reads them), with
// and without a header row. Built by scripts/fuzz from Datasets' CSVTable.swift and this file as
// one module, on the FileFormats module.
//
// Checks, for every input that is UTF-8, read both with and without a header:
// - an accepted table has names exactly when it has a header, one per column, and every row has
//   the column count cells;
// - written back as CSV (names in double quotes where that reads back, numbers as Swift prints
//   them), it reads back
//   the same: the same names, column count and rows (bit for bit, NaN included), and writes the
//   same text again.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
  guard let text = String(validating: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self) else { return 0 }
  for hasHeader in [false, true] {
    guard let table = try? CSVTable.decode(text, file: "fuzz.csv", hasHeader: hasHeader) else { continue }
    check((table.columnNames != nil) == hasHeader, "names \(String(describing: table.columnNames)) with hasHeader \(hasHeader)")
    check(table.columnNames.map { $0.count == table.columnCount } ?? true, "\(table.columnCount) columns but names \(table.columnNames!)")
    check(table.rows.allSatisfy { $0.count == table.columnCount }, "a row without \(table.columnCount) cells")
    check(table.columnCount > 0 || (table.rows.isEmpty && !hasHeader), "no columns but rows or a header")

    // What decodes must encode, and decode again to the same table.
    let encoded = encode(table)
    guard let again = try? CSVTable.decode(encoded, file: "round trip", hasHeader: hasHeader) else {
      fatalError("an accepted table does not read back from \(encoded.debugDescription)")
    }
    check(again.columnNames == table.columnNames, "names read back as \(String(describing: again.columnNames))")
    check(again.columnCount == table.columnCount, "\(table.columnCount) columns read back as \(again.columnCount)")
    check(
      again.rows.map { $0.map(\.bitPattern) } == table.rows.map { $0.map(\.bitPattern) },
      "an accepted table reads back differently from \(encoded.debugDescription)")
    check(encode(again) == encoded, "an accepted table writes back differently")
  }
  return 0
}

/// The CSV text of `table`: the names, then one line per row of numbers.
private func encode(_ table: CSVTable) -> String {
  var lines: [String] = []
  if let names = table.columnNames {
    lines.append(names.indices.map { encode(name: names[$0], at: $0, of: names.count) }.joined(separator: ","))
  }
  lines += table.rows.map { $0.map { "\($0)" }.joined(separator: ",") }
  return lines.joined(separator: "\n")
}

/// Column `index` of `count`'s name as a header cell that reads back as the name between the
/// cells around it: in double quotes, or else bare or after a space. Cells are split by
/// Characters, so a name that starts with a combining mark joins the character of the quote or
/// comma before it, and a line whose Characters all start with a space is blank.
private func encode(name: String, at index: Int, of count: Int) -> String {
  let (before, after) = (index > 0 ? "\"\"," : "", index < count - 1 ? ",\"\"" : "")
  let names = (index > 0 ? [""] : []) + [name] + (index < count - 1 ? [""] : [])
  for cell in ["\"\(name)\"", name, " \(name)", " \"\(name)\""] {
    if (try? CSVTable.decode(before + cell + after, file: "name", hasHeader: true))?.columnNames == names { return cell }
  }
  fatalError("no header cell reads back as the name \(name.debugDescription)")
}

/// Stops the run with `message` when `condition` fails (`precondition` drops its message in -O builds).
private func check(_ condition: Bool, _ message: @autoclosure () -> String) {
  if !condition { fatalError(message()) }
}
