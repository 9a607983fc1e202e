import Testing

@testable import Plots

@Suite("SVGDocument")
struct SVGDocumentTests {
  @Test func escapesMarkupAndForbiddenCharacters() {
    #expect(SVGDocument.escaped(#"a & b < c > d "e" 'f'"#) == "a &amp; b &lt; c &gt; d &quot;e&quot; &apos;f&apos;")
    #expect(SVGDocument.escaped("bell\u{7}") == "bell\u{FFFD}")
    #expect(SVGDocument.escaped("σ² ≥ 0") == "σ² ≥ 0")
  }

  @Test func numbersHaveAtMostTwoDecimals() {
    #expect(SVGDocument.number(12.5) == "12.5")
    #expect(SVGDocument.number(3) == "3")
    #expect(SVGDocument.number(0.07) == "0.07")
    #expect(SVGDocument.number(-0.001) == "0")
    #expect(SVGDocument.number(-2.345) == "-2.35")
    #expect(SVGDocument.number(1e300) == "1000000")
  }

  @Test func fixedDecimals() {
    #expect(SVGDocument.fixed(0.5, decimals: 2) == "0.50")
    #expect(SVGDocument.fixed(-0.04, decimals: 1) == "0.0")
    #expect(SVGDocument.fixed(-12, decimals: 0) == "-12")
    #expect(SVGDocument.fixed(0.001, decimals: 3) == "0.001")
  }

  @Test func documentHasSizeViewBoxAndFont() throws {
    var document = SVGDocument(width: 640, height: 400)
    document.element("text", [("x", "1")], text: "<&>")
    let parsed = try #require(ParsedSVG(document.rendered()))
    let root = try #require(parsed.elements.first)
    #expect(root.name == "svg")
    #expect(root.attributes["width"] == "640" && root.attributes["height"] == "400")
    #expect(root.attributes["viewBox"] == "0 0 640 400")
    #expect(root.attributes["font-family"] == "sans-serif")
    #expect(parsed.texts == ["<&>"])
  }
}
