// libFuzzer target: NPY files (the Python-literal header, dtypes, shapes, data). Built by
// scripts/fuzz together with the FileFormats sources, as one module.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNPY(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
  let data = Data(bytes: bytes, count: count)
  guard let array = try? NPY.decode(data, file: "fuzz.npy") else { return 0 }
  // What decodes must encode, and decode again to the same bytes.
  let encoded = NPY.encode(array)
  guard let again = try? NPY.decode(encoded, file: "round trip") else { fatalError("an accepted array does not read back") }
  precondition(NPY.encode(again) == encoded, "an accepted array reads back differently")
  return 0
}
