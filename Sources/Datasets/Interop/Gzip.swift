import CZlib
import FileFormats
import Foundation

/// gzip decompression (RFC 1952) with the system's zlib.
///
/// A gzip file is one or more members, each a header that starts with the magic bytes 1F 8B,
/// deflate data (RFC 1951), and a trailer with the CRC-32 and the length of the decompressed
/// bytes, which zlib checks. Concatenated members (what `cat a.gz b.gz` makes) decompress to
/// the concatenation of their contents, as `gunzip` does; any other bytes after the last member
/// are an error.
enum Gzip {
  /// The first two bytes of every gzip member.
  static let magic: [UInt8] = [0x1F, 0x8B]

  /// Whether `data` starts with the gzip magic bytes.
  static func isCompressed(_ data: Data) -> Bool {
    data.starts(with: magic)
  }

  /// The decompressed contents of the gzip stream `data`; errors name `file`.
  static func decompress(_ data: Data, file: String) throws(FileFormatError) -> Data {
    try decompress(data, file: file, limit: .max).bytes
  }

  /// The first `limit` decompressed bytes of the gzip stream `data` at most, and whether
  /// that was all of it: decompression stops as soon as a byte beyond `limit` appears, so
  /// a small file that inflates to gigabytes (a gzip bomb) never takes more memory than
  /// the caller allows. Errors name `file`.
  static func decompress(_ data: Data, file: String, limit: Int) throws(FileFormatError) -> (bytes: Data, isComplete: Bool) {
    func failure(_ problem: String) -> FileFormatError {
      FileFormatError(file: file, problem: problem)
    }
    guard isCompressed(data) else {
      let start = data.isEmpty ? "the file is empty" : "it starts with \(FileFormatError.hexadecimal(data.prefix(2)))"
      throw failure("not a gzip stream: \(start) instead of 1F 8B")
    }
    var stream = z_stream()
    // 16 + MAX_WBITS: a gzip header and trailer around deflate data with the largest window.
    guard czlib_inflateInit2(&stream, 16 + MAX_WBITS) == Z_OK else {
      throw failure("cannot decompress: zlib could not allocate its state")
    }
    defer { inflateEnd(&stream) }

    // One byte beyond the limit tells that there is more.
    let capacity = limit == .max ? limit : limit + 1
    var output = Data(count: min(expectedSize(of: data), capacity))
    var consumed = 0
    var produced = 0
    while true {
      if produced == capacity {
        return (output.prefix(limit), false)
      }
      if produced == output.count {
        output.count += min(max(output.count, 1 << 16), capacity - output.count)
      }
      let status = inflateStep(&stream, input: data, consumed: &consumed, output: &output, produced: &produced)
      switch status {
      case Z_OK:
        continue
      case Z_STREAM_END:
        let rest = data.dropFirst(consumed)
        if rest.isEmpty {
          output.count = produced
          return produced > limit ? (output.prefix(limit), false) : (output, true)
        }
        guard magic.starts(with: rest.prefix(magic.count)) else {
          throw failure(
            "unexpected data after the gzip stream: \(rest.count) bytes that do not start another gzip member")
        }
        // Another member follows. Resetting a stream that inflateInit2 started cannot fail.
        inflateReset(&stream)
      case Z_BUF_ERROR:
        // No progress although the output had room: the input ended inside a member.
        throw failure(
          "truncated gzip stream: it ends after \(data.count) bytes, inside a member (\(produced) bytes decompressed)")
      default:
        let message = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
        throw failure("corrupt gzip data: \(message)")
      }
    }
  }

  /// The decompressed size for a first allocation: the trailer's length field (the size modulo
  /// 2³², exact for one member under 4 GiB), but never more than deflate's largest possible
  /// expansion (1032:1) nor 1 GiB, so that a damaged trailer cannot ask for a huge buffer.
  private static func expectedSize(of data: Data) -> Int {
    let lengthField = data.suffix(4).reversed().reduce(0) { value, byte in value << 8 | Int(byte) }
    return min(lengthField, 1032 * data.count, 1 << 30)
  }

  /// Runs zlib's `inflate` once on `input` from byte `consumed` into `output` from byte
  /// `produced`, and advances both counts by what it read and wrote.
  ///
  /// The only pointer code in the module's gzip support. The stream's `next_in` and `next_out`
  /// point into `input` and `output` only during this call: they are set just before `inflate`
  /// and cleared after it, and zlib keeps no other reference to either buffer (its window is its
  /// own copy), so no pointer outlives the `withUnsafe…Bytes` closures.
  private static func inflateStep(
    _ stream: inout z_stream, input: Data, consumed: inout Int, output: inout Data, produced: inout Int
  ) -> Int32 {
    input.withUnsafeBytes { inputBytes in
      output.withUnsafeMutableBytes { outputBytes in
        guard let inputStart = inputBytes.baseAddress, let outputStart = outputBytes.baseAddress else {
          return Z_BUF_ERROR
        }
        // zlib counts in UInt32; a larger buffer is handed over in several calls.
        let inputCount = min(inputBytes.count - consumed, Int(UInt32.max))
        let outputCount = min(outputBytes.count - produced, Int(UInt32.max))
        stream.next_in = UnsafeMutablePointer(mutating: (inputStart + consumed).assumingMemoryBound(to: Bytef.self))
        stream.avail_in = UInt32(inputCount)
        stream.next_out = (outputStart + produced).assumingMemoryBound(to: Bytef.self)
        stream.avail_out = UInt32(outputCount)
        let status = inflate(&stream, Z_NO_FLUSH)
        consumed += inputCount - Int(stream.avail_in)
        produced += outputCount - Int(stream.avail_out)
        stream.next_in = nil
        stream.next_out = nil
        return status
      }
    }
  }
}
