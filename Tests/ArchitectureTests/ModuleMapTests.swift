import Foundation
import Testing

/// The module map in README.md ("Module map", a Mermaid graph of `A --> B` edges: A imports B) is the one drawing of
/// the architecture. These tests fail when a target imports a module the map does not show, when the map shows an
/// import no file makes, or when Package.swift declares different dependencies.
@Suite struct ModuleMapTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// Modules of the platform, not part of the map.
    static let system: Set<String> = ["Foundation", "Dispatch", "Glibc", "Darwin"]

    /// Products of package dependencies and the modules they bring.
    static let products: [String: Set<String>] = [
        "ArgumentParser": ["ArgumentParser"], "Collections": ["Collections", "DequeModule", "HeapModule"],
        "Numerics": ["Numerics", "RealModule"], "Yams": ["Yams"],
    ]

    /// The edges of README's map: importer -> imported modules.
    static func mapEdges() throws -> [String: Set<String>] {
        let readme = try String(contentsOfFile: root + "/README.md", encoding: .utf8)
        guard let section = readme.range(of: "## Module map"),
            let start = readme.range(of: "```mermaid", range: section.upperBound..<readme.endIndex),
            let end = readme.range(of: "```", range: start.upperBound..<readme.endIndex)
        else {
            throw CocoaError(
                .fileReadCorruptFile,
                userInfo: [NSLocalizedDescriptionKey: "README.md has no Mermaid block under '## Module map'"])
        }
        var edges: [String: Set<String>] = [:]
        for line in readme[start.upperBound..<end.lowerBound].split(separator: "\n") {
            let parts = line.components(separatedBy: "-->").map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { continue }
            func name(_ s: String) -> String { String(s.prefix { $0.isLetter || $0.isNumber }) }
            edges[name(parts[0]), default: []].insert(name(parts[1]))
        }
        return edges
    }

    /// Every module a source target imports (`import X`, `@_exported import X`), system modules left out.
    static func imports() throws -> [String: Set<String>] {
        let sources = root + "/Sources"
        var result: [String: Set<String>] = [:]
        for target in try FileManager.default.contentsOfDirectory(atPath: sources).sorted() {
            var modules = Set<String>()
            let files =
                FileManager.default.enumerator(atPath: sources + "/" + target)?.compactMap { $0 as? String } ?? []
            for file in files where file.hasSuffix(".swift") {
                let text = try String(contentsOfFile: sources + "/\(target)/\(file)", encoding: .utf8)
                for line in text.split(separator: "\n") {
                    let words = line.split(separator: " ")
                    guard let i = words.firstIndex(of: "import"), words[..<i].allSatisfy({ $0.hasPrefix("@") }),
                        i + 1 < words.count
                    else { continue }
                    modules.insert(String(words[i + 1]))
                }
            }
            result[target] = modules.subtracting(system)
        }
        return result
    }

    /// Each target's dependencies in Package.swift (targets by name, products expanded to their modules).
    static func packageDependencies() throws -> [String: Set<String>] {
        let text = try String(contentsOfFile: root + "/Package.swift", encoding: .utf8)
        var result: [String: Set<String>] = [:]
        let pattern = try NSRegularExpression(
            pattern:
                #"\.(?:target|executableTarget)\(\s*name: "(\w+)"(?:,\s*path: "[^"]*")?(?:,\s*dependencies: \[(.*?)\])?"#,
            options: [.dotMatchesLineSeparators])
        for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            let name = String(text[Range(match.range(at: 1), in: text)!])
            var deps = Set<String>()
            if let r = Range(match.range(at: 2), in: text) {
                let list = String(text[r])
                for product in try NSRegularExpression(pattern: #"\.product\(name: "(\w+)""#).matches(
                    in: list, range: NSRange(list.startIndex..., in: list))
                {
                    deps.insert(String(list[Range(product.range(at: 1), in: list)!]))
                }
                let bare = list.replacingOccurrences(of: #"\.product\([^)]*\)"#, with: "", options: .regularExpression)
                for target in try NSRegularExpression(pattern: #""(\w+)""#).matches(
                    in: bare, range: NSRange(bare.startIndex..., in: bare))
                {
                    deps.insert(String(bare[Range(target.range(at: 1), in: bare)!]))
                }
            }
            result[name] = deps
        }
        return result
    }

    @Test func everyImportIsOnTheMapAndEveryEdgeIsAnImport() throws {
        let map = try Self.mapEdges(), imports = try Self.imports()
        #expect(!map.isEmpty)
        for (target, modules) in imports {
            let drawn = map[target] ?? []
            #expect(
                modules.subtracting(drawn).isEmpty,
                "\(target) imports \(modules.subtracting(drawn).sorted()) but the map does not show it")
            #expect(
                drawn.subtracting(modules).isEmpty,
                "the map shows \(target) --> \(drawn.subtracting(modules).sorted()) but no file imports it")
        }
        for importer in map.keys {
            #expect(imports[importer] != nil, "the map shows \(importer), which is not a folder of Sources/")
        }
    }

    @Test func packageSwiftDeclaresWhatTheMapShows() throws {
        let map = try Self.mapEdges(), declared = try Self.packageDependencies()
        #expect(
            Set(declared.keys) == Set(try Self.imports().keys).subtracting(["COpenBLAS", "CMPI"]),
            "Package.swift's targets are the folders of Sources/")
        for (target, deps) in declared {
            let modules = deps.reduce(into: Set<String>()) { $0.formUnion(Self.products[$1] ?? [$1]) }
            let drawn = map[target] ?? []
            #expect(
                drawn.subtracting(modules).isEmpty,
                "\(target): the map shows \(drawn.subtracting(modules).sorted()), not declared in Package.swift")
            let unused = deps.filter { dep in (Self.products[dep] ?? [dep]).isDisjoint(with: drawn) }
            #expect(unused.isEmpty, "\(target) declares \(unused.sorted()) in Package.swift, but imports none of it")
        }
    }

    /// Libraries below the command line never import the argument parser or MPI, and the core needs neither BLAS
    /// nor the event core: the arrows point one way.
    @Test func arrowsPointOneWay() throws {
        let imports = try Self.imports()
        for library in ["TreeCore", "Reference", "Simulator", "Studies", "Walkthrough", "Benchmarks", "Distributed"] {
            #expect(!(imports[library] ?? []).contains("ArgumentParser"), "\(library) imports ArgumentParser")
            #expect(!(imports[library] ?? []).contains("CLICommon"), "\(library) imports CLICommon")
        }
        #expect((imports["TreeCore"] ?? []).isDisjoint(with: ["Reference", "Simulator", "COpenBLAS", "CKernels"]))
        #expect((imports["Simulator"] ?? []).isDisjoint(with: ["Reference", "COpenBLAS", "CKernels", "CMPI"]))
        #expect((imports["CLICommon"] ?? []).isDisjoint(with: ["Simulator", "Studies", "CMPI", "Distributed"]))
        for target in imports.keys where !["Distributed", "MPICLI"].contains(target) {
            #expect(
                !(imports[target] ?? []).contains("CMPI") && !(imports[target] ?? []).contains("Distributed"),
                "\(target) links MPI")
        }
    }
}

