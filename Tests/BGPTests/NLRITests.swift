import Testing
import NetAddress
@testable import BGP

@Suite struct NLRITests {
    @Test func nlriTrailingBitsAreMasked() {
        // RFC 4271 §4.3: the value of trailing bits is irrelevant.
        let r = NLRICodec.decode(hex("17 0aff99")[...], family: .ipv4)
        #expect(r.value == [pfx("10.255.152.0/23")])
    }

    @Test func encodedSizes() {
        #expect(pfx("10.0.0.0/8").encodedSize == 2)
        #expect(pfx("10.0.0.0/9").encodedSize == 3)
        #expect(pfx("::/0").encodedSize == 1)
    }
}
