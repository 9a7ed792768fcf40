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
        abstract: "Tree Attention on MPI: distributed exact attention, calibration and validation of the simulator.",
        subcommands: [MPIAttentionCommand.self, CalibrateCommand.self, ValidateCommand.self, MPIBenchCommand.self])

    /// The one error path (`ErrorReport.run`). Under mpirun every rank agrees on the error before reporting it
    /// (`Communicator.agree`), so only rank 0 prints the line; every rank exits 2.
    static func main() {
        if let rank = launcherRank, rank != 0 { ErrorReport.silent = true }
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
func withCommunicator(_ body: (Communicator) throws -> Void) throws {
    let comm = try Communicator()
    do {
        try body(comm)
    } catch {
        if comm.rank == 0 {
            FileHandle.standardError.write(Data("Error: \(ErrorReport.errorLine(error, TreeAttnMPI.self))\n".utf8))
        }
        try? comm.barrier()
        comm.finalize()
        throw ExitCode(2)
    }
    comm.finalize()
}
