// libFuzzer target: IDX files (MNIST's format: magic, type, rank, big-endian dimensions, bytes),
// plain or gzipped (gzip members, concatenated members, zlib's checks). Built by scripts/fuzz
// from Datasets' IDX.swift and Interop/Gzip.swift and this file as one module, on the
// FileFormats module and the system's zlib.
//
// Checks, for every input:
// - a gzip stream that decompresses must compress again (one member, or two members split at
//   an input-chosen byte) and decompress to the same bytes;
// - an accepted array has 1 to 4 dimensions, each below 2³², whose product is its element
//   count; written back as IDX it reads back the same, and those bytes are the input itself
//   (plain) or what the input decompresses to (gzipped); gzipped again, in one member or two,
//   it reads back the same.
// Memory: IDX.decode of a .gz that decompresses to more than libFuzzer's -malloc_limit_mb or
// -rss_limit_mb, whatever its IDX header declares (a gzip bomb), stops the run as out-of-memory.
// Inputs are at most 4,096 bytes by default and deflate expands at most 1032:1, so a bomb of
// 2 GiB needs a hand-made input of about 2 MB, run on its own (see docs/FUZZING.md).
import CZlib
import FileFormats
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIDX(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
  let data = Data(bytes: bytes, count: count)
  let compressed = Gzip.isCompressed(data)
  let array = try? IDX.decode(data, file: "fuzz.idx")
  // Gzip on its own, for inputs as small as the fuzzer makes (not a hand-made bomb).
  if compressed, count <= 1 << 16, let contents = try? Gzip.decompress(data, file: "fuzz.gz") {
    checkGzipRoundTrip(contents, split: count)
  }
  guard let array else { return 0 }
  check((1...IDX.maximumRank).contains(array.dimensions.count), "accepted rank \(array.dimensions.count)")
  check(array.dimensions.allSatisfy { (0...Int(UInt32.max)).contains($0) }, "accepted \(array.dimensions)")
  var elements = 1
  for dimension in array.dimensions {
    let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
    check(!overflow, "accepted dimensions \(array.dimensions) overflow")
    elements = product
  }
  check(elements == array.values.count, "\(array.dimensions) with \(array.values.count) values")

  // What decodes must encode, and decode again to the same array.
  let encoded = encode(array)
  if compressed {
    guard let contents = try? Gzip.decompress(data, file: "fuzz.gz") else {
      fatalError("IDX.decode read a gzip stream that Gzip.decompress refuses")
    }
    check(contents == encoded, "the array is not what the stream decompresses to")
  } else {
    check(encoded == data, "an accepted file encodes to other bytes")
  }
  guard let again = try? IDX.decode(encoded, file: "round trip") else { fatalError("an accepted array does not read back") }
  check(again == array, "an accepted array reads back differently")
  for gzipped in [gzip(encoded), gzip(encoded.prefix(count % (encoded.count + 1))) + gzip(encoded.dropFirst(count % (encoded.count + 1)))] {
    guard let unzipped = try? IDX.decode(gzipped, file: "gzipped round trip") else {
      fatalError("an accepted array does not read back gzipped")
    }
    check(unzipped == array, "an accepted array reads back differently gzipped")
  }
  return 0
}

/// Decompressed bytes must compress and decompress to themselves, in one member and in two
/// (split after `split` modulo the length + 1 bytes, so either member may be empty).
private func checkGzipRoundTrip(_ contents: Data, split: Int) {
  let cut = split % (contents.count + 1)
  for stream in [gzip(contents), gzip(contents.prefix(cut)) + gzip(contents.dropFirst(cut))] {
    guard let again = try? Gzip.decompress(stream, file: "gzip round trip") else {
      fatalError("recompressed bytes do not decompress")
    }
    check(again == contents, "recompressed bytes decompress differently")
  }
}

/// The IDX file of `array`: 00 00 08, the rank, the dimensions as big-endian UInt32, the bytes.
private func encode(_ array: IDX) -> Data {
  var bytes: [UInt8] = [0, 0, 0x08, UInt8(array.dimensions.count)]
  for dimension in array.dimensions {
    bytes += withUnsafeBytes(of: UInt32(dimension).bigEndian, Array.init)
  }
  return Data(bytes + array.values)
}

/// One gzip member of `bytes`, by zlib's deflate (what gzip(1) writes, without a file name).
private func gzip(_ bytes: Data) -> Data {
  var stream = z_stream()
  // 16 + MAX_WBITS: a gzip header and trailer around the deflate data.
  let status = deflateInit2_(
    &stream, Z_BEST_SPEED, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
    Int32(MemoryLayout<z_stream>.size))
  check(status == Z_OK, "deflateInit2 failed: \(status)")
  defer { deflateEnd(&stream) }
  let input = [UInt8](bytes)
  var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(input.count))) + 64)
  let produced = input.withUnsafeBufferPointer { input in
    output.withUnsafeMutableBufferPointer { output in
      stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
      stream.avail_in = UInt32(input.count)
      stream.next_out = output.baseAddress
      stream.avail_out = UInt32(output.count)
      let status = deflate(&stream, Z_FINISH)
      check(status == Z_STREAM_END, "deflate did not finish: \(status)")
      stream.next_in = nil
      stream.next_out = nil
      return output.count - Int(stream.avail_out)
    }
  }
  return Data(output.prefix(produced))
}

/// Stops the run with `message` when `condition` fails (`precondition` drops its message in -O builds).
private func check(_ condition: Bool, _ message: @autoclosure () -> String) {
  if !condition { fatalError(message()) }
}
