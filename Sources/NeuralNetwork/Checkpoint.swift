import FileFormats
import HalfPrecision
import Foundation

/// A trained network as a safetensors file that PyTorch reads as the `state_dict` of
/// the equivalent `nn.Sequential`, and that PyTorch's own files load into.
///
/// Keys, shapes and dtypes are exactly PyTorch's: `0.weight` [out, in] (convolutions
/// [out, in, kh, kw]), `0.bias` [out], and for batch normalization `1.weight`,
/// `1.bias`, `1.running_mean`, `1.running_var` [C] and `1.num_batches_tracked`, an
/// int64 of shape []. Floating-point tensors are float32 for a `Float` network and
/// float64 for a `Double` one. The safetensors metadata holds the architecture string
/// under `architecture` and one sample's shape under `sample_shape` (`[1,28,28]`);
/// PyTorch ignores them, and `safetensors.torch.save_file` writes none, in which case
/// the reader passes the architecture and the sample shape.
///
/// ```python
/// model.load_state_dict(safetensors.torch.load_file("model.safetensors"), strict=True)
/// ```
public struct Checkpoint<Scalar: NetworkScalar> {
  /// What the network is.
  public var architecture: Architecture
  /// One sample's shape, without the batch.
  public var sampleShape: [Int]
  /// The network, built from ``architecture`` for ``sampleShape``.
  public var model: Sequential<Scalar>

  /// - Precondition: `model` is what `architecture` builds for `sampleShape` (its keys
  ///   and shapes are those the reader expects).
  public init(architecture: Architecture, sampleShape: [Int], model: Sequential<Scalar>) {
    self.architecture = architecture
    self.sampleShape = sampleShape
    self.model = model
  }

  /// The file's contents: every parameter and buffer under its `state_dict` key, and
  /// the metadata.
  public func encoded() -> SafeTensors {
    var tensors: [String: StoredArray] = [:]
    for (name, tensor) in zip(model.parameterNames + model.bufferNames, model.parameters + model.buffers) {
      if name.hasSuffix(CheckpointKeys.batchesTrackedSuffix) {
        tensors[name] = StoredArray(shape: [], int64: tensor.scalars.map { Int64($0) })
      } else if let floats = tensor.scalars as? [Float] {
        tensors[name] = StoredArray(shape: tensor.shape, float32: floats)
      } else {
        tensors[name] = StoredArray(shape: tensor.shape, float64: tensor.scalars.map { Double($0) })
      }
    }
    return SafeTensors(
      tensors: tensors,
      metadata: [
        CheckpointKeys.architecture: architecture.description,
        CheckpointKeys.sampleShape: "[" + sampleShape.map(String.init).joined(separator: ",") + "]",
      ])
  }

  /// Writes the checkpoint to `url` atomically: a reader sees the old file or the
  /// whole new one.
  public func write(to url: URL) throws(CheckpointError) {
    do {
      try encoded().write(to: url)
    } catch {
      throw CheckpointError(file: error.file, problem: error.problem)
    }
  }

  /// Reads the checkpoint at `url`; see ``init(decoding:file:architecture:sampleShape:)``.
  public init(contentsOf url: URL, architecture: Architecture? = nil, sampleShape: [Int]? = nil) throws(CheckpointError) {
    let file: SafeTensors
    do {
      file = try SafeTensors.read(contentsOf: url)
    } catch {
      throw CheckpointError(file: error.file, problem: error.problem)
    }
    try self.init(decoding: file, file: url.path, architecture: architecture, sampleShape: sampleShape)
  }

  /// The network in `contents`, whole or not at all.
  ///
  /// The architecture and the sample shape come from the arguments when given, else
  /// from the metadata. The network is built from them and every one of its keys must
  /// be in the file, with its shape and dtype, and no other key; every value must be
  /// finite, and running variances ≥ 0.
  /// - Throws: ``CheckpointError`` naming `file` and the key, with both shapes or dtypes.
  public init(
    decoding contents: SafeTensors, file: String, architecture: Architecture? = nil, sampleShape: [Int]? = nil
  ) throws(CheckpointError) {
    func failure(_ problem: String) -> CheckpointError { CheckpointError(file: file, problem: problem) }
    let givenArchitecture = architecture
    let givenSampleShape = sampleShape
    let architecture: Architecture
    if let givenArchitecture {
      architecture = givenArchitecture
    } else {
      architecture = try Self.storedArchitecture(contents.metadata, failure: failure)
    }
    let sampleShape: [Int]
    if let givenSampleShape {
      sampleShape = givenSampleShape
    } else {
      sampleShape = try Self.storedSampleShape(contents.metadata, failure: failure)
    }
    var generator = SeededGenerator(seed: 0)  // every value is replaced by the file's
    var model: Sequential<Scalar>
    do {
      model = try architecture.makeNetwork(sampleShape: sampleShape, using: &generator)
    } catch {
      throw failure("\(error) (sample shape \(sampleShape))")
    }
    let names = model.parameterNames + model.bufferNames
    let expected = model.parameters + model.buffers
    var loaded: [Tensor<Scalar>] = []
    for (name, tensor) in zip(names, expected) {
      guard let stored = contents.tensors[name] else {
        throw failure("missing tensor '\(name)' of shape \(tensor.shape) for architecture '\(architecture)'")
      }
      loaded.append(try Self.tensor(stored, name: name, expectedShape: tensor.shape, failure: failure))
    }
    if let extra = Set(contents.tensors.keys).subtracting(names).sorted().first {
      throw failure(
        "unexpected tensor '\(extra)' of shape \(contents.tensors[extra]!.shape): architecture '\(architecture)' has no such parameter or buffer"
      )
    }
    do {
      try model.loadParameters(Array(loaded[..<model.parameterNames.count]))
      try model.loadBuffers(Array(loaded[model.parameterNames.count...]))
    } catch {
      throw failure("\(error)")
    }
    self.init(architecture: architecture, sampleShape: sampleShape, model: model)
  }

