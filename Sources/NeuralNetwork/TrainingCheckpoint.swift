import FileFormats
import Foundation

/// A training run that can continue: the network (as in ``Checkpoint``), where the
/// ``Trainer`` stands (``TrainerState``: the optimizer's buffers and step, the epoch and
/// step, the shuffle's and the dropout layers' generators), the run's settings, which a
/// resumed run must repeat, and free-form notes, in one safetensors file written
/// atomically, so the network and the state in it always belong together.
///
/// `bn train` writes it beside the model, as `MODEL.resume.safetensors`
/// (``url(besideModel:)``); the model file itself stays a plain PyTorch `state_dict`.
///
/// Layout: the network's tensors under their ``Checkpoint`` keys; each optimizer buffer
/// under `optimizer.KIND.PARAMETER` (`optimizer.momentum_buffer.0.weight`,
/// `optimizer.exp_avg.2.bias`), float32 or float64 like the parameters; the counts and
/// generator states in the metadata (`epoch_count`, `step_count`, `batch_in_epoch`,
/// `optimizer_step_count`, `shuffle_state`, `dropout_states`), settings under
/// `setting.NAME` and notes under `note.NAME`.
public struct TrainingCheckpoint<Scalar: NetworkScalar> {
  /// The network, its architecture and sample shape.
  public var checkpoint: Checkpoint<Scalar>
  /// Where the trainer stands.
  public var trainer: TrainerState<Scalar>
  /// The settings that define the run (learning rate, batch size, seed, the data's
  /// digest, …) as the caller names and writes them; a resumed run compares its own.
  public var settings: [String: String]
  /// Anything else the caller keeps with the run (a training curve, say); not compared.
  public var notes: [String: String]

  /// A training checkpoint from its parts.
  public init(
    checkpoint: Checkpoint<Scalar>, trainer: TrainerState<Scalar>, settings: [String: String] = [:],
    notes: [String: String] = [:]
  ) {
    self.checkpoint = checkpoint
    self.trainer = trainer
    self.settings = settings
    self.notes = notes
  }

  /// `MODEL.resume.safetensors` beside `MODEL.safetensors` (any extension is replaced).
  public static func url(besideModel model: URL) -> URL {
    model.deletingPathExtension().appendingPathExtension("resume.safetensors")
  }

  /// Whether `file` is a training checkpoint rather than a plain model.
  public static func isTrainingCheckpoint(_ file: SafeTensors) -> Bool {
    file.metadata[Keys.format] != nil
  }

  /// The file's contents.
  public func encoded() -> SafeTensors {
    var file = checkpoint.encoded()
    let names = checkpoint.model.parameterNames
    let shapes = checkpoint.model.parameters.map(\.shape)
    for (kind, buffers) in trainer.optimizer.buffers {
      for (index, buffer) in buffers.enumerated() where !buffer.isEmpty {
        let key = "\(Keys.optimizerPrefix)\(kind).\(names[index])"
        if let floats = buffer as? [Float] {
          file.tensors[key] = StoredArray(shape: shapes[index], float32: floats)
        } else {
          file.tensors[key] = StoredArray(shape: shapes[index], float64: buffer.map { Double($0) })
        }
      }
    }
    file.metadata[Keys.format] = Keys.currentFormat
    file.metadata[Keys.epochCount] = String(trainer.epochCount)
    file.metadata[Keys.stepCount] = String(trainer.stepCount)
    file.metadata[Keys.batchInEpoch] = String(trainer.batchInEpoch)
    file.metadata[Keys.optimizerStepCount] = String(trainer.optimizer.stepCount)
    file.metadata[Keys.shuffleState] = String(trainer.shuffleState)
    file.metadata[Keys.dropoutStates] = trainer.dropoutStates.map(String.init).joined(separator: ",")
    for (name, value) in settings { file.metadata[Keys.settingPrefix + name] = value }
    for (name, value) in notes { file.metadata[Keys.notePrefix + name] = value }
    return file
  }

  /// Writes the whole run to `url` atomically: a reader sees the old file or the new one.
  public func write(to url: URL) throws(CheckpointError) {
    do {
      try encoded().write(to: url)
    } catch {
      throw CheckpointError(file: error.file, problem: error.problem)
    }
  }

  /// Reads the training checkpoint at `url`.
  /// - Throws: ``CheckpointError`` naming the file and what is missing or wrong.
  public init(contentsOf url: URL) throws(CheckpointError) {
    let file: SafeTensors
    do {
      file = try SafeTensors.read(contentsOf: url)
    } catch {
      throw CheckpointError(file: error.file, problem: error.problem)
    }
    try self.init(decoding: file, file: url.path)
  }

