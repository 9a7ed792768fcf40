import CMPI
import Foundation
import Reference

/// A scalar MPI can move: Double (`MPI_DOUBLE`) or Float (`MPI_FLOAT`).
public protocol MPIScalar: AttentionScalar {
    /// The MPI datatype handle that describes one value of this type in messages.
    static var mpiType: MPI_Datatype { get }
}

/// `Double` moves through MPI as `MPI_DOUBLE`.
extension Double: MPIScalar {
    /// `MPI_DOUBLE`.
    public static var mpiType: MPI_Datatype { cmpi_double() }
}

/// `Float` moves through MPI as `MPI_FLOAT`.
extension Float: MPIScalar {
    /// `MPI_FLOAT`.
    public static var mpiType: MPI_Datatype { cmpi_float() }
}

/// The reduction operations this package uses.
public enum ReduceOp: Sendable {
    /// Element-wise maximum (`MPI_MAX`).
    case max
    /// Element-wise minimum (`MPI_MIN`).
    case min
    /// Element-wise sum (`MPI_SUM`).
    case sum
    var handle: MPI_Op {
        switch self {
        case .max: return cmpi_max()
        case .min: return cmpi_min()
        case .sum: return cmpi_sum()
        }
    }
}

/// `MPI_COMM_WORLD` behind a small Swift API: every call checks its return code (errors are returned, not fatal,
/// so a failing call becomes a one-line `DistributedError`), and counts the bytes this rank hands to MPI.
public final class Communicator {
    /// This process's rank in `MPI_COMM_WORLD`, 0 ..< `size`.
    public let rank: Int
    /// Number of ranks in `MPI_COMM_WORLD`.
    public let size: Int
    let comm: MPI_Comm
    /// Bytes this rank passed to send calls (point-to-point exactly; for collectives the buffer size, what the
    /// rank contributes: the bytes on the wire depend on Open MPI's algorithm).
    public private(set) var bytesSent = 0
    /// The answer of the first `hosts()` call.
    var knownHosts: [Int]?

    /// `MPI_Init` and `MPI_COMM_WORLD` with errors returned to the caller. Call once per process.
    ///
    /// It also makes the process-wide `TimeBudget.current` unlimited: once ranks communicate, none may stop on a
    /// deadline (a rank that left a collective alone would leave the others blocked in it), so jobs check
    /// `--max-time` against their estimate before their first collective (`DistributedAttentionJob.timeBudget`).
    public init() throws {
        TimeBudget.current = TimeBudget(limitSeconds: .infinity)
        var argc: Int32 = 0
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = nil
        let code = MPI_Init(&argc, &argv)
        guard code == cmpi_success() else { throw DistributedError.mpi(call: "MPI_Init", message: "error \(code)") }
        comm = cmpi_comm_world()
        MPI_Comm_set_errhandler(comm, cmpi_errors_return())
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(comm, &r)
        MPI_Comm_size(comm, &s)
        rank = Int(r)
        size = Int(s)
    }

    /// `MPI_Finalize`.
    public func finalize() { MPI_Finalize() }

    /// `MPI_Abort` of the whole job (used only when agreement is impossible).
    public func abort(_ code: Int32) -> Never {
        MPI_Abort(comm, code)
        exit(code)
    }

    /// Wall-clock seconds (`MPI_Wtime`).
    public static var time: Double { MPI_Wtime() }

    func check(_ code: Int32, _ call: String) throws {
        guard code != cmpi_success() else { return }
        var buffer = [CChar](repeating: 0, count: Int(cmpi_max_error_string()) + 1)
        var length: Int32 = 0
        MPI_Error_string(code, &buffer, &length)
        throw DistributedError.mpi(call: call, message: String(cString: buffer))
    }

    /// Resets the sent-bytes counter (per phase accounting).
    public func resetBytesSent() { bytesSent = 0 }

    /// `MPI_Barrier`: returns once every rank has called it; throws `DistributedError.mpi` on failure.
    public func barrier() throws { try check(MPI_Barrier(comm), "MPI_Barrier") }

    /// In-place `MPI_Allreduce` of `values` with `op`.
    public func allreduce<S: MPIScalar>(_ values: inout [S], _ op: ReduceOp) throws {
        bytesSent += values.count * MemoryLayout<S>.stride
        try values.withUnsafeMutableBufferPointer { buffer in
            try check(
                MPI_Allreduce(cmpi_in_place(), buffer.baseAddress, Int32(buffer.count), S.mpiType, op.handle, comm),
                "MPI_Allreduce")
        }
    }

