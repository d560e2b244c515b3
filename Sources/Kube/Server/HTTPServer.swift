import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A reply of `HTTPServer`'s handler.
public struct HTTPReply: Sendable {
    public var status: HTTPResponseStatus
    public var contentType: String
    public var body: ByteBuffer

    public init(_ status: HTTPResponseStatus, contentType: String = "application/json", body: ByteBuffer) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    public init(_ status: HTTPResponseStatus, contentType: String = "text/plain; charset=utf-8", text: String) {
        self.init(status, contentType: contentType, body: ByteBuffer(string: text))
    }
}

/// A small HTTP/1.1 server on NIO for the endpoints every role serves (webhook, metrics,
/// probes): one handler for every request, keep-alive, bodies up to 8 MiB, and optional TLS
/// whose context is asked for on every new connection (so a rotated certificate is used at once).
public final class HTTPServer: Sendable {
    public typealias Handler = @Sendable (HTTPRequestHead, ByteBuffer) async -> HTTPReply

    public let host: String
    public let port: Int
    let tls: (@Sendable () throws -> NIOSSLContext)?
    let handler: Handler
    let logger: Logger
    private let boundPort = NIOLockedValueBox<Int?>(nil)

    public init(host: String, port: Int, tls: (@Sendable () throws -> NIOSSLContext)? = nil, logger: Logger, handler: @escaping Handler) {
        self.host = host
        self.port = port
        self.tls = tls
        self.handler = handler
        self.logger = logger
    }

    /// The port actually bound (useful with port 0); nil until listening.
    public var localPort: Int? { boundPort.withLockedValue { $0 } }

    /// Serves until the calling task is cancelled; throws when it cannot listen.
    public func run() async throws {
        let tls = self.tls
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { child in
                child.eventLoop.makeCompletedFuture {
                    if let tls { try child.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: try tls())) }
                    try child.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: child)
                }
            }
        let bound = channel.channel.localAddress?.port ?? port
        boundPort.withLockedValue { $0 = bound }
        logger.info("listening", metadata: ["address": "\(host):\(bound)", "tls": "\(tls != nil)"])
        try await withTaskCancellationHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await channel.executeThenClose { inbound in
                    for try await connection in inbound {
                        group.addTask { await self.serve(connection) }
                    }
                }
            }
        } onCancel: {
            channel.channel.close(promise: nil)
        }
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                var body = ByteBuffer()
                for try await part in inbound {
                    switch part {
                    case .head(let h):
                        head = h
                        body.clear()
                    case .body(var b):
                        if body.readableBytes + b.readableBytes > 8 << 20 { throw KubeError.decoding("request body over 8 MiB") }
                        body.writeBuffer(&b)
                    case .end:
                        guard let h = head else { continue }
                        let reply = await handler(h, body)
                        var headers = HTTPHeaders()
                        headers.add(name: "Content-Type", value: reply.contentType)
                        headers.add(name: "Content-Length", value: String(reply.body.readableBytes))
                        try await outbound.write(.head(HTTPResponseHead(version: h.version, status: reply.status, headers: headers)))
                        try await outbound.write(.body(.byteBuffer(reply.body)))
                        try await outbound.write(.end(nil))
                    }
                }
            }
        } catch {
            logger.debug("connection ended", metadata: ["error": "\(error)"])
        }
    }
}