  /// The run in `contents`, whole or not at all.
  public init(decoding contents: SafeTensors, file: String) throws(CheckpointError) {
    func failure(_ problem: String) -> CheckpointError { CheckpointError(file: file, problem: problem) }
    guard let format = contents.metadata[Keys.format] else {
      throw failure("not a training state (no '\(Keys.format)' in the metadata)")
    }
    guard format == Keys.currentFormat else {
      throw failure("training state format '\(format)', but this version reads '\(Keys.currentFormat)'")
    }
    var network = contents
    network.tensors = contents.tensors.filter { !$0.key.hasPrefix(Keys.optimizerPrefix) }
    let checkpoint = try Checkpoint<Scalar>(decoding: network, file: file)
    let names = checkpoint.model.parameterNames
    let sizes = checkpoint.model.parameters.map(\.scalars.count)
    var buffers: [String: [[Scalar]]] = [:]
    for (key, stored) in contents.tensors where key.hasPrefix(Keys.optimizerPrefix) {
      let rest = key.dropFirst(Keys.optimizerPrefix.count)
      guard let dot = rest.firstIndex(of: "."), let index = names.firstIndex(of: String(rest[rest.index(after: dot)...]))
      else {
        throw failure("optimizer tensor '\(key)' names no parameter of architecture '\(checkpoint.architecture)'")
      }
      let kind = String(rest[..<dot])
      let values: [Scalar]
      switch stored.elements {
      case .float32(let floats) where Scalar.self == Float.self: values = floats as! [Scalar]
      case .float64(let doubles) where Scalar.self == Double.self: values = doubles as! [Scalar]
      // A state saved in half precision, as its network's tensors: widened exactly.
      case _ where Scalar.self == Float.self && stored.isHalfPrecision: values = stored.floatsWidening()! as! [Scalar]
      default:
        let expected = Scalar.self == Float.self ? "float32 (or float16 or bfloat16, widened)" : "float64"
        throw failure("optimizer tensor '\(key)' is \(stored.dtypeName) but must be \(expected)")
      }
      guard values.count == sizes[index] else {
        throw failure("optimizer tensor '\(key)' has \(values.count) values, the parameter \(sizes[index])")
      }
      buffers[kind, default: Array(repeating: [], count: names.count)][index] = values
    }
    func count(_ key: String) throws(CheckpointError) -> Int {
      guard let text = contents.metadata[key], let value = Int(text), value >= 0 else {
        throw failure("the metadata's '\(key)' is \(contents.metadata[key].map { "'\($0)'" } ?? "missing"): it must be a count ≥ 0")
      }
      return value
    }
    func state(_ text: Substring, key: String) throws(CheckpointError) -> UInt64 {
      guard let value = UInt64(text) else { throw failure("the metadata's '\(key)' holds '\(text)', not a generator state") }
      return value
    }
    let dropoutText = contents.metadata[Keys.dropoutStates] ?? ""
    var dropoutStates: [UInt64] = []
    for part in dropoutText.split(separator: ",", omittingEmptySubsequences: false) where !dropoutText.isEmpty {
      dropoutStates.append(try state(part, key: Keys.dropoutStates))
    }
    let trainer = TrainerState<Scalar>(
      epochCount: try count(Keys.epochCount), stepCount: try count(Keys.stepCount),
      shuffleState: try state(Substring(contents.metadata[Keys.shuffleState] ?? ""), key: Keys.shuffleState),
      batchInEpoch: try count(Keys.batchInEpoch),
      optimizer: OptimizerState(stepCount: try count(Keys.optimizerStepCount), buffers: buffers),
      dropoutStates: dropoutStates)
    func prefixed(_ prefix: String) -> [String: String] {
      Dictionary(uniqueKeysWithValues: contents.metadata.filter { $0.key.hasPrefix(prefix) }.map { (String($0.key.dropFirst(prefix.count)), $0.value) })
    }
    self.init(checkpoint: checkpoint, trainer: trainer, settings: prefixed(Keys.settingPrefix), notes: prefixed(Keys.notePrefix))
  }
}

/// The metadata keys and tensor prefixes of a ``TrainingCheckpoint``.
private enum Keys {
  static let format = "training_state_format"
  static let currentFormat = "1"
  static let epochCount = "epoch_count"
  static let stepCount = "step_count"
  static let batchInEpoch = "batch_in_epoch"
  static let optimizerStepCount = "optimizer_step_count"
  static let shuffleState = "shuffle_state"
  static let dropoutStates = "dropout_states"
  static let optimizerPrefix = "optimizer."
  static let settingPrefix = "setting."
  static let notePrefix = "note."
}
