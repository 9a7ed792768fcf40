import Distributed
import Foundation
import Studies
import StudyOptions
import TreeCore

/// Runs a study's grid over the MPI ranks (`treeattn-mpi sweep|scale`): rank r runs steps r, r+P, r+2P, ...
/// (`StudyGrid.steps(part:of:)`), the ranks' results are gathered on rank 0 as JSON (`StudyGrid.encode`), and rank 0
/// puts them in grid order (`StudyGrid.assemble`) and writes the same files, byte for byte, as one process writes.
/// Every step that can fail on some ranks is agreed on (`Communicator.agree`): one `Error:` line, nothing written.
/// Prints the written paths on rank 0 (and progress on stderr unless `quiet`). The steps keep the command's
/// `--max-time`: unlike an attention job's, they run no collective, and a rank stopped by the deadline reports it
/// through the `agree` that follows them.
func runSplit<Grid: StudyGrid>(_ makeGrid: () throws -> Grid, into out: String, title: String, quiet: Bool) throws {
    let budget = TimeBudget.current
    try withCommunicator { comm in
        TimeBudget.current = budget
        let grid = try comm.agree { try makeGrid() }
        let folder: StudyFolder? = try comm.agree {
            comm.rank == 0 ? try StudyFolder(out, names: grid.fileNames) : nil
        }
        defer { folder?.discard() }
        let say: (String) -> Void = { line in
            if comm.rank == 0 && !quiet { FileHandle.standardError.write(Data("\(title): \(line)\n".utf8)) }
        }
        say("\(grid.stepCount) steps over \(comm.size) ranks (rank 0 reports its own)")
        let mine = try comm.agree {
            try grid.encode(
                grid.run(part: comm.rank, of: comm.size) { done, total, label in say("\(done)/\(total) \(label)") })
        }
        let parts = try comm.gather(mine)
        try comm.agree {
            guard let folder, let parts else { return }
            let paths = try folder.write(try grid.files(try grid.assemble(parts)))
            print("wrote \(paths.joined(separator: ", ")) (\(grid.stepCount) steps over \(comm.size) ranks)")
        }
    }
}
