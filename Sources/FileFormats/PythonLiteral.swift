/// A value in the subset of Python literal syntax that NumPy writes in .npy headers.
///
/// Strings in single or double quotes, integers (with Python 2's `L` suffix tolerated),
/// `True`, `False`, tuples and lists (both read as `.sequence`, trailing comma allowed) and
/// dicts with string keys. Nesting deeper than `PythonLiteral.maximumDepth` is refused, so a
/// hostile header cannot exhaust the stack.
enum PythonLiteral {
  case string(String)
  case integer(Int)
  case boolean(Bool)
  case sequence([PythonLiteral])
  case dictionary([String: PythonLiteral])

  /// Why a text is not a literal, e.g. "expected ':' at character 9".
  struct SyntaxError: Error {
    var reason: String
  }

  /// The deepest nesting of sequences and dicts that the parser accepts.
  static let maximumDepth = 32

  /// Parses `text`, which must hold exactly one literal with optional surrounding whitespace.
  init(parsing text: String) throws(SyntaxError) {
    var parser = Parser(scalars: Array(text.unicodeScalars))
    self = try parser.parseValue(depth: 0)
    parser.skipWhitespace()
    if parser.position < parser.scalars.count {
      throw parser.error("unexpected text after the end")
    }
  }
}

/// A recursive-descent parser over the header's Unicode scalars.
private struct Parser {
  let scalars: [Unicode.Scalar]
  var position = 0

  mutating func parseValue(depth: Int) throws(PythonLiteral.SyntaxError) -> PythonLiteral {
    guard depth < PythonLiteral.maximumDepth else { throw error("nested too deeply") }
    skipWhitespace()
    guard let next = peek() else { throw error("unexpected end") }
    switch next {
    case "'", "\"": return .string(try parseString())
    case "(": return .sequence(try parseSequence(closing: ")", depth: depth))
    case "[": return .sequence(try parseSequence(closing: "]", depth: depth))
    case "{": return .dictionary(try parseDictionary(depth: depth))
    case "-", "0"..."9": return .integer(try parseInteger())
    default: return .boolean(try parseBoolean())
    }
  }

  mutating func skipWhitespace() {
    while let next = peek(), next.properties.isWhitespace { position += 1 }
  }

  func error(_ reason: String) -> PythonLiteral.SyntaxError {
    PythonLiteral.SyntaxError(reason: "\(reason) at character \(position)")
  }

  private func peek() -> Unicode.Scalar? {
    position < scalars.count ? scalars[position] : nil
  }

  private mutating func expect(_ expected: Unicode.Scalar) throws(PythonLiteral.SyntaxError) {
    skipWhitespace()
    guard peek() == expected else { throw error("expected '\(expected)'") }
    position += 1
  }

  /// A quoted string; a backslash takes the next character literally.
  private mutating func parseString() throws(PythonLiteral.SyntaxError) -> String {
    let quote = scalars[position]
    position += 1
    var value = String.UnicodeScalarView()
    while let next = peek(), next != quote {
      position += 1
      if next == "\\" {
        guard let escaped = peek() else { break }
        value.append(escaped)
        position += 1
      } else {
        value.append(next)
      }
    }
    guard peek() == quote else { throw error("unterminated string") }
    position += 1
    return String(value)
  }

  private mutating func parseInteger() throws(PythonLiteral.SyntaxError) -> Int {
    let start = position
    let sign = peek() == "-" ? -1 : 1
    if sign < 0 { position += 1 }
    var magnitude = 0
    var digitCount = 0
    while let next = peek(), ("0"..."9").contains(next) {
      let digit = Int(next.value) - Int(("0" as Unicode.Scalar).value)
      let (shifted, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
      let (sum, overflow2) = shifted.addingReportingOverflow(digit)
      guard !overflow1, !overflow2 else {
        position = start
        throw error("integer too large")
      }
      magnitude = sum
      digitCount += 1
      position += 1
    }
    guard digitCount > 0 else { throw error("expected a digit") }
    if peek() == "L" { position += 1 }  // Python 2 wrote long integers as `3L`.
    return sign * magnitude
  }

  private mutating func parseBoolean() throws(PythonLiteral.SyntaxError) -> Bool {
    for (word, value) in [("True", true), ("False", false)] {
      let end = position + word.unicodeScalars.count
      if end <= scalars.count, scalars[position..<end].elementsEqual(word.unicodeScalars) {
        position = end
        return value
      }
    }
    throw error("unexpected '\(FileFormatError.printable(String(scalars[position])))'")
  }

  /// Elements up to `closing`, separated by commas, with an optional trailing comma.
  private mutating func parseSequence(
    closing: Unicode.Scalar, depth: Int
  ) throws(PythonLiteral.SyntaxError) -> [PythonLiteral] {
    position += 1
    var elements: [PythonLiteral] = []
    while true {
      skipWhitespace()
      if peek() == closing { break }
      elements.append(try parseValue(depth: depth + 1))
      skipWhitespace()
      if peek() == closing { break }
      try expect(",")
    }
    position += 1
    return elements
  }

  /// `key: value` pairs with string keys up to `}`, with an optional trailing comma.
  private mutating func parseDictionary(
    depth: Int
  ) throws(PythonLiteral.SyntaxError) -> [String: PythonLiteral] {
    position += 1
    var entries: [String: PythonLiteral] = [:]
    while true {
      skipWhitespace()
      if peek() == "}" { break }
      guard peek() == "'" || peek() == "\"" else { throw error("expected a quoted key") }
      let key = try parseString()
      try expect(":")
      entries[key] = try parseValue(depth: depth + 1)
      skipWhitespace()
      if peek() == "}" { break }
      try expect(",")
    }
    position += 1
    return entries
  }
}
