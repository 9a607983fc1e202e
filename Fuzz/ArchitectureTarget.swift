// libFuzzer target: the architecture strings of `bn train --arch` (`linear:100,bn,sigmoid,linear:10`,
// `conv:8:3:1:1:nobias,bn,relu,maxpool:2,flatten,linear:10`): Architecture(parsing:), then
// outputShape(forSampleShape:) for MNIST's samples [1, 28, 28] and [784], which builds every
// layer (weights included) and chains their shapes. Built by scripts/fuzz from this file alone,
// on the NeuralNetwork module (and BatchNormalization, ComputeRuntime, FileFormats, OpenBLAS).
//
// Checks, for every input that is UTF-8 and parses:
// - one layer per comma-separated token; the description parses again to the same
//   architecture, with the same description;
// - the output shape for each sample shape is what a reference computed here, with checked
//   arithmetic, says: the same shape for a network of at most 2²⁶ parameters and values per
//   layer output, an ArchitectureError where a layer cannot take the shape that reaches it
//   (rank, a window larger than the padded image, a non-finite eps) and, for a larger
//   network or a size that overflows Int, either, but no trap.
// outputShape allocates and initializes the weights of every layer it accepts, so a large one
// (`linear:1000000` on [784]: 784 million weights) stops the run as out-of-memory under
// libFuzzer's limits; `-fork=1 -ignore_ooms=1` keeps going past them (see docs/FUZZING.md).
import NeuralNetwork

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzArchitecture(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
  guard let text = String(validating: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self),
    let architecture = try? Architecture(parsing: text)
  else { return 0 }
  let tokens = text.split(separator: ",", omittingEmptySubsequences: false).count
  check(architecture.layers.count == tokens, "\(tokens) tokens make \(architecture.layers.count) layers: \(architecture)")

  // What parses must print, and parse again to the same architecture.
  let description = architecture.description
  guard let again = try? Architecture(parsing: description) else {
    fatalError("an accepted architecture does not parse back from \(description.debugDescription)")
  }
  check(again == architecture, "\(description.debugDescription) parses back as \(again)")
  check(again.description == description, "\(description.debugDescription) prints back as \(again)")

  for sampleShape in [[1, 28, 28], [784]] {
    let expected = referenceShape(of: architecture, forSampleShape: sampleShape)
    let actual = Result { () throws(ArchitectureError) in try architecture.outputShape(forSampleShape: sampleShape) }
    switch (expected, actual) {
    case (.shape(let shape), .success(let output)):
      check(output == shape, "\(description) gives \(output) for \(sampleShape), not \(shape)")
    case (.refused, .failure), (.large, _):
      break
    case (.shape(let shape), .failure(let error)):
      fatalError("\(description) refuses \(sampleShape), expected \(shape): \(error)")
    case (.refused(let reason), .success(let output)):
      fatalError("\(description) gives \(output) for \(sampleShape), expected a refusal: \(reason)")
    }
  }
  return 0
}

/// What outputShape(forSampleShape:) should give.
private enum Expected {
  case shape([Int])
  /// An ArchitectureError, for this reason.
  case refused(String)
  /// More than `largeCount` parameters up to a layer, or values in a layer's output, or a
  /// count that overflows Int: an ArchitectureError or a shape, but no trap.
  case large
}

/// 2²⁶ values (256 MB of Float): far below any machine's memory, so that a network within it
/// must be built, and far above what the fuzzer should allocate for one input.
private let largeCount = 1 << 26

/// The output shape of one sample after every layer, with checked arithmetic, in the order
/// makeNetwork goes: each layer's parameters, its shape checks, its output.
private func referenceShape(of architecture: Architecture, forSampleShape sampleShape: [Int]) -> Expected {
  var shape = sampleShape
  var parameters = 0
  for layer in architecture.layers {
    // Weights and biases (counted with or without `nobias`), or γ, β, running mean and variance.
    let layerParameters: Int?
    switch layer {
    case .linear(let outputs, _):
      layerParameters = product(shape).flatMap { product([$0 + 1, outputs]) }
    case .convolution(let outputs, let kernel, _, _, _):
      layerParameters = shape.count != 3 ? 0 : product([shape[0], kernel, kernel]).flatMap { product([$0 + 1, outputs]) }
    case .batchNorm:
      layerParameters = product([4, shape.first ?? 0])
    case .maxPool, .averagePool, .flatten, .sigmoid, .tanh, .relu, .dropout:
      layerParameters = 0
    }
    guard let layerParameters, layerParameters <= largeCount - parameters else { return .large }
    parameters += layerParameters

    switch layer {
    case .linear(let outputs, _):
      shape = [outputs]
    case .convolution(let outputs, let kernel, let stride, let padding, _):
      guard shape.count == 3 else { return .refused("a convolution on \(shape)") }
      guard let twice = product([2, padding]) else { return .large }
      let (height, heightOverflow) = shape[1].addingReportingOverflow(twice)
      let (width, widthOverflow) = shape[2].addingReportingOverflow(twice)
      guard !heightOverflow, !widthOverflow else { return .large }
      guard height >= kernel, width >= kernel else { return .refused("kernel \(kernel) on \(shape) padded by \(padding)") }
      shape = [outputs, (height - kernel) / stride + 1, (width - kernel) / stride + 1]
    case .maxPool(let kernel), .averagePool(let kernel):
      guard shape.count == 3 else { return .refused("a pooling on \(shape)") }
      guard shape[1] >= kernel, shape[2] >= kernel else { return .refused("a pooling window \(kernel) on \(shape)") }
      shape = [shape[0], shape[1] / kernel, shape[2] / kernel]
    case .flatten:
      guard let features = product(shape) else { return .large }
      shape = [features]
    case .batchNorm(let options):
      guard (1...3).contains(shape.count) else { return .refused("batch normalization on \(shape)") }
      guard options.configuration.epsilon.isFinite else { return .refused("eps \(options.configuration.epsilon)") }
    case .sigmoid, .tanh, .relu, .dropout:
      break
    }
    guard let values = product(shape), values <= largeCount else { return .large }
  }
  return .shape(shape)
}

/// The product of `sizes`, or nil where it overflows Int.
private func product(_ sizes: [Int]) -> Int? {
  var result = 1
  for size in sizes {
    let (next, overflow) = result.multipliedReportingOverflow(by: size)
    if overflow { return nil }
    result = next
  }
  return result
}

/// Stops the run with `message` when `condition` fails (`precondition` drops its message in -O builds).
private func check(_ condition: Bool, _ message: @autoclosure () -> String) {
  if !condition { fatalError(message()) }
}
