import CMPI
import Reference

/// The merge operator as a user-defined `MPI_Op`: each (batch, head, query) row is one record (o_1 .. o_dv, lse)
/// of a contiguous derived datatype, and one `MPI_Allreduce` merges the records of all ranks with
/// `MergeOperator.mergeRow`. The operation is declared non-commutative, so Open MPI combines the ranks' records in rank
/// order (its bracketing is its own), which keeps runs deterministic.
struct MergeOpReduction: RankReduction {
    func run<S: MPIScalar>(
        _ shard: RankShard<S>, comm: Communicator, log: inout PhaseLog
    ) throws -> AttentionPartial<S>? {
        let local = try log.time("local attention", comm) { try shard.localPartial() }
        let rows = local.rows, dv = local.valueDim
        var records = [S](repeating: 0, count: rows * (dv + 1))
        for row in 0..<rows {
            for c in 0..<dv { records[row * (dv + 1) + c] = local.output.data[row * dv + c] }
            records[row * (dv + 1) + dv] = local.lse.data[row]
        }
        var record = MPI_Datatype(bitPattern: 0)
        try comm.check(MPI_Type_contiguous(Int32(dv + 1), S.mpiType, &record), "MPI_Type_contiguous")
        defer { MPI_Type_free(&record) }
        try comm.check(MPI_Type_commit(&record), "MPI_Type_commit")
        var op = MPI_Op(bitPattern: 0)
        try comm.check(MPI_Op_create(S.self == Double.self ? mergeDoubles : mergeFloats, 0, &op), "MPI_Op_create")
        defer { MPI_Op_free(&op) }
        try log.time("allreduce merge-op", comm) {
            try records.withUnsafeMutableBytes { buffer in
                try comm.allreduce(buffer.baseAddress!, count: rows, datatype: record!, op: op!, bytes: buffer.count)
            }
        }
        var result = shard.emptyPartial
        for row in 0..<rows {
            for c in 0..<dv { result.output.data[row * dv + c] = records[row * (dv + 1) + c] }
            result.lse.data[row] = records[row * (dv + 1) + dv]
        }
        return comm.rank == 0 ? result : nil
    }
}

/// The user function of the merge `MPI_Op`: inout[i] = merge(in[i], inout[i]) for `len` records, the record width
/// read from the datatype's size (so no state is captured).
private func mergeRecords<S: AttentionScalar>(
    _ a: UnsafeMutableRawPointer?, _ b: UnsafeMutableRawPointer?,
    _ len: UnsafeMutablePointer<Int32>?, _ type: UnsafeMutablePointer<MPI_Datatype?>?,
    _: S.Type
) {
    guard let a, let b, let len, let type else { return }
    var bytes: Int32 = 0
    MPI_Type_size(type.pointee, &bytes)
    let width = Int(bytes) / MemoryLayout<S>.stride, dv = width - 1
    let input = a.assumingMemoryBound(to: S.self), inout_ = b.assumingMemoryBound(to: S.self)
    var merged = [S](repeating: 0, count: dv)
    for i in 0..<Int(len.pointee) {
        let x = input + i * width, y = inout_ + i * width
        let lse = merged.withUnsafeMutableBufferPointer { out in
            MergeOperator.mergeRow(
                outputs: [UnsafePointer(x), UnsafePointer(y)], lses: [x[dv], y[dv]], valueDim: dv,
                into: out.baseAddress!)
        }
        for c in 0..<dv { y[c] = merged[c] }
        y[dv] = lse
    }
}

private let mergeDoubles:
    @convention(c) (
        UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int32>?,
        UnsafeMutablePointer<MPI_Datatype?>?
    ) -> Void = { mergeRecords($0, $1, $2, $3, Double.self) }
private let mergeFloats:
    @convention(c) (
        UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int32>?,
        UnsafeMutablePointer<MPI_Datatype?>?
    ) -> Void = { mergeRecords($0, $1, $2, $3, Float.self) }
