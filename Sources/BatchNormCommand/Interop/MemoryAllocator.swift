#if canImport(Glibc)
  import Glibc
#endif

/// glibc malloc settings for the command's process.
enum MemoryAllocator {
  /// Keeps freed memory of up to 32 MiB per block in the process for the next
  /// allocation, instead of unmapping it or trimming it off the heap.
  ///
  /// Training allocates the same few-megabyte activations and gradients every step. By
  /// default glibc maps blocks above a threshold afresh and trims free memory above
  /// another off the heap's top, so each step touched new pages and paid a page fault
  /// (and the kernel's zeroing) per 4 KiB: a third of the CNN step at 2 threads
  /// (perf: `exc_page_fault`, memset). 32 MiB is the largest mmap threshold glibc
  /// accepts on 64-bit systems; larger blocks are still mapped and unmapped.
  static func keepFreedMemory() {
    #if canImport(Glibc)
      // malloc.h is not part of the Glibc module, so mallopt is looked up by name.
      typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
      guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
      let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
      _ = mallopt(mmapThreshold, largestKeptBlock)
      _ = mallopt(trimThreshold, largestKeptHeapTop)
    #endif
  }

  /// Blocks up to this size come from the heap and return to it: the largest mmap
  /// threshold glibc accepts on 64-bit systems.
  private static let largestKeptBlock: Int32 = 32 << 20
  /// Free memory at the heap's top kept for the next step instead of being trimmed: more
  /// than one step of the largest network the command trains allocates.
  private static let largestKeptHeapTop: Int32 = 512 << 20

  /// glibc's M_TRIM_THRESHOLD and M_MMAP_THRESHOLD (malloc.h).
  private static let trimThreshold: Int32 = -1
  private static let mmapThreshold: Int32 = -3
}
