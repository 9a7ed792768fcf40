import Foundation
import Testing
import TreeCore

#if canImport(FoundationXML)
import FoundationXML
#endif

/// The one escaper and the shared formatters, each checked against an independent reading of its output.
@Suite struct TextTests {
    @Test func quotingEscapesControlCharacters() {
        #expect(TextEscaping.quoted("a'b\\c\nd\u{7}") == "'a\\'b\\\\c\\nd\\u{7}'")
        #expect(TextEscaping.quoted(String(repeating: "x", count: 200), limit: 5) == "'xxxxx...'")
        #expect(TextEscaping.controlCharacters("a\tb\r\u{1B}\u{2028}") == "a\\tb\\r\\u{1B}\\u{2028}")
    }

    /// JSON string literals read back by Foundation's JSON parser give the original text.
    @Test(arguments: ["plain", "quote \" and backslash \\", "new\nline\ttab\r", "\u{1}\u{1F} bell \u{7}", "é ü 😀", ""])
    func jsonLiteralsRoundTrip(_ text: String) throws {
        let literal = TextEscaping.jsonLiteral(text)
        let decoded = try JSONSerialization.jsonObject(with: Data("[\(literal)]".utf8)) as? [String]
        #expect(decoded == [text])
        #expect(!literal.dropFirst().dropLast().contains(where: { $0.isNewline }))
    }

    @Test func xmlAndCSVEscaping() throws {
        #expect(TextEscaping.xml("a<b & \"c\" 'd'>") == "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;")
        #expect(TextEscaping.csvCell("plain") == "plain")
        #expect(TextEscaping.csvCell("x,y") == "\"x,y\"")
        #expect(TextEscaping.csvCell("say \"hi\"") == "\"say \"\"hi\"\"\"")
        // An XML parser reads the escaped attribute back.
        let doc = "<a v=\"\(TextEscaping.xml("1 < 2 & \"3\""))\"/>"
        let parser = XMLDocumentParser(doc)
        #expect(parser.attribute == "1 < 2 & \"3\"")
    }

    @Test func csvTablesQuoteCellsAndKeepTheirShape() throws {
        var t = CSVTable(header: ["a", "b"])
        try t.append(["x,y", "say \"hi\""])
        #expect(t.render() == "a,b\n\"x,y\",\"say \"\"hi\"\"\"\n")
        #expect(parseCSVLine("\"x,y\",\"say \"\"hi\"\"\"") == ["x,y", "say \"hi\""])
        #expect(throws: CoreError.self) { try t.append(["only one"]) }
        #expect(CSVTable.number(3640) == "3640")
        #expect(CSVTable.number(nil) == "")
        #expect(CSVTable.number(0.5) == "0.5")
        #expect(CSVTable.number(-.infinity) == "-inf")
    }

    @Test func formattersArePinned() {
        #expect(formatBytes(512) == "512 B")
        #expect(formatBytes(1_048_576) == "1.049 MB")
        #expect(formatBytes(3.2e9) == "3.2 GB")
        #expect(formatBytes(2.5e13) == "25 TB")
        #expect(formatBandwidth(123.4e9) == "123.40 GB/s")
        // Cells are padded to their column; each line is trimmed at both ends (an empty first cell included).
        #expect(
            renderTable(["a", "long header"], [["xyz", "1"], ["", "22"]])
                == "a    long header\n---  -----------\nxyz  1\n22")
    }

    /// Reports' JSON: sorted keys, absent and non-finite numbers as null, read back by Foundation's parser.
    @Test func jsonTextWritesNullForMissingNumbers() throws {
        struct Row: Encodable {
            var name = "x", a = JSONNumber(nil), b = JSONNumber(.nan), c = JSONNumber(2.5)
        }
        let text = try JSONText.pretty(Row())
        #expect(text == "{\n  \"a\" : null,\n  \"b\" : null,\n  \"c\" : 2.5,\n  \"name\" : \"x\"\n}")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["a"] is NSNull && object["c"] as? Double == 2.5)
    }
}

/// Reads the attribute `v` of a one-element XML document with Foundation's parser.
private final class XMLDocumentParser: NSObject, XMLParserDelegate {
    var attribute: String?

    init(_ text: String) {
        super.init()
        let parser = XMLParser(data: Data(text.utf8))
        parser.delegate = self
        _ = parser.parse()
    }

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        attribute = attributes["v"]
    }
}
