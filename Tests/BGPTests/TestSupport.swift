import Foundation
import NetAddress
@testable import BGP

/// Hex literal → bytes (whitespace allowed). Test input is trusted, so a typo yields an empty array that fails
/// the test rather than trapping.
func hex(_ s: String) -> [UInt8] { Hex.decode(s) ?? [] }

let marker = [UInt8](repeating: 0xFF, count: 16)

/// A whole message: marker, length, type, body (RFC 4271 §4.1).
func frame(_ type: UInt8, _ body: [UInt8]) -> [UInt8] {
    let len = 19 + body.count
    return marker + [UInt8(len >> 8), UInt8(len & 0xff), type] + body
}

/// An UPDATE body from its three parts (RFC 4271 §4.3).
func updateBody(withdrawn: [UInt8] = [], attrs: [UInt8] = [], nlri: [UInt8] = []) -> [UInt8] {
    [UInt8(withdrawn.count >> 8), UInt8(withdrawn.count & 0xff)] + withdrawn
        + [UInt8(attrs.count >> 8), UInt8(attrs.count & 0xff)] + attrs + nlri
}

func update(withdrawn: [UInt8] = [], attrs: [UInt8] = [], nlri: [UInt8] = []) -> [UInt8] {
    frame(2, updateBody(withdrawn: withdrawn, attrs: attrs, nlri: nlri))
}

/// One path attribute with a 1-octet length.
func attr(_ flags: UInt8, _ type: UInt8, _ value: [UInt8]) -> [UInt8] { [flags, type, UInt8(value.count)] + value }

/// ORIGIN IGP, AS_PATH [65001] (4-octet), NEXT_HOP 192.0.2.1.
let baseAttrs = attr(0x40, 1, [0]) + attr(0x40, 2, hex("02 01 0000fde9")) + attr(0x40, 3, hex("c0000201"))
/// 198.51.100.0/24 as NLRI.
let someNLRI = hex("18 c63364")

func decodeError(_ bytes: [UInt8], context: CodecContext = CodecContext()) -> BGPError? {
    do {
        _ = try BGPMessage.decode(bytes, context: context)
        return nil
    } catch {
        return error
    }
}

func decodeUpdate(_ bytes: [UInt8], context: CodecContext = CodecContext()) -> Result<UpdateDecodeOutcome, BGPError> {
    do {
        return .success(try UpdateMessage.decode(message: bytes, context: context))
    } catch {
        return .failure(error)
    }
}

extension Result {
    var value: Success? { if case .success(let v) = self { v } else { nil } }
    var failure: Failure? { if case .failure(let e) = self { e } else { nil } }
}

func pfx(_ s: String) -> IPPrefix { IPPrefix(s) ?? IPPrefix(masking: .v4(.any), length: 0) }
func v4(_ s: String) -> IPv4Address { IPv4Address(s) ?? .any }
func v6(_ s: String) -> IPv6Address { IPv6Address(s) ?? .any }