    /// In-place `MPI_Allreduce` of 64-bit integers.
    public func allreduce(_ values: inout [Int64], _ op: ReduceOp) throws {
        try values.withUnsafeMutableBufferPointer { buffer in
            try check(
                MPI_Allreduce(
                    cmpi_in_place(), buffer.baseAddress, Int32(buffer.count), cmpi_long_long(), op.handle, comm),
                "MPI_Allreduce")
        }
    }

    /// `MPI_Allreduce` of `count` records of `datatype` with a user operation (in place).
    func allreduce(_ buffer: UnsafeMutableRawPointer, count: Int, datatype: MPI_Datatype, op: MPI_Op, bytes: Int) throws
    {
        bytesSent += bytes
        try check(MPI_Allreduce(cmpi_in_place(), buffer, Int32(count), datatype, op, comm), "MPI_Allreduce")
    }

    /// Blocking send of `values` to `destination`.
    public func send<S: MPIScalar>(_ values: [S], to destination: Int, tag: Int) throws {
        bytesSent += values.count * MemoryLayout<S>.stride
        try values.withUnsafeBufferPointer { buffer in
            try check(
                MPI_Send(buffer.baseAddress, Int32(buffer.count), S.mpiType, Int32(destination), Int32(tag), comm),
                "MPI_Send")
        }
    }

    /// Blocking receive of exactly `count` values from `source`.
    public func receive<S: MPIScalar>(_ count: Int, from source: Int, tag: Int) throws -> [S] {
        var values = [S](repeating: 0, count: count)
        try values.withUnsafeMutableBufferPointer { buffer in
            try check(
                MPI_Recv(
                    buffer.baseAddress, Int32(count), S.mpiType, Int32(source), Int32(tag), comm, cmpi_status_ignore()),
                "MPI_Recv")
        }
        return values
    }

    /// Blocking receive into an existing buffer of exactly the message's size.
    public func receive<S: MPIScalar>(into buffer: inout [S], from source: Int, tag: Int) throws {
        try buffer.withUnsafeMutableBufferPointer { into in
            try check(
                MPI_Recv(
                    into.baseAddress, Int32(into.count), S.mpiType, Int32(source), Int32(tag), comm,
                    cmpi_status_ignore()), "MPI_Recv")
        }
    }

    /// `MPI_Sendrecv`: sends `values` to `destination` while receiving `count` values from `source`.
    public func sendReceive<S: MPIScalar>(
        _ values: [S], to destination: Int, receiving count: Int, from source: Int, tag: Int
    ) throws -> [S] {
        bytesSent += values.count * MemoryLayout<S>.stride
        var received = [S](repeating: 0, count: count)
        try values.withUnsafeBufferPointer { out in
            try received.withUnsafeMutableBufferPointer { into in
                try check(
                    MPI_Sendrecv(
                        out.baseAddress, Int32(out.count), S.mpiType, Int32(destination), Int32(tag),
                        into.baseAddress, Int32(count), S.mpiType, Int32(source), Int32(tag), comm, cmpi_status_ignore()
                    ),
                    "MPI_Sendrecv")
            }
        }
        return received
    }

    /// `MPI_Sendrecv` into an existing buffer: sends `values` to `destination` while receiving `buffer.count` values
    /// from `source` into `buffer`.
    public func sendReceive<S: MPIScalar>(
        _ values: [S], to destination: Int, into buffer: inout [S], from source: Int, tag: Int
    ) throws {
        bytesSent += values.count * MemoryLayout<S>.stride
        try values.withUnsafeBufferPointer { out in
            try buffer.withUnsafeMutableBufferPointer { into in
                try check(
                    MPI_Sendrecv(
                        out.baseAddress, Int32(out.count), S.mpiType, Int32(destination), Int32(tag),
                        into.baseAddress, Int32(into.count), S.mpiType, Int32(source), Int32(tag), comm,
                        cmpi_status_ignore()),
                    "MPI_Sendrecv")
            }
        }
    }

    /// `MPI_Bcast` of bytes from `root` (every rank passes a buffer of the same length).
    public func broadcast(_ bytes: inout [UInt8], root: Int) throws {
        try bytes.withUnsafeMutableBufferPointer { buffer in
            try check(MPI_Bcast(buffer.baseAddress, Int32(buffer.count), cmpi_byte(), Int32(root), comm), "MPI_Bcast")
        }
    }

    /// `MPI_Bcast` of scalars from `root`.
    public func broadcast<S: MPIScalar>(_ values: inout [S], root: Int) throws {
        try values.withUnsafeMutableBufferPointer { buffer in
            try check(MPI_Bcast(buffer.baseAddress, Int32(buffer.count), S.mpiType, Int32(root), comm), "MPI_Bcast")
        }
    }

