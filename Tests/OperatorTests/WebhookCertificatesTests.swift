import Foundation
import Operator
import Testing
import X509

/// The webhook's CA and serving certificate: created, kept, renewed before expiry, replaced when wrong.
struct WebhookCertificatesTests {
    static let names = ["metallb-webhook-service.metallb-system.svc", "metallb-webhook-service.metallb-system.svc.cluster.local"]
    static let day: TimeInterval = 86_400

    @Test func createdThenKept() throws {
        let now = Date()
        let first = try WebhookCertificates.ensure(current: [:], dnsNames: Self.names, now: now)
        #expect(first.changes == ["created the CA", "created the serving certificate"])
        for key in ["tls.crt", "tls.key", "ca.crt", "ca.key"] { #expect(first.data[key]?.contains("-----BEGIN") == true, "\(key)") }
        // The serving certificate is signed by the CA, names the Service, and is valid for a year.
        let ca = try Certificate(pemEncoded: try #require(first.data["ca.crt"]))
        let leaf = try Certificate(pemEncoded: try #require(first.data["tls.crt"]))
        #expect(ca.publicKey.isValidSignature(leaf.signature, for: leaf))
        #expect(leaf.issuer == ca.subject)
        let san = try #require(try leaf.extensions.subjectAlternativeNames)
        #expect(Set(san.compactMap { if case .dnsName(let n) = $0 { n } else { nil } }) == Set(Self.names))
        #expect(abs(leaf.notValidAfter.timeIntervalSince(now) - WebhookCertificates.servingLifetime) < 10)
        #expect(try #require(try ca.extensions.basicConstraints) == .isCertificateAuthority(maxPathLength: 0))
        #expect(first.caBundle.contains(try #require(first.data["ca.crt"]).trimmingCharacters(in: .whitespacesAndNewlines)))
        // A day later nothing changes.
        let again = try WebhookCertificates.ensure(current: first.data, dnsNames: Self.names, now: now + Self.day)
        #expect(again.changes.isEmpty)
        #expect(again.data == first.data)
    }

    @Test func servingCertificateRenewedBeforeExpiryWithTheSameCA() throws {
        let now = Date()
        let first = try WebhookCertificates.ensure(current: [:], dnsNames: Self.names, now: now)
        let later = now + WebhookCertificates.servingLifetime - 29 * Self.day
        let renewed = try WebhookCertificates.ensure(current: first.data, dnsNames: Self.names, now: later)
        #expect(renewed.changes == ["renewed the serving certificate"])
        #expect(renewed.data["ca.crt"] == first.data["ca.crt"])
        #expect(renewed.data["tls.crt"] != first.data["tls.crt"])
        let leaf = try Certificate(pemEncoded: try #require(renewed.data["tls.crt"]))
        #expect(leaf.notValidAfter > later + 300 * Self.day)
    }

    @Test func caRenewedBeforeExpiryAndTheOldOneStaysInTheBundle() throws {
        let now = Date()
        let first = try WebhookCertificates.ensure(current: [:], dnsNames: Self.names, now: now)
        let later = now + WebhookCertificates.caLifetime - 60 * Self.day
        let renewed = try WebhookCertificates.ensure(current: first.data, dnsNames: Self.names, now: later)
        #expect(renewed.changes.count == 2)
        #expect(renewed.changes.first?.hasPrefix("renewed the CA") == true)
        #expect(renewed.data["ca.crt"] != first.data["ca.crt"])
        // Both CAs are trusted during the switch.
        let bundle = renewed.caBundle
        #expect(bundle.components(separatedBy: "BEGIN CERTIFICATE").count - 1 == 2)
        #expect(bundle.contains(try #require(first.data["ca.crt"]).trimmingCharacters(in: .whitespacesAndNewlines)))
        // Once the old CA has expired, it leaves the bundle.
        let muchLater = now + WebhookCertificates.caLifetime + Self.day
        let after = try WebhookCertificates.ensure(current: renewed.data, dnsNames: Self.names, now: muchLater)
        #expect(after.caBundle.components(separatedBy: "BEGIN CERTIFICATE").count - 1 == 1)
        #expect(after.data["ca-previous.crt"] == nil)
    }

    @Test func wrongNameBrokenDataOrForeignKeyAreReplaced() throws {
        let now = Date()
        let first = try WebhookCertificates.ensure(current: [:], dnsNames: Self.names, now: now)
        // Another Service name (the namespace changed): a new serving certificate from the same CA.
        let other = try WebhookCertificates.ensure(current: first.data, dnsNames: ["x.other.svc"], now: now)
        #expect(other.changes == ["renewed the serving certificate"])
        #expect(other.data["ca.crt"] == first.data["ca.crt"])
        // Garbage in the certificate: replaced.
        var broken = first.data
        broken["tls.crt"] = "not a certificate"
        #expect(try WebhookCertificates.ensure(current: broken, dnsNames: Self.names, now: now).changes == ["renewed the serving certificate"])
        // A CA key that does not match the CA: a new CA (and so a new serving certificate).
        let foreign = try WebhookCertificates.ensure(current: [:], dnsNames: Self.names, now: now)
        var mixed = first.data
        mixed["ca.key"] = foreign.data["ca.key"]
        let fixed = try WebhookCertificates.ensure(current: mixed, dnsNames: Self.names, now: now)
        #expect(fixed.changes == ["created the CA", "renewed the serving certificate"])
    }
}
