// Reads symbol graphs (swift symbolgraph-extract) and lists the public symbols that have
// a place in the sources but no doc comment; exits 1 if there is one. Run by
// scripts/check-doc-comments.
import Foundation

struct SymbolGraph: Decodable {
  struct Symbol: Decodable {
    struct Location: Decodable {
      struct Position: Decodable { let line: Int }
      let uri: String
      let position: Position
    }
    let pathComponents: [String]
    let docComment: DocComment?
    let location: Location?
  }
  struct DocComment: Decodable {}
  struct Module: Decodable { let name: String }
  let module: Module
  let symbols: [Symbol]
}

var missing: [String] = []
var count = 0
for path in CommandLine.arguments.dropFirst() {
  let graph = try JSONDecoder().decode(SymbolGraph.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
  for symbol in graph.symbols {
    guard let location = symbol.location else { continue }  // synthesized: no source to document
    count += 1
    guard symbol.docComment == nil else { continue }
    let file = location.uri.components(separatedBy: "/Sources/").last ?? location.uri
    missing.append("Sources/\(file):\(location.position.line + 1): \(graph.module.name).\(symbol.pathComponents.joined(separator: "."))")
  }
}
if missing.isEmpty {
  print("every one of \(count) public symbols has a doc comment")
} else {
  for line in Set(missing).sorted() { print(line) }
  FileHandle.standardError.write(Data("error: \(Set(missing).count) public symbols have no doc comment (above)\n".utf8))
  exit(1)
}
