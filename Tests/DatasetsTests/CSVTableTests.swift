import Datasets
import FileFormats
import Foundation
import Testing

@Suite("CSV")
struct CSVTableTests {
  @Test("Reads a header and rows of numbers in any of Double's spellings")
  func header() throws {
    let text = "mean, \"variance\" ,count\n0.5,1e-3,10\n-2,  inf ,+7\nnan,0x1p3,0\n"
    let table = try CSVTable.decode(text, file: "statistics.csv", hasHeader: true)
    #expect(table.columnNames == ["mean", "variance", "count"])
    #expect(table.columnCount == 3)
    #expect(table.rows.count == 3)
    #expect(table.rows[0] == [0.5, 1e-3, 10])
    #expect(table.rows[1] == [-2, .infinity, 7])
    #expect(table.rows[2][0].isNaN && table.rows[2].dropFirst() == [8, 0])
  }

  @Test("Without a header, every line is a row")
  func noHeader() throws {
    let table = try CSVTable.decode("1,2\n3,4", file: "plain.csv", hasHeader: false)
    #expect(table.columnNames == nil)
    #expect(table.columnCount == 2)
    #expect(table.rows == [[1, 2], [3, 4]])
  }

  @Test("CRLF line ends, a byte-order mark and blank lines are fine")
  func lineEnds() throws {
    let table = try CSVTable.decode("\u{FEFF}a,b\r\n\r\n1,2\r\n  \r\n3,4\r\n", file: "excel.csv", hasHeader: true)
    #expect(table.columnNames == ["a", "b"])
    #expect(table.rows == [[1, 2], [3, 4]])
  }

  @Test("An empty file is an empty table, or an error when a header is expected")
  func empty() throws {
    let table = try CSVTable.decode("\n", file: "empty.csv", hasHeader: false)
    #expect(try table == CSVTable.decode("", file: "empty.csv", hasHeader: false))
    #expect(table.rows.isEmpty && table.columnCount == 0)
    #expect(throws: FileFormatError(file: "empty.csv", problem: "no header row: the file is empty")) {
      try CSVTable.decode("", file: "empty.csv", hasHeader: true)
    }
    #expect(try CSVTable.decode("a,b\n", file: "header.csv", hasHeader: true).rows.isEmpty)
  }

  @Test(
    "Bad cells and ragged rows name the file, the line and the column",
    arguments: [
      ("a,b\n1,2\n3,x\n", true, "line 3: column 2 (\"b\"): \"x\" is not a number"),
      ("1,2\n\n3,\n", false, "line 3: column 2: \"\" is not a number"),
      ("1,2\n3,1_000\n", false, "line 2: column 2: \"1_000\" is not a number"),
      ("a,b\n1,2\n3\n", true, "line 3: 1 cells, but line 1 has 2"),
      ("\n1,2\n3,4,5\n", false, "line 3: 3 cells, but line 2 has 2"),
      ("1,2\n3,\u{7}\n", false, "line 2: column 2: \"\\u{07}\" is not a number"),
    ])
  func errors(text: String, hasHeader: Bool, problem: String) {
    #expect(throws: FileFormatError(file: "table.csv", problem: problem)) {
      try CSVTable.decode(text, file: "table.csv", hasHeader: hasHeader)
    }
  }

  @Test("Reads a file; a missing or non-UTF-8 file is an error naming it")
  func files() throws {
    try withTemporaryDirectory { directory in
      let url = directory.appendingPathComponent("table.csv")
      try Data("x,y\n1,2\n".utf8).write(to: url)
      #expect(try CSVTable.read(contentsOf: url, hasHeader: true).rows == [[1, 2]])
      try Data([0x31, 0x2C, 0xFF, 0x0A]).write(to: url)
      #expect(throws: FileFormatError(file: url.path, problem: "not UTF-8 text")) {
        try CSVTable.read(contentsOf: url, hasHeader: false)
      }
      let missing = directory.appendingPathComponent("missing.csv")
      #expect(throws: FileFormatError(file: missing.path, problem: "no such file")) {
        try CSVTable.read(contentsOf: missing, hasHeader: false)
      }
    }
  }
}
