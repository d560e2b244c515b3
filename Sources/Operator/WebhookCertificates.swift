import Crypto
import Foundation
import X509

/// The webhook's certificate authority and serving certificate, kept in one Secret (`tls.crt`, `tls.key`, `ca.crt`,
/// `ca.key`).
///
/// The CA lives 10 years and signs a serving certificate of 1 year for `<service>.<namespace>.svc`. `ensure` keeps
/// what is valid and replaces what is missing, unreadable, for another name, or close to expiry: the serving
/// certificate 30 days before, the CA 90 days before (a new CA then signs a new serving certificate, and the
/// caBundle carries the old CA too while it is valid, so that the API server trusts the webhook during the switch).
public struct WebhookCertificates: Sendable, Hashable {
    public static let caLifetime: TimeInterval = 10 * 365 * 86_400
    public static let servingLifetime: TimeInterval = 365 * 86_400
    public static let servingRenewBefore: TimeInterval = 30 * 86_400
    public static let caRenewBefore: TimeInterval = 90 * 86_400

    /// The Secret's data (PEM text per key).
    public var data: [String: String]
    /// PEM of the CA certificates the API server must trust (the current CA, plus the previous one while valid).
    public var caBundle: String
    /// What changed, for the log; empty when everything was kept.
    public var changes: [String]

    public enum CertificateError: Error, CustomStringConvertible {
        case generation(String)
        public var description: String {
            switch self {
            case .generation(let s): "webhook certificate: \(s)"
            }
        }
    }

    /// Keeps or renews the certificates in `current` (a Secret's data, decoded) for `dnsNames`, at `now`.
    public static func ensure(current: [String: String], dnsNames: [String], now: Date = Date()) throws(CertificateError) -> WebhookCertificates {
        do {
            return try ensureThrowing(current: current, dnsNames: dnsNames, now: now)
        } catch let e as CertificateError {
            throw e
        } catch {
            throw .generation("\(error)")
        }
    }

    private static func ensureThrowing(current: [String: String], dnsNames: [String], now: Date) throws -> WebhookCertificates {
        var changes: [String] = []
        var data = current
        // The CA: kept while it parses, matches its key and has more than caRenewBefore left.
        var ca: (Certificate, P256.Signing.PrivateKey)?
        var previousCA: Certificate?
        if let pem = current["ca.crt"], let keyPEM = current["ca.key"],
           let cert = try? Certificate(pemEncoded: pem), let key = try? P256.Signing.PrivateKey(pemRepresentation: keyPEM),
           cert.publicKey == Certificate.PublicKey(key.publicKey) {
            if cert.notValidAfter.timeIntervalSince(now) > caRenewBefore {
                ca = (cert, key)
            } else if cert.notValidAfter > now {
                previousCA = cert
            }
        }
        if ca == nil {
            let key = P256.Signing.PrivateKey()
            let name = try DistinguishedName {
                OrganizationName("metallb")
                CommonName("metallb-webhook-ca")
            }
            let cert = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
                notValidBefore: now - 300, notValidAfter: now + caLifetime, issuer: name, subject: name,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                    SubjectKeyIdentifier(hash: .init(key.publicKey))
                },
                issuerPrivateKey: .init(key))
            ca = (cert, key)
            data["ca.crt"] = try cert.serializeAsPEM().pemString
            data["ca.key"] = key.pemRepresentation
            if let previous = previousCA { data["ca-previous.crt"] = try previous.serializeAsPEM().pemString } else { data["ca-previous.crt"] = nil }
            changes.append(previousCA == nil ? "created the CA" : "renewed the CA (the previous one expires \(previousCA!.notValidAfter))")
        } else if let previousPEM = current["ca-previous.crt"], let previous = try? Certificate(pemEncoded: previousPEM),
                  previous.notValidAfter > now {
            previousCA = previous
        } else if current["ca-previous.crt"] != nil {
            data["ca-previous.crt"] = nil
        }
        let (caCert, caKey) = ca!

        // The serving certificate: kept while it parses, matches its key, was signed by this CA, names every DNS name
        // and has more than servingRenewBefore left.
        var keep = false
        if let pem = current["tls.crt"], let keyPEM = current["tls.key"], !changes.contains(where: { $0.contains("CA") }),
           let cert = try? Certificate(pemEncoded: pem), let key = try? P256.Signing.PrivateKey(pemRepresentation: keyPEM),
           cert.publicKey == Certificate.PublicKey(key.publicKey), cert.issuer == caCert.subject,
           caCert.publicKey.isValidSignature(cert.signature, for: cert),
           cert.notValidAfter.timeIntervalSince(now) > servingRenewBefore,
           let san = try? cert.extensions.subjectAlternativeNames,
           Set(dnsNames).isSubset(of: Set(san.compactMap { if case .dnsName(let n) = $0 { n } else { nil } })) {
            keep = true
        }
        if !keep {
            let key = P256.Signing.PrivateKey()
            let subject = try DistinguishedName {
                OrganizationName("metallb")
                CommonName(dnsNames.first ?? "metallb-webhook")
            }
            let cert = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
                notValidBefore: now - 300, notValidAfter: min(now + servingLifetime, caCert.notValidAfter),
                issuer: caCert.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true))
                    try ExtendedKeyUsage([.serverAuth])
                    SubjectAlternativeNames(dnsNames.map { .dnsName($0) })
                },
                issuerPrivateKey: .init(caKey))
            data["tls.crt"] = try cert.serializeAsPEM().pemString
            data["tls.key"] = key.pemRepresentation
            changes.append(current["tls.crt"] == nil ? "created the serving certificate" : "renewed the serving certificate")
        }
        var bundle = try caCert.serializeAsPEM().pemString
        if let previousCA { bundle += "\n" + (try previousCA.serializeAsPEM().pemString) }
        data["ca.crt"] = try caCert.serializeAsPEM().pemString
        return WebhookCertificates(data: data, caBundle: bundle + "\n", changes: changes)
    }

    /// When the serving certificate in `data` expires (nil when there is none that parses).
    public static func servingExpiry(_ data: [String: String]) -> Date? {
        data["tls.crt"].flatMap { try? Certificate(pemEncoded: $0) }?.notValidAfter
    }
}
