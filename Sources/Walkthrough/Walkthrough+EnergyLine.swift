import Reference

extension Walkthrough {
    /// The energy along one coordinate of zeta: F(t e_c) at t = -2, -1.75, ..., 2. F is convex and its slope at
    /// t = 0 is o_c, the attention output's coordinate c (`centralDifference[c]` measures it).
    public struct EnergyLine: Codable, Sendable {
        /// The coordinate c of zeta.
        public var component: Int
        /// The points t.
        public var t: [Double]
        /// F(t e_c) at each point, from `AttentionEnergy`.
        public var energy: [Double]
    }

    /// The points of `EnergyLine.t`: 17 steps of 0.25 from -2 to 2.
    static let energyLinePoints = (0...16).map { Double($0) * 0.25 - 2 }

    /// F(t e_c) over `energyLinePoints`.
    static func energyLine(_ f: AttentionEnergy, component c: Int, headDim d: Int) throws -> EnergyLine {
        let energies = try energyLinePoints.map { t in
            var zeta = Tensor<Double>(shape: [1, 1, 1, d], repeating: 0)
            zeta.data[c] = t
            return try f.value(zeta: zeta).data[0]
        }
        return EnergyLine(component: c, t: energyLinePoints, energy: energies)
    }
}