  /// `stored` as a tensor, after checking its dtype and shape.
  private static func tensor(
    _ stored: StoredArray, name: String, expectedShape: [Int], failure: (String) -> CheckpointError
  ) throws(CheckpointError) -> Tensor<Scalar> {
    let isCount = name.hasSuffix(CheckpointKeys.batchesTrackedSuffix)
    // A Float network also reads PyTorch's half-precision states (model.half(),
    // model.to(torch.bfloat16)), widened exactly.
    let expectedTypes = isCount ? ["int64"] : Scalar.self == Float.self ? ["float32", "float16", "bfloat16"] : ["float64"]
    guard expectedTypes.contains(stored.dtypeName) else {
      let expected = expectedTypes.count == 1 ? expectedTypes[0] : "float32 (or float16 or bfloat16, widened)"
      throw failure("tensor '\(name)' is \(stored.dtypeName) but must be \(expected)")
    }
    guard stored.shape == expectedShape else {
      throw failure("tensor '\(name)' has shape \(stored.shape) but the architecture needs \(expectedShape)")
    }
    let scalars: [Scalar]
    switch stored.elements {
    case .float32(let values): scalars = values as? [Scalar] ?? values.map { Scalar(Double($0)) }
    case .float64(let values): scalars = values as? [Scalar] ?? values.map { Scalar($0) }
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      case .float16(let values): scalars = Float16.widened(values).map { Scalar($0) }
    #endif
    case .bfloat16(let values): scalars = BFloat16.widened(values).map { Scalar($0) }
    case .int64(let values): scalars = values.map { Scalar($0) }
    case .uint8(let values): scalars = values.map { Scalar($0) }
    }
    if let index = scalars.firstIndex(where: { !$0.isFinite }) {
      throw failure("tensor '\(name)' holds \(scalars[index]) at index \(index) of \(scalars.count): a trained network's values are finite")
    }
    return Tensor(shape: stored.shape, scalars: scalars)
  }

  private static func storedArchitecture(
    _ metadata: [String: String], failure: (String) -> CheckpointError
  ) throws(CheckpointError) -> Architecture {
    guard let text = metadata[CheckpointKeys.architecture] else {
      throw failure("no architecture in the metadata (a file saved by PyTorch?): give the architecture")
    }
    do {
      return try Architecture(parsing: text)
    } catch {
      throw failure("the metadata's \(error)")
    }
  }

  private static func storedSampleShape(
    _ metadata: [String: String], failure: (String) -> CheckpointError
  ) throws(CheckpointError) -> [Int] {
    guard let text = metadata[CheckpointKeys.sampleShape] else {
      throw failure("no sample shape in the metadata (a file saved by PyTorch?): give the sample shape")
    }
    let inner = text.trimmingCharacters(in: .whitespaces)
    let dimensions = inner.hasPrefix("[") && inner.hasSuffix("]")
      ? inner.dropFirst().dropLast().split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) } : [nil]
    guard !dimensions.isEmpty, dimensions.allSatisfy({ ($0 ?? 0) >= 1 }) else {
      throw failure("the metadata's sample_shape '\(text)' is not a list of positive integers such as [1,28,28]")
    }
    return dimensions.map { $0! }
  }
}

/// The metadata keys of a ``Checkpoint``.
public enum CheckpointKeys {
  /// The architecture string, e.g. `linear:100,bn,sigmoid,linear:10`.
  public static let architecture = "architecture"
  /// One sample's shape, e.g. `[1,28,28]`.
  public static let sampleShape = "sample_shape"
  /// The suffix of batch normalization's int64 count.
  static let batchesTrackedSuffix = ".num_batches_tracked"
}

/// A checkpoint that could not be read or written: one line naming the file and what
/// was wrong (the key, both shapes or dtypes).
public struct CheckpointError: Error, Hashable, Sendable, CustomStringConvertible {
  /// The file's path.
  public let file: String
  /// What was wrong, naming the key and both shapes or dtypes.
  public let problem: String

  /// An error about `file`.
  public init(file: String, problem: String) {
    self.file = file
    self.problem = problem
  }

  public var description: String { "\(file): \(problem)" }
}
