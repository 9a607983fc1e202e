import BatchNormalization
import ComputeRuntime
import Foundation
import MessagePassing

/// The processes a command runs on: the MPI job's when `mpirun` started it, otherwise
/// this process alone (a group of one, without starting MPI).
struct CommandProcesses {
  let group: any BatchNormProcessGroup
  private let world: MPIProcessGroup?

  /// Joins the MPI job when there is one. Unless `--threads` was given, each process
  /// takes an equal part of this machine's processors (`mpirun -np 2` on 2 cores: one
  /// thread each), since the processes of one machine share them.
  static func start(threads: Int?) throws -> CommandProcesses {
    var processes = CommandProcesses(group: SingleProcessGroup(), world: nil)
    if MPIProcessGroup.isLaunchedByMPI {
      do {
        let world = try MPIProcessGroup.world()
        processes = CommandProcesses(group: world, world: world)
      } catch {
        throw CommandError("could not join the MPI job: \(error)")
      }
    }
    if let threads {
      ComputeThreads.setIncludingBLAS(threads)
    } else if processes.group.size > 1 {
      let local = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap { Int($0) } ?? processes.group.size
      ComputeThreads.setIncludingBLAS(max(1, ComputeThreads.available / max(1, local)))
    }
    return processes
  }

  /// Refuses to run `command` as one of several processes started by mpirun, for the
  /// commands that do not share their work (each process would do all of it).
  static func refuseMPI(_ command: String, reason: String) throws {
    guard MPIProcessGroup.isLaunchedByMPI,
      let size = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"].flatMap({ Int($0) }), size > 1
    else { return }
    throw CommandError("bn \(command) \(reason): run it without mpirun", everyProcess: true)
  }

  /// Whether this process speaks for the job: rank 0 prints and writes files.
  var isLeader: Bool { group.rank == 0 }

  /// `text` on standard output, from rank 0 only.
  func say(_ text: String) {
    guard isLeader else { return }
    print(text)
    fflush(nil)
  }

  /// Ends MPI after the last exchange (every rank calls it).
  func finish() throws {
    do {
      try world?.finish()
    } catch {
      throw CommandError("\(error)")
    }
  }
}
