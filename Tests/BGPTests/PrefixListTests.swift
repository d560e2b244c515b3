import Testing
@testable import BGP

@Suite("Prefix lists (--prefix-file)")
struct PrefixListTests {
    @Test func commentsBlankLinesWhitespaceAndCRLF() throws {
        let text = "# routes\n10.0.0.0/24\r\n\n  fd00::/64   # v6\n\t192.0.2.1/32\n#\n"
        let list = try PrefixList.parse(text, source: "f")
        #expect(list.map(\.description) == ["10.0.0.0/24", "fd00::/64", "192.0.2.1/32"])
        #expect(try PrefixList.parse("", source: "f").isEmpty)
    }

    @Test func badLinesNameTheLineAndWhy() {
        func failure(_ text: String) -> PrefixList.BadLine? {
            do { _ = try PrefixList.parse(text, source: "list.txt"); return nil } catch { return error }
        }
        let host = failure("10.0.0.0/24\n# c\n10.3.0.1/24\n")
        #expect(host?.line == 3)
        #expect(host?.text == "10.3.0.1/24")
        #expect(host?.description == "list.txt line 3: '10.3.0.1/24' has host bits set (did you mean 10.3.0.0/24?)")
        #expect(failure("banana")?.reason == "is not an IP prefix (address/length)")
        #expect(failure("10.0.0.0/33")?.line == 1)
        #expect(failure("10.0.0.0/33")?.reason.hasPrefix("has an invalid prefix length") == true)
    }
}
