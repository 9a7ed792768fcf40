import ArgumentParser
import CLICommon
import Distributed
import Foundation

/// `treeattn-mpi`: Tree Attention across MPI ranks (`mpirun -np P treeattn-mpi attention ...`), the calibration of a
/// machine for the simulator, the validation of the simulator against measured runs, and the combine benchmark.
@main
struct TreeAttnMPI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "treeattn-mpi",
        abstract:
            "Tree Attention on MPI: distributed exact attention, calibration and validation of the simulator, studies split over ranks.",
        subcommands: [
            MPIAttentionCommand.self, CalibrateCommand.self, ValidateCommand.self, MPIBenchCommand.self,
            MPISweepCommand.self, MPIScaleCommand.self,
        ])

    /// The one error path (`ErrorReport.run`). Under mpirun every rank agrees on the error before reporting it
    /// (`Communicator.agree`), so only rank 0 prints the line; every rank exits 2. An error in the options comes
    /// before `MPI_Init`: every rank finds the same one, rank 0 prints it, and all meet at a barrier before they
    /// exit, so mpirun (which ends the job when a rank exits non-zero) cannot cut rank 0 off before its line is out.
    static func main() {
        if let rank = launcherRank {
            if rank != 0 { ErrorReport.silent = true }
            do {
                _ = try parseAsRoot()
            } catch  where exitCode(for: error) != .success {
                if rank == 0 {
                    FileHandle.standardError.write(Data("Error: \(ErrorReport.errorLine(error, Self.self))\n".utf8))
                }
                if let comm = try? Communicator() {
                    try? comm.barrier()
                    comm.finalize()
                }
                Foundation.exit(2)
            } catch {}  // help and other clean exits: printed below, as without mpirun
        }
        ErrorReport.run(Self.self)
    }

    /// This process's rank as the launcher (Open MPI's mpirun, PMI, Slurm's srun) states it before `MPI_Init`.
    static var launcherRank: Int? {
        let environment = ProcessInfo.processInfo.environment
        for key in ["OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "SLURM_PROCID"] {
            if let value = environment[key], let rank = Int(value) { return rank }
        }
        return nil
    }
}

/// Runs `body` with this process's `Communicator`. An error is reported while MPI still runs: rank 0 prints the one
/// `Error:` line, then every rank meets at a barrier before it finalises and exits 2, so mpirun (which stops the job
/// when a rank exits non-zero) never cuts rank 0 off before its line is out. Errors are the same on every rank when
/// they come from `Communicator.agree`.
///
/// `--max-time` is checked against each job's estimate before its ranks communicate; once they do, no rank stops on a
/// deadline (`Communicator` turns the kernels' deadline checks off): a rank that left a collective alone would leave
/// the others blocked in it.
func withCommunicator(_ body: (Communicator) throws -> Void) throws {
    let comm = try Communicator()
    if comm.rank == 0 { reportTermination(ranks: comm.size) }
    do {
        try body(comm)
    } catch {
        // The job's own error is its one line: a SIGTERM from mpirun after it (another rank exited 2 first) says
        // nothing more.
        signal(SIGTERM, SIG_DFL)
        if comm.rank == 0 {
            FileHandle.standardError.write(Data("Error: \(ErrorReport.errorLine(error, TreeAttnMPI.self))\n".utf8))
        }
        try? comm.barrier()
        comm.finalize()
        throw ExitCode(2)
    }
    signal(SIGTERM, SIG_DFL)
    comm.finalize()
}

/// The line rank 0 prints when mpirun stops it (SIGTERM) because another rank died: Open MPI 4.1 has no ULFM, so no
/// rank learns which one died or why; mpirun's own exit status (137 for a SIGKILL) is the job's.
nonisolated(unsafe) private var terminationLine: [UInt8] = []

/// Installs the SIGTERM handler of rank 0: one `Error:` line (written with `write(2)`, safe in a handler), then exit 2.
private func reportTermination(ranks: Int) {
    terminationLine = Array(
        "Error: the MPI job was stopped by its launcher: the job was cancelled, or another of its \(ranks) ranks ended (killed, or exited) before the job finished (mpirun's own message then names it; Open MPI 4.1 has no ULFM to tell the other ranks)\n"
            .utf8)
    signal(SIGTERM) { _ in
        terminationLine.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
        _exit(2)
    }
}
