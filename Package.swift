// swift-tools-version: 6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "swift-metallb",
    // Linux only: the speaker's sockets (AF_PACKET, SO_TIMESTAMPNS, SCHED_FIFO) exist nowhere else.
    products: [
        .executable(name: "metallb", targets: ["metallb"]),
        .library(name: "Kube", targets: ["Kube"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
    ],
    targets: [
        // IP, MAC and socket addresses, prefixes, ranges, the one parser of their text and a bounds-checked byte
        // reader: the vocabulary every other module shares. A leaf: the standard library only.
        .target(name: "NetAddress", swiftSettings: strict),
        .target(
            name: "Kube",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            swiftSettings: strict
        ),
        .target(name: "API", dependencies: ["NetAddress", "Kube"], swiftSettings: strict),
        .target(name: "Layer2", dependencies: ["NetAddress", "CLinuxSupport"], swiftSettings: strict),
        .target(
            name: "BGP",
            dependencies: [
                "NetAddress",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "BFD",
            dependencies: [
                "NetAddress",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .target(name: "CLinuxSupport"),
        .target(
            name: "Membership",
            dependencies: ["NetAddress", "CLinuxSupport", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        .target(name: "IPAM", dependencies: ["NetAddress", "API", "Kube"], swiftSettings: strict),
        // What every role shares: options, start/stop on ServiceLifecycle, leader election, the monitoring and
        // webhook servers, and the configuration pipeline that validates metallb.io objects and reports them.
        .target(
            name: "RoleKit",
            dependencies: [
                "NetAddress", "Kube", "API", "CLinuxSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "Controller",
            dependencies: [
                "NetAddress", "Kube", "IPAM", "API", "RoleKit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),
        // The speaker role: today the Layer 2 failover and BGP-with-BFD wiring the speaker is built on.
        .target(
            name: "Speaker",
            dependencies: ["NetAddress", "API", "Kube", "RoleKit", "Layer2", "Membership", "BGP", "BFD", "CLinuxSupport", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // The operator: renders the controller, speakers, RBAC and webhook for the `MetalLB` object (pure), applies
        // them with server-side apply, keeps them in place and reports on the `MetalLB` status.
        .target(
            name: "Operator",
            dependencies: [
                "API", "Kube", "RoleKit",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "metallb",
            dependencies: [
                "NetAddress",
                "Kube",
                "API",
                "RoleKit",
                "Controller",
                "Speaker",
                "Operator",
                "BGP", "BFD", "Layer2", "Membership",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "metallb-bench",
            dependencies: [
                "NetAddress",
                "Kube",
                "IPAM",
                "BGP",
                "RoleKit",
                "TestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(name: "TestSupport", swiftSettings: strict),
        .target(name: "KubeTestSupport", dependencies: ["Kube", "TestSupport"], path: "Sources/KubeTestSupport", swiftSettings: strict),
        .testTarget(
            name: "KubeTests",
            dependencies: ["Kube", "KubeTestSupport", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "BGPTests",
            dependencies: ["BGP", "NetAddress", "TestSupport"],
            exclude: ["Vectors"],
            swiftSettings: strict
        ),
        .testTarget(name: "BFDTests", dependencies: ["BFD", "NetAddress", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "MembershipTests", dependencies: ["Membership", "NetAddress", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "NetAddressTests", dependencies: ["NetAddress", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "IPAMTests", dependencies: ["IPAM", "API", "Kube", "NetAddress", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "APITests", dependencies: ["API", "NetAddress", "Kube", "KubeTestSupport"], exclude: ["Fixtures"], swiftSettings: strict),
        .testTarget(name: "ControllerTests", dependencies: ["Controller", "RoleKit", "NetAddress", "Kube", "IPAM", "API", "KubeTestSupport", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "RoleKitTests", dependencies: ["RoleKit", "Kube", .product(name: "ArgumentParser", package: "swift-argument-parser")], swiftSettings: strict),
        .testTarget(name: "OperatorTests", dependencies: ["Operator", "API", "Kube", "KubeTestSupport", "TestSupport", .product(name: "Yams", package: "Yams")], exclude: ["Golden"], swiftSettings: strict),
        .testTarget(name: "SpeakerTests", dependencies: ["Speaker", "API", "Kube", "KubeTestSupport", "NetAddress", "Layer2", "Membership", "BGP", "BFD", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "Layer2Tests",
            dependencies: ["Layer2", "NetAddress", "TestSupport"],
            exclude: ["Vectors"],
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6]
)
