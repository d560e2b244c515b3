import API
import ArgumentParser
import Foundation
import Kube

/// `metallb validate`: the configuration rules of the webhook and the controller, offline.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a MetalLB configuration (multi-document YAML or JSON) without a cluster.",
        discussion: """
            Reads every document of FILE (or of every .yaml, .yml and .json file in DIR, or standard input
            for -), validates the metallb.io objects together as one configuration with the same rules
            the webhook and the controller use, and lists every error and warning with the object, the
            field and what is allowed. Exit status: 0 when valid (warnings allowed), 1 when not, 2 when
            the input cannot be read.
            """)

    @Option(name: .shortAndLong, help: "A file, a directory, or - for standard input.")
    var filename: String

    @Option(name: .shortAndLong, help: "Output format: text or json.")
    var output: String = "text"

    @Option(help: "The namespace the operator and its configuration live in.")
    var operatorNamespace: String = MetalLBAPI.defaultNamespace

    func validate() throws {
        guard ["text", "json"].contains(output) else { throw ValidationError("--output must be text or json, not '\(output)'") }
    }

    func run() throws {
        let documents: [JSONValue]
        do {
            documents = try Self.read(filename)
        } catch {
            writeStandardError("metallb validate: \(error)\n")
            throw ExitCode(2)
        }
        let report = Validation.validate(documents: documents, operatorNamespace: operatorNamespace)
        if output == "json" {
            func item(_ e: API.ValidationError) -> JSONValue {
                [
                    "severity": .string(e.severity.rawValue), "kind": .string(e.kind),
                    "namespace": e.namespace.map(JSONValue.string) ?? .null, "name": .string(e.name),
                    "field": .string(e.field), "message": .string(e.message),
                ]
            }
            let out: JSONValue = [
                "valid": .bool(report.isValid), "objects": .int(Int64(documents.count)),
                "errors": .array(report.errors.map(item)), "warnings": .array(report.warnings.map(item)),
            ]
            let e = JSONEncoder()
            e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: (try? e.encode(out)) ?? Data(), as: UTF8.self))
        } else {
            for e in report.errors { print("error: \(e)") }
            for w in report.warnings { print("warning: \(w)") }
            let verdict = report.isValid ? "valid" : "invalid"
            print("\(filename): \(verdict): \(documents.count) objects, \(report.errors.count) errors, \(report.warnings.count) warnings")
        }
        if !report.isValid { throw ExitCode(1) }
    }

    /// Every document of the input, `List` documents expanded into their items.
    static func read(_ path: String) throws -> [JSONValue] {
        var texts: [(String, String)] = []
        if path == "-" {
            texts.append(("stdin", String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)))
        } else {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
                throw YAMLDocuments.ParseError(message: "\(path): no such file or directory")
            }
            let files: [String]
            if isDir.boolValue {
                let names = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
                files = names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") || $0.hasSuffix(".json") }.map { path + "/" + $0 }
                if files.isEmpty { throw YAMLDocuments.ParseError(message: "\(path): no .yaml, .yml or .json file") }
            } else {
                files = [path]
            }
            for f in files {
                guard let d = FileManager.default.contents(atPath: f) else { throw YAMLDocuments.ParseError(message: "\(f): cannot read") }
                texts.append((f, String(decoding: d, as: UTF8.self)))
            }
        }
        var docs: [JSONValue] = []
        for (name, text) in texts {
            for doc in try YAMLDocuments.parse(text, source: name) {
                if let kind = doc["kind"]?.stringValue, kind.hasSuffix("List"), let items = doc["items"]?.arrayValue {
                    docs.append(contentsOf: items)
                } else {
                    docs.append(doc)
                }
            }
        }
        return docs
    }
}
