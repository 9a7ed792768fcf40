import Reference

/// The paper's Algorithm 3 on MPI: local partial; m = MPI_Allreduce MAX of the LSEs; local numerators
/// o_i exp(lse_i - m) and denominators exp(lse_i - m); MPI_Allreduce SUM of each; z = n / d, lse = m + log d.
/// A NaN LSE enters the max as +inf, so its row is NaN everywhere, as in the single-process `Algorithm3`.
struct Algorithm3Reduction: RankReduction {
    func run<S: MPIScalar>(
        _ shard: RankShard<S>, comm: Communicator, log: inout PhaseLog
    ) throws -> AttentionPartial<S>? {
        let local = try log.time("local attention", comm) { try shard.localPartial() }
        let rows = local.rows, dv = local.valueDim
        var m = local.lse.data.map { $0.isNaN ? S.infinity : $0 }
        try log.time("allreduce max", comm) { try comm.allreduce(&m, .max) }
        var numerator = [S](repeating: 0, count: rows * dv)
        var denominator = [S](repeating: 0, count: rows)
        log.time("rescale", comm) {
            for row in 0..<rows where local.lse.data[row] != -.infinity && m[row] != -.infinity {
                let w = S.portableExp(local.lse.data[row] - m[row])
                denominator[row] = w
                for c in 0..<dv { numerator[row * dv + c] = w * local.output.data[row * dv + c] }
            }
        }
        try log.time("allreduce numerator", comm) { try comm.allreduce(&numerator, .sum) }
        try log.time("allreduce denominator", comm) { try comm.allreduce(&denominator, .sum) }
        var result = shard.emptyPartial
        log.time("divide", comm) {
            for row in 0..<rows where m[row] != -.infinity {
                for c in 0..<dv { result.output.data[row * dv + c] = numerator[row * dv + c] / denominator[row] }
                result.lse.data[row] = m[row] + S.portableLog(denominator[row])
            }
        }
        return comm.rank == 0 ? result : nil
    }
}
