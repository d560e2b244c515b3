// libFuzzer target for the BGP message codec (Sources/BGP without the NIO shell), built by `hack/fuzz bgp`.
// It is compiled together with the pure codec files as one module, so it may use internal API.
//
// Input layout: octet 0 selects the session (see `FuzzConfig`), the rest is received TCP payload.
// Each input is (1) decoded as one whole message, and (2) framed by `BGPFrameSplitter` in chunks, every
// frame decoded in turn. Decode errors are expected and fine; a trap, a hang, a leak or a broken invariant
// below is a bug, reported by `invariant` aborting so libFuzzer saves the input.

import NetAddress
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The session an input is decoded for, from its first octet.
struct FuzzConfig {
    /// bit 0: 4-octet AS negotiated (RFC 6793); bit 1: iBGP peer (LOCAL_PREF accepted, RFC 7606 §7.5);
    /// bit 2: Extended Messages (RFC 8654: 65535-octet limit instead of 4096).
    let context: CodecContext
    /// bits 3-5: how many octets the frame splitter is fed at a time (TCP delivers arbitrary chunks).
    let chunkSize: Int

    static let chunkSizes = [1, 2, 3, 7, 19, 64, 512, Int.max]

    init(_ octet: UInt8) {
        context = CodecContext(fourOctetAS: octet & 1 != 0, isInternalPeer: octet & 2 != 0,
                               maxMessageLength: octet & 4 != 0 ? 65535 : BGPMessageHeader.maxLength)
        chunkSize = FuzzConfig.chunkSizes[Int(octet >> 3) & 7]
    }
}

/// Reports a broken invariant with the offending bytes and aborts: libFuzzer catches SIGABRT and writes the
/// input as a crash artefact. (Deliberately a trap: this is a test harness, not peer-facing code.)
func invariant(_ ok: Bool, _ what: @autoclosure () -> String, _ input: [UInt8], file: StaticString = #fileID, line: UInt = #line) {
    guard !ok else { return }
    let text = "BGP fuzz invariant broken (\(file):\(line)): \(what())\n  input: \(Hex.encode(input))\n"
    var bytes = Array(text.utf8)
    _ = write(2, &bytes, bytes.count)   // fd 2 directly: `stderr` is a global var, not concurrency-safe
    abort()
}

/// Decodes one complete message for `context`; on success checks the round trip, on failure checks that the
/// error can be answered with a NOTIFICATION. Returns whether it decoded.
@discardableResult
func checkMessage(_ m: [UInt8], _ context: CodecContext) -> Bool {
    let d: DecodedMessage
    do {
        d = try BGPMessage.decode(m, context: context)
    } catch {
        checkError(error, m, context)
        _ = error.description   // the log line for the session reset
        return false
    }
    // What we accepted we must be able to send again (RFC 4271 §9.1.3 propagation) within the same limits.
    let e: [UInt8]
    do {
        e = try d.message.encode(context: context)
    } catch {
        invariant(false, "decoded \(d.message.type) does not encode again: \(error)", m)
        return true
    }
    let d2: DecodedMessage
    do {
        d2 = try BGPMessage.decode(e, context: context)
    } catch {
        invariant(false, "our own encoding \(Hex.encode(e)) does not decode: \(error)", m)
        return true
    }
    invariant(d2.message == d.message, "round trip changed the message:\n  first  \(d.message)\n  second \(d2.message)", m)
    // Encoding is a fixed point: the canonical form re-encodes byte for byte.
    let e2 = try? d2.message.encode(context: context)
    invariant(e2 == e, "encoding not stable: \(Hex.encode(e)) then \(e2.map { Hex.encode($0) } ?? "error")", m)
    // A message that decoded cleanly stays clean; errors found while decoding our own output would mean we
    // produce malformed attributes.
    invariant(!d.updateErrors.isEmpty || d2.updateErrors.isEmpty,
              "clean UPDATE re-encodes to one with errors: \(d2.updateErrors)", m)
    // Every RFC 7606 handling carries an UPDATE Message Error (code 3) for the log.
    for h in d.updateErrors {
        invariant(h.error.code == .updateMessageError, "update error handling with code \(h.error.code)", m)
    }
    checkConsumers(d, m, context)
    return true
}