    /// The host of every rank, numbered 0, 1, ... in order of each host's lowest rank: the ranks that
    /// `MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)` finds sharing memory are one host. Collective on the first call
    /// (every rank must make it at the same point); later calls return the answer kept from it.
    public func hosts() throws -> [Int] {
        if let knownHosts { return knownHosts }
        var local: MPI_Comm? = nil
        try check(
            MPI_Comm_split_type(comm, cmpi_comm_type_shared(), Int32(rank), cmpi_info_null(), &local),
            "MPI_Comm_split_type")
        defer { MPI_Comm_free(&local) }
        // The host's lowest world rank (its local rank 0, keyed by world rank), told to every rank of the host.
        var leader = [Double(rank)]
        try leader.withUnsafeMutableBufferPointer { buffer in
            try check(MPI_Bcast(buffer.baseAddress, 1, cmpi_double(), 0, local), "MPI_Bcast")
        }
        let leaders = try allgather(leader[0]).map { Int($0) }
        let order = Array(Set(leaders)).sorted()
        knownHosts = leaders.map { order.firstIndex(of: $0)! }
        return knownHosts!
    }

    /// The ranks per host, when every host holds the same number of consecutive ranks (as `mpirun --map-by slot` places
    /// them); throws `DistributedError.invalid` otherwise. Collective on the first call (`hosts()`).
    public func hostGroupSize() throws -> Int {
        let h = try hosts()
        let count = (h.last ?? 0) + 1, g = size / count
        guard size % count == 0, h.enumerated().allSatisfy({ $0.element == $0.offset / g }) else {
            throw DistributedError.invalid(
                "the hosts must hold equal numbers of consecutive ranks (mpirun --map-by slot), got hosts \(h)")
        }
        return g
    }

    /// Gathers one value per rank on every rank.
    public func allgather(_ value: Double) throws -> [Double] {
        var send = value
        var all = [Double](repeating: 0, count: size)
        try all.withUnsafeMutableBufferPointer { buffer in
            try check(
                MPI_Allgather(&send, 1, cmpi_double(), buffer.baseAddress, 1, cmpi_double(), comm), "MPI_Allgather")
        }
        return all
    }

    /// Gathers one string per rank on rank 0 (in rank order); nil on the other ranks.
    public func gather(_ text: String) throws -> [String]? {
        var bytes = Array(text.utf8)
        var length = Int32(bytes.count)
        var lengths = [Int32](repeating: 0, count: size)
        try lengths.withUnsafeMutableBufferPointer { all in
            try check(MPI_Gather(&length, 1, cmpi_int(), all.baseAddress, 1, cmpi_int(), 0, comm), "MPI_Gather")
        }
        var offsets = [Int32](repeating: 0, count: size)
        for i in 1..<max(size, 1) { offsets[i] = offsets[i - 1] + lengths[i - 1] }
        var all = [UInt8](repeating: 0, count: rank == 0 ? Int(lengths.reduce(0, +)) : 1)
        try bytes.withUnsafeMutableBufferPointer { mine in
            try all.withUnsafeMutableBufferPointer { into in
                try check(
                    MPI_Gatherv(
                        mine.baseAddress, length, cmpi_byte(), into.baseAddress, lengths, offsets, cmpi_byte(), 0, comm),
                    "MPI_Gatherv")
            }
        }
        guard rank == 0 else { return nil }
        return (0..<size).map {
            String(decoding: all[Int(offsets[$0])..<Int(offsets[$0] + lengths[$0])], as: UTF8.self)
        }
    }

    /// Runs `body` on every rank, then agrees on the outcome: if any rank threw, every rank throws
    /// `DistributedError.rankFailed` with the lowest failing rank and its message (one collective round, so no rank is
    /// left waiting in a later collective). Every rank must call it at the same point.
    public func agree<T>(_ body: () throws -> T) throws -> T {
        var outcome: Result<T, Error>
        do { outcome = .success(try body()) } catch { outcome = .failure(error) }
        var first = [Int64(outcome.isFailure ? rank : size)]
        try allreduce(&first, .min)
        let failed = Int(first[0])
        guard failed < size else { return try outcome.get() }
        var message = [UInt8]()
        if failed == rank, case .failure(let error) = outcome {
            message = Array(DistributedError.describe(error).utf8.prefix(4000))
        }
        var length = [Int64(message.count)]
        var lengthBytes = withUnsafeBytes(of: &length[0]) { Array($0) }
        try broadcast(&lengthBytes, root: failed)
        let count = lengthBytes.withUnsafeBytes { Int($0.load(as: Int64.self)) }
        if failed != rank { message = [UInt8](repeating: 0, count: count) }
        try broadcast(&message, root: failed)
        throw DistributedError.rankFailed(rank: failed, message: String(decoding: message, as: UTF8.self))
    }
}

extension Result {
    var isFailure: Bool { if case .failure = self { return true } else { return false } }
}
