// libFuzzer target: safetensors files (the JSON header, dtypes, shapes, offsets, metadata).
// Built by scripts/fuzz together with the FileFormats sources, as one module.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
  let data = Data(bytes: bytes, count: count)
  guard let file = try? SafeTensors.decode(data, file: "fuzz.safetensors") else { return 0 }
  // What decodes must encode, and decode again to the same bytes.
  let encoded = file.encode()
  guard let again = try? SafeTensors.decode(encoded, file: "round trip") else {
    fatalError("an accepted file does not read back")
  }
  precondition(again.encode() == encoded, "an accepted file reads back differently")
  return 0
}
