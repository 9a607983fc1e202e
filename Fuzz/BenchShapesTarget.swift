// libFuzzer target: the shapes of `bn bench --shape` (`64x100`, `16x3x64x64`,
// `nhwc:1x56x56x256`): BenchmarkShape(parsing:) in BatchNormCommand's
// Bench/BenchmarkOperation.swift. Built by scripts/fuzz from that file and this one as one
// module, on the BatchNormalization module (ChannelLayout; BatchNormShape as the oracle).
//
// Checks, for every input that is UTF-8: an accepted shape has at least 2 dimensions, all
// positive; written back (`nchw:`/`nhwc:` and the sizes joined by `x`, and bare sizes for
// channels-first) it parses to the same shape; its description does not trap; and
// BatchNormShape, which `bn bench` makes from it, takes it exactly when its element count
// fits in Int, with the same batch, channels and element count. (The parser itself does not
// check the product or the memory a shape needs; Bench.validate() does, and is not fuzzed here.)
import BatchNormalization

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBenchShapes(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
  guard let text = String(validating: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self),
    let shape = BenchmarkShape(parsing: text)
  else { return 0 }
  let dimensions = shape.dimensions
  check(dimensions.count >= 2 && dimensions.allSatisfy { $0 > 0 }, "accepted \(dimensions) from \(text.debugDescription)")
  _ = shape.description

  // What parses must print, and parse again to the same shape.
  let sizes = dimensions.map(String.init).joined(separator: "x")
  let written = [(shape.layout == .channelsFirst ? "nchw:" : "nhwc:") + sizes] + (shape.layout == .channelsFirst ? [sizes] : [])
  for text in written {
    guard let again = BenchmarkShape(parsing: text) else { fatalError("an accepted shape does not parse back from \(text)") }
    check(again.dimensions == dimensions && again.layout == shape.layout, "\(text) parses back as \(again)")
  }

  // BatchNormShape takes what parses unless the element count overflows.
  var elements: Int? = 1
  for size in dimensions {
    let (product, overflow) = (elements ?? 0).multipliedReportingOverflow(by: size)
    elements = overflow || elements == nil ? nil : product
  }
  do {
    let batchShape = try BatchNormShape(dimensions: dimensions, layout: shape.layout)
    check(elements == batchShape.elementCount, "\(dimensions) make \(batchShape) of \(batchShape.elementCount) elements")
    let channels = shape.layout == .channelsFirst ? dimensions[1] : dimensions[dimensions.count - 1]
    check(batchShape.batch == dimensions[0] && batchShape.channels == channels, "\(dimensions) make \(batchShape)")
  } catch {
    check(elements == nil, "BatchNormShape refuses \(dimensions) (\(shape.layout)) of \(elements!) elements: \(error)")
  }
  return 0
}

/// Stops the run with `message` when `condition` fails (`precondition` drops its message in -O builds).
private func check(_ condition: Bool, _ message: @autoclosure () -> String) {
  if !condition { fatalError(message()) }
}
