import Crypto
import Foundation

/// The shared secret keys that authenticate membership messages (the counterpart of MetalLB's memberlist secret key).
///
/// Messages are signed with `primary`; any key in `accepted` (which always includes `primary`) verifies.
/// Rotation without a flag day: add the new key to `accepted` on every node, then make it primary everywhere,
/// then drop the old one.
// @unchecked: SymmetricKey is an immutable value (never mutated after init), it only lacks the annotation.
public struct MembershipKeyring: @unchecked Sendable {
    /// Shortest key accepted: HMAC-SHA256 keys shorter than 16 bytes give less than 128 bits of security.
    public static let minimumKeyLength = 16

    public let primary: SymmetricKey
    public let accepted: [SymmetricKey]

    public enum KeyError: Error, Equatable, CustomStringConvertible {
        case tooShort(index: Int, length: Int)
        case empty

        public var description: String {
            switch self {
            case .tooShort(let index, let length):
                return "membership key #\(index) is \(length) bytes; at least \(MembershipKeyring.minimumKeyLength) are required"
            case .empty:
                return "no membership key given"
            }
        }
    }

    /// - Parameters:
    ///   - primary: key bytes used to sign (at least 16 bytes; MetalLB's memberlist secret is 128 bytes of random).
    ///   - additional: older or newer keys still accepted when verifying.
    public init(primary: some Collection<UInt8>, additional: [[UInt8]] = []) throws(KeyError) {
        guard primary.count >= Self.minimumKeyLength else { throw .tooShort(index: 0, length: primary.count) }
        for (i, k) in additional.enumerated() where k.count < Self.minimumKeyLength {
            throw .tooShort(index: i + 1, length: k.count)
        }
        self.primary = SymmetricKey(data: Array(primary))
        self.accepted = [self.primary] + additional.map { SymmetricKey(data: $0) }
    }

    /// A keyring from a Kubernetes-style secret value: the bytes of the string as given (MetalLB's `secretkey`).
    public init(secret: String) throws(KeyError) {
        try self.init(primary: Array(secret.utf8))
    }

    func sign(_ bytes: some DataProtocol) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: bytes, using: primary))
    }

    func verify(_ mac: some DataProtocol, over bytes: some DataProtocol) -> Bool {
        // isValidAuthenticationCode compares in constant time.
        let macBytes = Array(mac)
        return accepted.contains { HMAC<SHA256>.isValidAuthenticationCode(macBytes, authenticating: bytes, using: $0) }
    }
}
