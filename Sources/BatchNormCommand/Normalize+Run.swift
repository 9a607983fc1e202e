import BatchNormalization
import FileFormats
import Foundation

extension Normalize {
  /// Reads everything, computes everything, and only then writes the outputs, so an
  /// error leaves no output file behind.
  ///
  /// Float16 and bfloat16 input is computed as the Float layer computes it on the widened
  /// values (the library's half-precision rule); `--output` and `--grad-input` are rounded
  /// once back to the input's type, the per-channel outputs stay float32.
  func normalize<Scalar: BatchNormScalar>(_ array: StoredArray, named tensorName: String, as: Scalar.Type) throws {
    let shape: BatchNormShape
    do {
      shape = try BatchNormShape(dimensions: array.shape, layout: channelsLast ? .channelsLast : .channelsFirst)
    } catch {
      throw CommandError("\(input): \(error)")
    }
    var layer = try makeLayer(channels: shape.channels, as: Scalar.self)
    let x: [Scalar] = array.scalars()
    let dy = try gradOutput.map { path -> [Scalar] in
      let gradient = try ArrayFile.read(path, tensor: ArrayFile.isSafeTensors(path) ? tensor : nil).array
      guard gradient.shape == array.shape else {
        throw CommandError("\(path): shape \(gradient.shape) differs from the input's \(array.shape)")
      }
      return try floatingValues(gradient, file: path)
    }
    try checkOutputDirectories()

    let (y, context): ([Scalar], BatchNormContext<Scalar>)
    do {
      (y, context) = try layer.forward(x, shape: shape, mode: mode.batchNormMode)
    } catch .singleValuePerChannel {
      throw CommandError(
        "\(input): training needs more than 1 value per channel, but shape \(array.shape) has 1; "
          + "use a larger batch, or --mode inference --state FILE")
    } catch {
      throw CommandError("\(input): \(error)")
    }
    let gradients = try dy.map { try layer.backward($0, input: x, context: context) }

    // Every output is encoded first and all are written together: one that cannot be
    // written leaves every path as it was.
    func perValue(_ values: [Scalar], to path: String) -> (data: Data, url: URL) {
      let stored = StoredArray(shape: array.shape, scalars: values, storedLike: array)
      return (ArrayFile.encode(stored, name: tensorName, for: path), URL(fileURLWithPath: path))
    }
    var files: [(data: Data, url: URL)] = [perValue(y, to: output)]
    if let gradients {
      let channelShape = [shape.channels]
      if let gradInput {
        files.append(perValue(gradients.gradInput, to: gradInput))
      }
      if let gradScale {
        files.append((NPY.encode(StoredArray(shape: channelShape, scalars: gradients.parameters.scale)), URL(fileURLWithPath: gradScale)))
      }
      if let gradShift {
        files.append((NPY.encode(StoredArray(shape: channelShape, scalars: gradients.parameters.shift)), URL(fileURLWithPath: gradShift)))
      }
    }
    if let saveState {
      files.append((try stateFile(layer).encode(), URL(fileURLWithPath: saveState)))
    }
    do {
      try AtomicFile.write(files)
    } catch {
      throw CommandError("\(error); no output was written")
    }
    report(context, layer: layer)
  }

  /// The layer from the options, --scale/--shift and --state.
  private func makeLayer<Scalar: BatchNormScalar>(channels: Int, as: Scalar.Type) throws -> BatchNorm<Scalar> {
    let configuration = BatchNormConfiguration(
      epsilon: epsilon,
      momentum: cumulative ? .cumulative : .exponential(momentum ?? 0.1),
      runningVarianceEstimator: biasedRunningVariance ? .biased : .unbiased)
    var layer: BatchNorm<Scalar>
    do {
      layer = try BatchNorm<Scalar>(channels: channels, configuration: configuration)
    } catch {
      throw CommandError("\(error)")
    }
    let stateTensors = try state.map { try SafeTensors.read(contentsOf: URL(fileURLWithPath: $0)).tensors } ?? [:]
    if let state {
      let mean: [Scalar] = try channelValues(stateTensors, key: "running_mean", file: state, channels: channels)
      let variance: [Scalar] = try channelValues(stateTensors, key: "running_var", file: state, channels: channels)
      if let channel = mean.indices.first(where: { !mean[$0].isFinite }) {
        throw CommandError("\(state): running_mean of channel \(channel) is \(mean[channel]); a running mean must be finite")
      }
      if let channel = variance.indices.first(where: { !(variance[$0] >= 0 && variance[$0].isFinite) }) {
        throw CommandError(
          "\(state): running_var of channel \(channel) is \(variance[channel]); a running variance must be finite and ≥ 0")
      }
      layer.runningStatistics.mean = mean
      layer.runningStatistics.variance = variance
      if let tracked = stateTensors["num_batches_tracked"] {
        guard case .int64(let values) = tracked.elements, values.count == 1 else {
          throw CommandError("\(state): num_batches_tracked must be one int64, got \(tracked.dtypeName) of shape \(tracked.shape)")
        }
        guard values[0] >= 0 else { throw CommandError("\(state): num_batches_tracked is \(values[0]); it counts batches, ≥ 0") }
        layer.runningStatistics.batchesSeen = Int(values[0])
      }
    }
    if let scale {
      layer.scale = try parameterFile(scale, channels: channels)
    } else if let state, stateTensors["weight"] != nil {
      layer.scale = try channelValues(stateTensors, key: "weight", file: state, channels: channels)
    }
    if let shift {
      layer.shift = try parameterFile(shift, channels: channels)
    } else if let state, stateTensors["bias"] != nil {
      layer.shift = try channelValues(stateTensors, key: "bias", file: state, channels: channels)
    }
    return layer
  }

