import Foundation
import Simulator

/// A decoder-only transformer's shapes (Llama style: GQA attention, SwiGLU MLP), enough to count the weights a
/// forward pass reads and the FLOPs it does. Model files are YAML (or JSON for `.json`), keys below; unknown keys,
/// missing keys and non-positive values are one-line errors.
///
///     name: llama-3.1-8b
///     layers: 32
///     heads: 32
///     kv_heads: 8
///     head_dim: 128
///     hidden: 4096
///     intermediate: 14336     # SwiGLU width (gate, up, down projections)
///     vocab: 128256
///     tied_embeddings: false  # optional (default false): the LM head reuses the embedding matrix
///     dtype: bf16             # optional (default bf16)
///
/// A file may also say `preset: llama-3.1-8b` (optionally with `name`).
public struct ModelSpec: Equatable, Sendable {
    /// The model's name (a preset's name, or the file's `name`, "custom" if absent).
    public var name: String
    /// Number of transformer layers.
    public var layers: Int
    /// Query heads n_h per layer.
    public var heads: Int
    /// Key/value heads n_kv per layer (GQA); divides `heads`.
    public var kvHeads: Int
    /// Head dimension d_h.
    public var headDim: Int
    /// Hidden (model) width.
    public var hidden: Int
    /// SwiGLU MLP width (of the gate, up and down projections).
    public var intermediate: Int
    /// Vocabulary size (rows of the embedding and of the LM head).
    public var vocab: Int
    /// Whether the LM head reuses the embedding matrix.
    public var tiedEmbeddings: Bool
    /// Element type of the weights and the K/V cache: bf16, fp16, fp32, f64 or fp8.
    public var dtype: String

    /// Throws `StudyError.invalidArgument` when a size is below 1, `heads` is not a multiple of `kvHeads`, or the
    /// dtype is unknown.
    public init(
        name: String, layers: Int, heads: Int, kvHeads: Int, headDim: Int, hidden: Int, intermediate: Int,
        vocab: Int, tiedEmbeddings: Bool = false, dtype: String = "bf16"
    ) throws {
        for (v, key) in [
            (layers, "layers"), (heads, "heads"), (kvHeads, "kv_heads"), (headDim, "head_dim"),
            (hidden, "hidden"), (intermediate, "intermediate"), (vocab, "vocab"),
        ] {
            guard v >= 1 else { throw StudyError.invalidArgument("model '\(name)': \(key) must be >= 1, got \(v)") }
        }
        guard heads % kvHeads == 0 else {
            throw StudyError.invalidArgument(
                "model '\(name)': heads (\(heads)) must be a multiple of kv_heads (\(kvHeads))")
        }
        self.name = name
        self.layers = layers
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.hidden = hidden
        self.intermediate = intermediate
        self.vocab = vocab
        self.tiedEmbeddings = tiedEmbeddings
        self.dtype = dtype
        do {
            _ = try decodeWorkload(sequenceLength: 1)  // validates the dtype
        } catch SimulatorError.invalidArgument(let message) {
            throw StudyError.invalidArgument(message)
        }
    }

    /// Llama 3.1 8B (Meta's config.json): 32 layers, 32 heads, 8 KV heads, head dim 128, hidden 4096,
    /// intermediate 14336, vocab 128256, untied embeddings.
    public static let llama31_8B = try! ModelSpec(
        name: "llama-3.1-8b", layers: 32, heads: 32, kvHeads: 8, headDim: 128,
        hidden: 4096, intermediate: 14336, vocab: 128_256)
    /// Llama 3.2 1B: 16 layers, 32 heads, 8 KV heads, head dim 64, hidden 2048, intermediate 8192, vocab 128256,
    /// tied embeddings.
    public static let llama32_1B = try! ModelSpec(
        name: "llama-3.2-1b", layers: 16, heads: 32, kvHeads: 8, headDim: 64,
        hidden: 2048, intermediate: 8192, vocab: 128_256, tiedEmbeddings: true)

    /// The models `resolve` knows by name: Llama 3.1 8B and Llama 3.2 1B.
    public static let presets: [ModelSpec] = [.llama31_8B, .llama32_1B]

    /// A preset name or a model file path.
    public static func resolve(_ spec: String) throws -> ModelSpec {
        if let preset = presets.first(where: { $0.name == spec.lowercased() }) { return preset }
        if spec.hasSuffix(".yaml") || spec.hasSuffix(".yml") || spec.hasSuffix(".json") || spec.contains("/") {
            return try load(path: spec)
        }
        throw StudyError.invalidArgument(
            "unknown model '\(spec)' (presets: \(presets.map(\.name).joined(separator: ", ")), or a .yaml/.json file)")
    }