/// Each target's README lists every one of its source files (by file name without `.swift`), so a newcomer finds a
/// concept from the README in one click, and a new file cannot be added without saying where it belongs.
@Suite struct TargetReadmeTests {
    @Test func everyTargetReadmeListsAllItsFiles() throws {
        let sources = ModuleMapTests.root + "/Sources"
        for target in try FileManager.default.contentsOfDirectory(atPath: sources).sorted() {
            let readmePath = sources + "/\(target)/README.md"
            guard FileManager.default.fileExists(atPath: readmePath) else {
                Issue.record("Sources/\(target) has no README.md")
                continue
            }
            let readme = try String(contentsOfFile: readmePath, encoding: .utf8)
            let files =
                FileManager.default.enumerator(atPath: sources + "/" + target)?.compactMap { $0 as? String } ?? []
            for file in files where file.hasSuffix(".swift") || file.hasSuffix(".c") || file.hasSuffix(".h") {
                let name = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
                #expect(readme.contains(name), "Sources/\(target)/README.md does not mention \(file)")
            }
        }
    }

    /// Every command file is a thin shell: parse, call, print. About 100 lines at most.
    @Test func commandFilesStayThin() throws {
        for target in ["CLI", "MPICLI"] {
            let folder = ModuleMapTests.root + "/Sources/\(target)"
            for file in try FileManager.default.contentsOfDirectory(atPath: folder) where file.hasSuffix(".swift") {
                let lines = try String(contentsOfFile: folder + "/" + file, encoding: .utf8).split(
                    separator: "\n", omittingEmptySubsequences: false)
                #expect(lines.count <= 120, "Sources/\(target)/\(file) has \(lines.count) lines")
            }
        }
    }
}