  private func parameterFile<Scalar: BatchNormScalar>(_ path: String, channels: Int) throws -> [Scalar] {
    let array = try NPY.read(contentsOf: URL(fileURLWithPath: path))
    guard array.elementCount == channels, array.shape.count <= 1 else {
      throw CommandError("\(path): expected \(channels) values (one per channel), got shape \(array.shape)")
    }
    return try floatingValues(array, file: path)
  }

  private func channelValues<Scalar: BatchNormScalar>(
    _ tensors: [String: StoredArray], key: String, file: String, channels: Int
  ) throws -> [Scalar] {
    guard let tensor = tensors[key] else {
      let present = tensors.keys.sorted().joined(separator: ", ")
      throw CommandError("\(file): no tensor '\(key)' (found: \(present.isEmpty ? "none" : present))")
    }
    guard tensor.elementCount == channels, tensor.shape.count == 1 else {
      throw CommandError("\(file): '\(key)' has shape \(tensor.shape) but the input has \(channels) channels")
    }
    return try floatingValues(tensor, file: file)
  }

  private func floatingValues<Scalar: BatchNormScalar>(_ array: StoredArray, file: String) throws -> [Scalar] {
    switch array.elements {
    case .float32, .float64, .bfloat16: return array.scalars()
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      case .float16: return array.scalars()
    #endif
    default: throw CommandError("\(file): expected float32, float64, float16 or bfloat16 values, got \(array.dtypeName)")
    }
  }

  /// Fails before any work when an output's directory does not exist.
  private func checkOutputDirectories() throws {
    for path in [output, saveState, gradInput, gradScale, gradShift].compactMap({ $0 }) {
      let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw CommandError("\(path): the directory \(directory) does not exist")
      }
    }
  }

  /// The layer under PyTorch's BatchNorm state_dict names: float32 parameters and
  /// buffers, int64 counter.
  /// - Throws: when a Double value is too large for float32 (it would become ±∞).
  private func stateFile<Scalar: BatchNormScalar>(_ layer: BatchNorm<Scalar>) throws -> SafeTensors {
    let channels = [layer.channels]
    let named = [
      ("weight", layer.scale), ("bias", layer.shift), ("running_mean", layer.runningStatistics.mean),
      ("running_var", layer.runningStatistics.variance),
    ]
    for (name, values) in named {
      if let channel = values.indices.first(where: { values[$0].isFinite && !Float(values[$0]).isFinite }) {
        throw CommandError(
          "--save-state \(saveState ?? ""): \(name) of channel \(channel) is \(values[channel]), beyond float32 (the state file's type); no output was written")
      }
    }
    return SafeTensors(tensors: [
      "weight": StoredArray(shape: channels, float32: layer.scale.map { Float($0) }),
      "bias": StoredArray(shape: channels, float32: layer.shift.map { Float($0) }),
      "running_mean": StoredArray(shape: channels, float32: layer.runningStatistics.mean.map { Float($0) }),
      "running_var": StoredArray(shape: channels, float32: layer.runningStatistics.variance.map { Float($0) }),
      "num_batches_tracked": StoredArray(shape: [], int64: [Int64(layer.runningStatistics.batchesSeen)]),
    ])
  }

  private func report<Scalar: BatchNormScalar>(_ context: BatchNormContext<Scalar>, layer: BatchNorm<Scalar>) {
    if context.runningStatisticsUpdate == .skippedNonFinite {
      printError("warning: the batch has NaN or infinite statistics; the running statistics were NOT updated")
    }
    guard !quiet else { return }
    let written = [output, gradInput, gradScale, gradShift, saveState].compactMap { $0 }
    print("wrote \(written.joined(separator: ", "))")
    if let statistics = context.batchStatistics {
      print(StatisticsTable.render(statistics))
    } else {
      print(StatisticsTable.render(running: layer.runningStatistics))
    }
  }
}

/// Writes a line to standard error.
func printError(_ line: String) {
  FileHandle.standardError.write(Data((line + "\n").utf8))
}