    /// Reads and parses the model file at `path` (JSON when it ends in `.json`, YAML otherwise). Throws
    /// `StudyError.file` when it cannot be read, `StudyError.invalidArgument` for invalid contents.
    public static func load(path: String) throws -> ModelSpec {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw StudyError.file(path: path, problem: "cannot read model file")
        }
        do {
            return try parse(text, json: path.hasSuffix(".json"), context: path)
        } catch let e as StudyError {
            throw e
        } catch {
            throw StudyError.file(path: path, problem: "\(error)")
        }
    }

    /// Parses model-file text (YAML, or JSON when `json`).
    public static func parse(_ text: String, json: Bool = false, context: String = "model") throws -> ModelSpec {
        let root: Any?
        do {
            root = try StructuredText.load(text, json: json)
        } catch let error as CoreError {
            throw StudyError.invalidArgument("\(context): \(error)")
        } catch {
            throw StudyError.invalidArgument("\(context): not valid \(json ? "JSON" : "YAML")")
        }
        guard let dict = root as? [String: Any] else {
            throw StudyError.invalidArgument("\(context): expected a mapping")
        }
        let allowed: Set<String> = [
            "name", "preset", "layers", "heads", "kv_heads", "head_dim", "hidden", "intermediate",
            "vocab", "tied_embeddings", "dtype",
        ]
        if let unknown = dict.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw StudyError.invalidArgument(
                "\(context): unknown key '\(unknown)' (known: \(allowed.sorted().joined(separator: ", ")))")
        }
        func int(_ key: String) throws -> Int {
            guard let v = dict[key] else { throw StudyError.invalidArgument("\(context): missing '\(key)'") }
            if let i = v as? Int { return i }
            if let d = v as? Double, d == d.rounded(), abs(d) < 1e12 { return Int(d) }
            throw StudyError.invalidArgument("\(context): '\(key)' must be an integer")
        }
        func string(_ key: String) throws -> String? {
            guard let v = dict[key] else { return nil }
            guard let s = v as? String else {
                throw StudyError.invalidArgument("\(context): '\(key)' must be a string")
            }
            return s
        }
        if let preset = try string("preset") {
            guard dict.keys.allSatisfy({ $0 == "preset" || $0 == "name" }) else {
                throw StudyError.invalidArgument("\(context): a preset file takes only 'preset' and 'name'")
            }
            guard var m = presets.first(where: { $0.name == preset.lowercased() }) else {
                throw StudyError.invalidArgument(
                    "\(context): unknown preset '\(preset)' (\(presets.map(\.name).joined(separator: ", ")))")
            }
            if let n = try string("name") { m.name = n }
            return m
        }
        var tied = false
        if let v = dict["tied_embeddings"] {
            guard let b = v as? Bool else {
                throw StudyError.invalidArgument("\(context): 'tied_embeddings' must be true or false")
            }
            tied = b
        }
        return try ModelSpec(
            name: try string("name") ?? "custom", layers: try int("layers"), heads: try int("heads"),
            kvHeads: try int("kv_heads"), headDim: try int("head_dim"), hidden: try int("hidden"),
            intermediate: try int("intermediate"), vocab: try int("vocab"), tiedEmbeddings: tied,
            dtype: try string("dtype") ?? "bf16")
    }

    /// The YAML text of this model (what `fixtures/models/*.yaml` hold).
    public var yaml: String {
        """
        name: \(name)
        layers: \(layers)
        heads: \(heads)
        kv_heads: \(kvHeads)
        head_dim: \(headDim)
        hidden: \(hidden)
        intermediate: \(intermediate)
        vocab: \(vocab)
        tied_embeddings: \(tiedEmbeddings)
        dtype: \(dtype)

        """
    }

    /// Weights of one layer: q (hidden x n_h d_h), k and v (hidden x n_kv d_h each), o (n_h d_h x hidden) and the
    /// SwiGLU MLP (3 x hidden x intermediate). Norm weights (2 x hidden) are included.
    public var layerParameters: Double {
        let h = Double(hidden), q = Double(heads * headDim), kv = Double(kvHeads * headDim), m = Double(intermediate)
        return h * q + 2 * h * kv + q * h + 3 * h * m + 2 * h
    }

    /// LM-head weights (vocab x hidden).
    public var headParameters: Double { Double(vocab) * Double(hidden) }

    /// All weights: layers, final norm, embedding, and the LM head unless tied.
    public var parameters: Double {
        Double(layers) * layerParameters + Double(hidden) + headParameters * (tiedEmbeddings ? 1 : 2)
    }

    /// One layer's attention as a decode workload (batch 1 unless given).
    public func decodeWorkload(sequenceLength: Int, batch: Int = 1, expandedKV: Bool = false) throws -> DecodeWorkload {
        try DecodeWorkload(
            sequenceLength: sequenceLength, batch: batch, heads: heads, kvHeads: expandedKV ? heads : kvHeads,
            headDim: headDim, dtype: dtype)
    }
}
