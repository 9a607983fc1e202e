#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// How much memory a request may ask for: the machine's physical memory. Sizes that come
/// from outside (an architecture string, a checkpoint's metadata, a file's header, a
/// benchmark shape) are checked against it before anything is allocated, so a size too
/// large is a clear error instead of an overflow trap or an allocation failure.
public enum MemoryBudget {
  /// The machine's physical memory in bytes, read once.
  public static let physicalBytes: Int = {
    let pages = sysconf(Int32(_SC_PHYS_PAGES))
    let pageSize = sysconf(Int32(_SC_PAGESIZE))
    guard pages > 0, pageSize > 0 else { return Int.max }
    return Int(pages).multipliedReportingOverflow(by: Int(pageSize)).overflow ? Int.max : Int(pages) * Int(pageSize)
  }()

  /// The product of `counts`, or nil when it overflows `Int` (or a count is negative).
  public static func product(_ counts: some Sequence<Int>) -> Int? {
    var result = 1
    for count in counts {
      guard count >= 0 else { return nil }
      let (product, overflow) = result.multipliedReportingOverflow(by: count)
      guard !overflow else { return nil }
      result = product
    }
    return result
  }

  /// Whether `count` values of `bytesPerValue` bytes fit in the physical memory.
  public static func fits(_ count: Int?, bytesPerValue: Int) -> Bool {
    guard let count, count >= 0 else { return false }
    let (bytes, overflow) = count.multipliedReportingOverflow(by: bytesPerValue)
    return !overflow && bytes <= physicalBytes
  }

  /// `bytes` for people: "314 GB", "24 GB", "1.5 MB".
  public static func describe(bytes: Double) -> String {
    let units = ["bytes", "kB", "MB", "GB", "TB", "PB", "EB"]
    var value = bytes
    var unit = 0
    while value >= 1000 && unit < units.count - 1 {
      value /= 1000
      unit += 1
    }
    let tenths = Int((value * 10).rounded())
    let text = value >= 100 || unit == 0 || tenths % 10 == 0 ? String(Int(value.rounded())) : String(Double(tenths) / 10)
    return "\(text) \(units[unit])"
  }

  /// "more than this machine's 24 GB of memory".
  public static var limitDescription: String { "more than this machine's \(describe(bytes: Double(physicalBytes))) of memory" }
}
