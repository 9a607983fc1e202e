import Foundation
import Testing

#if canImport(FoundationXML)
  import FoundationXML
#endif

/// An SVG document read back with Foundation's `XMLParser`: proof that it is well formed, and
/// its elements in document order for the tests to inspect.
struct ParsedSVG {
  struct Element {
    var name: String
    var attributes: [String: String]
    var text: String
  }

  var elements: [Element]

  /// Parses `svg`; records an issue and returns nil when it is not well-formed XML.
  init?(_ svg: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let collector = Collector()
    let parser = XMLParser(data: Data(svg.utf8))
    parser.delegate = collector
    guard parser.parse() else {
      Issue.record(
        "not well-formed XML: \(parser.parserError.map(String.init(describing:)) ?? "?")",
        sourceLocation: sourceLocation)
      return nil
    }
    elements = collector.elements
  }

  /// The elements named `name` whose attribute `key` is `value` (any, when `key` is nil).
  func elements(_ name: String, where key: String? = nil, is value: String? = nil) -> [Element] {
    elements.filter { $0.name == name && (key == nil || $0.attributes[key!] == value) }
  }

  /// The text of every `<text>` element.
  var texts: [String] { elements("text").map(\.text) }

  private final class Collector: NSObject, XMLParserDelegate {
    var elements: [Element] = []
    private var open: [Int] = []

    func parser(
      _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
      attributes: [String: String]
    ) {
      open.append(elements.count)
      elements.append(Element(name: elementName, attributes: attributes, text: ""))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
      if let index = open.last { elements[index].text += string }
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
      open.removeLast()
    }
  }
}
