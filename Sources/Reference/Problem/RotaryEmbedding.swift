/// Rotary position embeddings (RoPE) as kernels apply them to q and k inside attention: pairs of features rotated
/// by position times a frequency, in f64 with portable sin/cos (the same bits everywhere).
///
/// Pair i (0 ..< rotaryDim/2) has the inverse frequency theta^(-2i/rotaryDim) (Llama 3.1's scaling optional) and, at
/// position p, the angle p * invFreq_i. `neox` (GPT-NeoX, Llama, gpt-oss; FlashAttention's `rotary_interleaved=False`)
/// pairs features (i, i + rotaryDim/2); `gptj` (GPT-J, DeepSeek's rope keys; `rotary_interleaved=True`) pairs
/// (2i, 2i + 1). Each pair (a, b) becomes (a cos - b sin, b cos + a sin); features from rotaryDim on pass through
/// (partial rotary).
public struct RotaryEmbedding: Sendable, Equatable {
    /// Which features form a pair.
    public enum Layout: String, Sendable, CaseIterable {
        /// Halves: (i, i + rotaryDim/2), GPT-NeoX and `rotate_half`.
        case neox
        /// Interleaved: (2i, 2i + 1), GPT-J.
        case gptj
    }

    /// Llama 3.1's frequency scaling (meta-llama's `apply_scaling`, HF's `llama3` rope type): wavelengths 2 pi /
    /// invFreq above originalMax / lowFreqFactor are divided by `factor`, below originalMax / highFreqFactor kept, and
    /// blended in between with smooth = (originalMax / wavelength - lowFreqFactor) / (highFreqFactor -
    /// lowFreqFactor).
    public struct Llama3Scaling: Sendable, Equatable {
        /// The divisor of long wavelengths (8).
        public var factor = 8.0
        /// The low-frequency factor (1): wavelengths above originalMax / lowFreqFactor are divided by `factor`.
        public var lowFreqFactor = 1.0
        /// The high-frequency factor (4): wavelengths below originalMax / highFreqFactor are kept.
        public var highFreqFactor = 4.0
        /// The pretraining context (8192).
        public var originalMaxPosition = 8192.0

        /// Llama 3.1's values.
        public init() {}
    }

    /// The pairing.
    public var layout: Layout
    /// The number of rotated features (even, at most the head dimension).
    public var rotaryDim: Int
    /// The base theta (10000; Llama 3 uses 500000).
    public var theta: Double
    /// Llama 3.1's scaling, or nil.
    public var llama3: Llama3Scaling?

    /// Positions must lie in 0 ... `maxPosition` (their angles stay within `PortableMath.sinCosLimit`).
    public static let maxPosition = 1 << 20

    /// A rotary embedding; `validate(headDim:)` checks it against a problem.
    public init(layout: Layout, rotaryDim: Int, theta: Double = 10_000, llama3: Llama3Scaling? = nil) {
        (self.layout, self.rotaryDim, self.theta, self.llama3) = (layout, rotaryDim, theta, llama3)
    }

    /// Throws a one-line `ReferenceError.invalidOption` unless the rotary dim is even, positive and at most
    /// `headDim`, and theta is finite and above 1.
    public func validate(headDim: Int) throws {
        guard rotaryDim > 0, rotaryDim % 2 == 0, rotaryDim <= headDim else {
            throw ReferenceError.invalidOption(
                "rotary dim must be even, positive and at most the head dim (\(headDim)), got \(rotaryDim)")
        }
        guard theta.isFinite, theta > 1 else {
            throw ReferenceError.invalidOption("rope theta must be a finite number above 1, got \(theta)")
        }
        if let s = llama3 {
            guard
                [s.factor, s.lowFreqFactor, s.highFreqFactor, s.originalMaxPosition].allSatisfy({
                    $0.isFinite && $0 > 0
                }),
                s.highFreqFactor > s.lowFreqFactor
            else { throw ReferenceError.invalidOption("llama3 rope scaling needs positive factors, high > low") }
        }
    }

    /// The inverse frequency of each pair: theta^(-2i/rotaryDim) = exp(-(2i/rotaryDim) ln theta), then Llama 3.1's
    /// scaling.
    public var inverseFrequencies: [Double] {
        let logTheta = PortableMath.log(theta)
        return (0..<rotaryDim / 2).map { i in
            let base = PortableMath.exp(-Double(2 * i) / Double(rotaryDim) * logTheta)
            guard let s = llama3 else { return base }
            let wavelength = 2 * Double.pi / base
            let lowWavelength = s.originalMaxPosition / s.lowFreqFactor
            let highWavelength = s.originalMaxPosition / s.highFreqFactor
            if wavelength < highWavelength { return base }
            if wavelength > lowWavelength { return base / s.factor }
            let smooth = (s.originalMaxPosition / wavelength - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor)
            return (1 - smooth) * base / s.factor + smooth * base
        }
    }

    /// (cos, sin) of each pair's angle at `position`.
    public func cosSin(position: Int) -> (cos: [Double], sin: [Double]) {
        let pairs = inverseFrequencies.map { PortableMath.sinCos(Double(position) * $0) }
        return (pairs.map(\.cos), pairs.map(\.sin))
    }

    /// `x` (batch, heads, seq, dim) with row s of batch b rotated at `positions[b][s]` (rotated by minus the angle
    /// when `inverse`: the transpose, which takes a gradient of the rotated tensor back to the unrotated one).
    public func rotate<S: AttentionScalar>(_ x: Tensor<S>, positions: [[Int]], inverse: Bool = false) throws -> Tensor<
        S
    > {
        guard x.rank == 4 else { throw ReferenceError.shape("rotary input must be rank 4, got \(x.shape)") }
        let (b, h, s, d) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        try validate(headDim: d)
        guard positions.count == b, positions.allSatisfy({ $0.count == s }) else {
            throw ReferenceError.shape("rotary positions need (batch \(b), seq \(s)), got \(positions.map(\.count))")
        }
        if let bad = positions.joined().first(where: { $0 < 0 || $0 > Self.maxPosition }) {
            throw ReferenceError.invalidOption("rotary position \(bad) outside 0...\(Self.maxPosition)")
        }
        var out = x
        let half = rotaryDim / 2
        var tables: [Int: (cos: [Double], sin: [Double])] = [:]
        for bi in 0..<b {
            for si in 0..<s {
                let p = positions[bi][si]
                let (c, sn) = tables[p] ?? cosSin(position: p)
                tables[p] = (c, sn)
                for hi in 0..<h {
                    let base = ((bi * h + hi) * s + si) * d
                    for i in 0..<half {
                        let (ia, ib) = layout == .neox ? (i, i + half) : (2 * i, 2 * i + 1)
                        // In f64 whatever S is (an f32 tensor is rotated exactly as its f64 widening, then rounded).
                        let a = Double(x.data[base + ia]), bb = Double(x.data[base + ib])
                        let sine = inverse ? -sn[i] : sn[i]
                        out.data[base + ia] = S(a * c[i] - bb * sine)
                        out.data[base + ib] = S(bb * c[i] + a * sine)
                    }
                }
            }
        }
        return out
    }
}
