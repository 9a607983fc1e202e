// libFuzzer target: the Python-literal parser of NPY headers on its own (strings and their
// escapes, integers, True and False, tuples, lists, dicts, whitespace, the nesting limit), on
// any UTF-8 text rather than only behind NPY's magic and header length. Built by scripts/fuzz
// together with the FileFormats sources, as one module.
//
// Checks, for every input that is UTF-8: an accepted literal nests at most
// PythonLiteral.maximumDepth deep; written back as Python (strings in single quotes with
// backslash escapes, dict keys sorted) it parses again to the same literal, written the same.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPythonLiteral(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
  guard let text = String(validating: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self),
    let literal = try? PythonLiteral(parsing: text)
  else { return 0 }
  check(depth(of: literal) <= PythonLiteral.maximumDepth, "accepted \(depth(of: literal)) levels of nesting")
  // What parses must print, and parse again to the same literal.
  let printed = python(literal)
  guard let again = try? PythonLiteral(parsing: printed) else {
    fatalError("an accepted literal does not parse back from \(printed.debugDescription)")
  }
  check(python(again) == printed, "an accepted literal parses back differently from \(printed.debugDescription)")
  return 0
}

/// `literal` in Python syntax: dicts with their keys sorted, sequences as lists.
private func python(_ literal: PythonLiteral) -> String {
  switch literal {
  case .string(let value): return quoted(value)
  case .integer(let value): return String(value)
  case .boolean(let value): return value ? "True" : "False"
  case .sequence(let elements): return "[" + elements.map(python).joined(separator: ", ") + "]"
  case .dictionary(let entries):
    return "{" + entries.keys.sorted().map { quoted($0) + ": " + python(entries[$0]!) }.joined(separator: ", ") + "}"
  }
}

/// A string in single quotes, with a backslash before every quote and backslash.
private func quoted(_ value: String) -> String {
  var scalars = String.UnicodeScalarView()
  for scalar in value.unicodeScalars {
    if scalar == "'" || scalar == "\\" { scalars.append("\\") }
    scalars.append(scalar)
  }
  return "'" + String(scalars) + "'"
}

/// The parser's depth of `literal`: 1 for a scalar, one more for each sequence or dict around it.
private func depth(of literal: PythonLiteral) -> Int {
  switch literal {
  case .string, .integer, .boolean: return 1
  case .sequence(let elements): return 1 + (elements.map(depth).max() ?? 0)
  case .dictionary(let entries): return 1 + (entries.values.map(depth).max() ?? 0)
  }
}

/// Stops the run with `message` when `condition` fails (`precondition` drops its message in -O builds).
private func check(_ condition: Bool, _ message: @autoclosure () -> String) {
  if !condition { fatalError(message()) }
}