/// What the speaker does with a received message besides decoding it, all driven by peer octets: RFC 6793
/// §4.2.3 path reconstruction, RFC 7606 announce/withdraw sets, End-of-RIB detection, the log lines, and
/// passing the attributes on to a session of the other AS size (RFC 6793 §4.2.2).
func checkConsumers(_ d: DecodedMessage, _ m: [UInt8], _ context: CodecContext) {
    switch d.message {
    case .update(let u):
        let a = u.attributes
        if let path = a.effectiveASPath, let asPath = a.asPath {
            // RFC 6793 §4.2.3: leading AS_PATH entries fill in what AS4_PATH lacks, so the length is AS_PATH's.
            invariant(path.pathLength == asPath.pathLength,
                      "reconstructed path \(path) has length \(path.pathLength), AS_PATH \(asPath) has \(asPath.pathLength)", m)
            _ = path.firstAS
        }
        _ = a.effectiveAggregator
        let outcome: UpdateDecodeOutcome = d.updateErrors.isEmpty ? .clean(u) : .withErrors(u, d.updateErrors)
        _ = outcome.effectiveAnnounced.count + outcome.effectiveWithdrawn.count
        _ = u.endOfRIB
        var log = 0
        for h in d.updateErrors { log += h.description.utf8.count }
        for c in a.communities { log += c.description.utf8.count }
        for c in a.largeCommunities { log += c.description.utf8.count }
        log += (a.asPath?.description.utf8.count ?? 0) + (a.mpReach?.nextHop.description.utf8.count ?? 0)
        for p in u.announcedPrefixes + u.withdrawnPrefixes { log += p.description.utf8.count }
        _ = log
        // Propagation (RFC 4271 §9.1.3): Partial set on unknown transitive attributes; the same limits apply.
        let onward = UpdateMessage(withdrawnRoutes: u.withdrawnRoutes, attributes: a.forPropagation(), nlri: u.nlri)
        invariant((try? onward.encode(context: context)) != nil, "UPDATE prepared for propagation does not encode", m)
        // To a session of the other AS size the encoding may legitimately outgrow the limit (AS4_PATH is added),
        // but what we do send must decode there without a session reset.
        var other = context
        other.fourOctetAS.toggle()
        if let wire = try? BGPMessage.update(u).encode(context: other) {
            do { _ = try BGPMessage.decode(wire, context: other) } catch {
                invariant(false, "UPDATE re-encoded for fourOctetAS=\(other.fourOctetAS) is rejected there: \(error)", m)
            }
        }
    case .open(let o):
        _ = o.asNumber
        _ = try? o.validatePeerAS(65001)
        _ = CodecContext.negotiated(local: o, remote: o)
        _ = o.capabilities.map(\.description)
    case .notification(let n):
        _ = n.description
        _ = n.shutdownCommunication
    case .keepalive, .routeRefresh:
        break
    }
}

/// A decode error must be sendable as a NOTIFICATION on the same session (RFC 4271 §6: the error is reported
/// with a NOTIFICATION), and that NOTIFICATION must decode to the same code and subcode.
func checkError(_ failure: BGPError, _ m: [UInt8], _ context: CodecContext) {
    let n = failure.notification
    invariant(n.code == failure.code.rawValue && n.subcode == failure.subcode, "notification \(n) differs from \(failure)", m)
    let wire: [UInt8]
    do {
        wire = try BGPMessage.notification(n).encode(context: context)
    } catch {
        invariant(false, "NOTIFICATION for \(failure) cannot be encoded: \(error)", m)
        return
    }
    do {
        let back = try BGPMessage.decode(wire, context: context)
        guard case .notification(let n2) = back.message else {
            invariant(false, "NOTIFICATION decodes as \(back.message.type)", m)
            return
        }
        invariant(n2.code == n.code && n2.subcode == n.subcode, "NOTIFICATION \(n) came back as \(n2)", m)
    } catch {
        invariant(false, "our NOTIFICATION \(Hex.encode(wire)) does not decode: \(error)", m)
    }
}

/// Frames `stream` the way a TCP session would, `chunk` octets at a time, and checks the splitter's
/// bookkeeping: frames are consecutive whole messages of the stream, nothing is lost or duplicated, and a
/// framing error is sticky (RFC 4271 §6.1: the stream is out of sync, the session must end).
func checkSplitter(_ stream: [UInt8], _ config: FuzzConfig) {
    let ctx = config.context
    var s = BGPFrameSplitter(maxMessageLength: ctx.maxMessageLength)
    var fed = 0, consumed = 0, frames = 0
    var failure: BGPError?
    feeding: while fed < stream.count {
        let n = min(config.chunkSize, stream.count - fed)
        s.append(stream[fed..<(fed + n)])
        fed += n
        while true {
            do {
                guard let f = try s.next() else { break }
                frames += 1
                invariant(f.count >= BGPMessageHeader.size && f.count <= ctx.maxMessageLength, "frame of \(f.count) octets", stream)
                invariant(Int(f[16]) << 8 | Int(f[17]) == f.count, "frame length field differs from its size", stream)
                invariant(consumed + f.count <= fed && stream[consumed..<(consumed + f.count)].elementsEqual(f),
                          "frame \(frames) is not the next \(f.count) octets of the stream", stream)
                consumed += f.count
                checkMessage(f, ctx)
            } catch {
                failure = error
                break feeding
            }
        }
        invariant(consumed + s.bufferedByteCount == fed, "splitter holds \(s.bufferedByteCount) octets, expected \(fed - consumed)", stream)
    }
    if let failure {
        invariant(failure.code == .messageHeaderError, "framing error with code \(failure.code)", stream)
        do {
            _ = try s.next()
            invariant(false, "splitter recovered after \(failure)", stream)
        } catch {
            invariant(error == failure, "second framing error \(error) differs from the first \(failure)", stream)
        }
        checkError(failure, stream, ctx)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func bgpFuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let config = FuzzConfig(data[0])
    let stream = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let decoded = checkMessage(stream, config.context)
    // Whatever decodes as one message is also exactly one frame to the splitter (same header rules).
    if decoded {
        var s = BGPFrameSplitter(maxMessageLength: config.context.maxMessageLength)
        s.append(stream)
        let frames = try? s.drain()
        invariant(frames == [stream], "decodable message is framed as \(frames.map { "\($0.count) frames" } ?? "an error")", stream)
    }
    checkSplitter(stream, config)
    return 0
}
