import CMPI

/// The MPI calls this module makes, each one checked: a call that does not return
/// `MPI_SUCCESS` throws ``MessagePassingError/mpi(call:code:message:)``. The world
/// communicator returns its errors instead of aborting (`MPI_ERRORS_RETURN`), so a failure
/// reaches the caller as an error it can report.
///
/// Only the thread that initialized MPI calls these (`MPI_THREAD_FUNNELED`): the worker
/// pool's threads never communicate.
enum MPI {
  /// Starts MPI for this process unless it has been started.
  static func initialize() throws(MessagePassingError) {
    var started: Int32 = 0
    try check("MPI_Initialized", MPI_Initialized(&started))
    guard started == 0 else { return }
    var provided: Int32 = 0
    try check("MPI_Init_thread", MPI_Init_thread(nil, nil, cmpi_thread_funneled(), &provided))
    try check("MPI_Comm_set_errhandler", MPI_Comm_set_errhandler(cmpi_comm_world(), cmpi_errors_return()))
  }

  /// Ends MPI for this process, if it was started and not yet ended.
  static func finalize() throws(MessagePassingError) {
    var started: Int32 = 0, finished: Int32 = 0
    try check("MPI_Initialized", MPI_Initialized(&started))
    try check("MPI_Finalized", MPI_Finalized(&finished))
    guard started != 0, finished == 0 else { return }
    try check("MPI_Finalize", MPI_Finalize())
  }

  /// This process's rank in the world communicator.
  static func rank() throws(MessagePassingError) -> Int {
    var rank: Int32 = 0
    try check("MPI_Comm_rank", MPI_Comm_rank(cmpi_comm_world(), &rank))
    return Int(rank)
  }

  /// The number of processes in the world communicator.
  static func size() throws(MessagePassingError) -> Int {
    var size: Int32 = 0
    try check("MPI_Comm_size", MPI_Comm_size(cmpi_comm_world(), &size))
    return Int(size)
  }

  /// Every process's `values` back to back in rank order; every process passes the same
  /// count (the caller checks it first).
  static func allGather(_ values: [Double], size: Int) throws(MessagePassingError) -> [Double] {
    guard let count = Int32(exactly: values.count) else { throw .messageTooLarge(values: values.count) }
    var gathered = [Double](repeating: 0, count: values.count * size)
    // This is safe: `gathered` holds `size` blocks of `count` values, which is what
    // MPI_Allgather writes with these counts; neither buffer escapes the call.
    let status = values.withUnsafeBufferPointer { send in
      gathered.withUnsafeMutableBufferPointer { receive in
        MPI_Allgather(send.baseAddress, count, cmpi_double(), receive.baseAddress, count, cmpi_double(), cmpi_comm_world())
      }
    }
    try check("MPI_Allgather", status)
    return gathered
  }

  /// The element-wise sum of every process's `values` (MPI_SUM over doubles), the same
  /// count on every process.
  static func allReduceSum(_ values: [Double]) throws(MessagePassingError) -> [Double] {
    guard let count = Int32(exactly: values.count) else { throw .messageTooLarge(values: values.count) }
    var total = [Double](repeating: 0, count: values.count)
    // This is safe: both buffers hold `count` values.
    let status = values.withUnsafeBufferPointer { send in
      total.withUnsafeMutableBufferPointer { receive in
        MPI_Allreduce(send.baseAddress, receive.baseAddress, count, cmpi_double(), cmpi_sum(), cmpi_comm_world())
      }
    }
    try check("MPI_Allreduce", status)
    return total
  }

  /// Every process's `value`, in rank order.
  static func allGather(_ value: Int64, size: Int) throws(MessagePassingError) -> [Int64] {
    var send = value
    var gathered = [Int64](repeating: 0, count: size)
    // This is safe: one Int64 goes out and `size` come back into `gathered`.
    let status = gathered.withUnsafeMutableBufferPointer { receive in
      MPI_Allgather(&send, 1, cmpi_int64(), receive.baseAddress, 1, cmpi_int64(), cmpi_comm_world())
    }
    try check("MPI_Allgather", status)
    return gathered
  }

  /// `values` from `root` on every process (each passes a buffer of the same count).
  static func broadcast(_ values: inout [Double], root: Int) throws(MessagePassingError) {
    guard let count = Int32(exactly: values.count) else { throw .messageTooLarge(values: values.count) }
    // This is safe: every process's buffer holds `count` values.
    let status = values.withUnsafeMutableBufferPointer { buffer in
      MPI_Bcast(buffer.baseAddress, count, cmpi_double(), Int32(root), cmpi_comm_world())
    }
    try check("MPI_Bcast", status)
  }

  /// Returns once every process has called it.
  static func barrier() throws(MessagePassingError) {
    try check("MPI_Barrier", MPI_Barrier(cmpi_comm_world()))
  }

  /// Throws unless `status` is `MPI_SUCCESS`, with MPI's own words for the error.
  private static func check(_ call: String, _ status: Int32) throws(MessagePassingError) {
    guard status != cmpi_success() else { return }
    var length: Int32 = 0
    var text = [CChar](repeating: 0, count: Int(cmpi_max_error_string()) + 1)
    _ = MPI_Error_string(status, &text, &length)
    let message = String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    throw .mpi(call: call, code: Int(status), message: message)
  }
}
