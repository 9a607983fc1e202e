import ArgumentParser
import BatchNormalization
import ComputeRuntime
import FileFormats
import Foundation

/// `bn normalize`: one batch-normalization call on .npy files, forward and optionally
/// backward, with PyTorch's conventions and state_dict names.
struct Normalize: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Batch-normalize an array (.npy or .safetensors; forward, and backward with --grad-output).",
    discussion: """
      INPUT is an array of rank ≥ 2 with the channels on axis 1 (N, C, …), or on the last \
      axis with --channels-last (N, …, C): an .npy file (float32, float64 or float16) or a \
      .safetensors file holding one tensor, or the one --tensor names (F32, F64, F16 or \
      BF16; NumPy has no bfloat16). Statistics are per channel over the other axes. \
      --output and --grad-input keep the input's dtype, in the format their extension \
      names (.safetensors, else .npy); --grad-output is read like INPUT. Half precision \
      follows PyTorch's mixed-type rule: float16 and bfloat16 values are computed in \
      float32 and each output is rounded once; the statistics, γ, β, the state file and \
      ∂loss/∂γ, ∂loss/∂β are float32.

      training: normalize with the batch mean and BIASED batch variance, and update the \
      running statistics: mean ← (1 − momentum)·mean + momentum·batch mean, variance the \
      same with the UNBIASED batch variance m/(m − 1)·biased (PyTorch's convention; \
      --biased-running-variance for Keras/Flax). They start from --state, or from mean 0, \
      variance 1, 0 batches.
      inference: normalize with the running statistics from --state; nothing is updated.
      batch-statistics: normalize with batch statistics, update nothing.

      --state and --save-state are safetensors files with PyTorch's BatchNorm state_dict \
      names: running_mean, running_var (float32), num_batches_tracked (int64), and weight \
      and bias when the layer has them. A state file's weight and bias are used when \
      --scale and --shift are not given.

      Examples (compare with torch.nn.BatchNorm2d):
        bn normalize x.npy --output y.npy --save-state state.safetensors
        bn normalize x.npy -o y.npy --mode inference --state state.safetensors
        bn normalize x.npy -o y.npy --grad-output dy.npy --grad-input dx.npy
      """
  )

  enum Mode: String, ExpressibleByArgument, CaseIterable {
    case training, inference
    case batchStatistics = "batch-statistics"

    var batchNormMode: BatchNormMode {
      switch self {
      case .training: return .training
      case .inference: return .inference
      case .batchStatistics: return .batchStatistics
      }
    }
  }

  @Argument(help: "The input array (.npy: float32, float64, float16; .safetensors: also bfloat16; rank ≥ 2).")
  var input: String

  @Option(help: "The tensor of a .safetensors INPUT (and --grad-output) that holds several.")
  var tensor: String?

  @Option(name: .shortAndLong, help: "Where to write the normalized array (.npy, or .safetensors), in the input's dtype.")
  var output: String

  @Option(help: "Which statistics to normalize with: \(Mode.allCases.map(\.rawValue).joined(separator: ", ")).")
  var mode: Mode = .training

  @Flag(help: "The channels are on the last axis (N, …, C) instead of axis 1.")
  var channelsLast = false

  @Option(help: "γ, one value per channel (.npy). Default 1.")
  var scale: String?

  @Option(help: "β, one value per channel (.npy). Default 0.")
  var shift: String?

  @Option(parsing: .unconditional, help: "ε, added to the variance before the square root.")
  var epsilon: Double = 1e-5

  @Option(parsing: .unconditional, help: "Weight of the new batch in the running statistics, default 0.1 (PyTorch convention; Keras' 0.99 is 0.01 here).")
  var momentum: Double?

  @Flag(help: "Average the running statistics exactly over all batches (PyTorch's momentum=None).")
  var cumulative = false

  @Flag(help: "Accumulate the biased batch variance in the running variance (Keras, Flax) instead of the unbiased one.")
  var biasedRunningVariance = false

  @Option(help: "Running statistics to start from (.safetensors, PyTorch BatchNorm state_dict names).")
  var state: String?

  @Option(help: "Where to write the updated running statistics (.safetensors).")
  var saveState: String?

  @Option(help: "∂loss/∂output (.npy, the input's shape): also run backward.")
  var gradOutput: String?

  @Option(help: "Where to write ∂loss/∂input (.npy). Requires --grad-output.")
  var gradInput: String?

  @Option(help: "Where to write ∂loss/∂γ (.npy). Requires --grad-output.")
  var gradScale: String?

  @Option(help: "Where to write ∂loss/∂β (.npy). Requires --grad-output.")
  var gradShift: String?

  @OptionGroup var computing: ThreadOptions

  @Flag(name: .shortAndLong, help: "Print nothing but errors and warnings.")
  var quiet = false

  /// Option combinations that cannot work: a one-line error before anything is read.
  func checkOptions() throws {
    if momentum != nil && cumulative { throw CommandError("give either --momentum or --cumulative, not both") }
    let outputs = [("--output", output), ("--save-state", saveState), ("--grad-input", gradInput), ("--grad-scale", gradScale), ("--grad-shift", gradShift)]
    for case (let name, let path?) in outputs where path.isEmpty || path.hasSuffix("/") {
      throw CommandError("\(name) '\(path)' names no file: give a file name such as out.npy")
    }
    let named = outputs.compactMap { name, path in path.map { (name, URL(fileURLWithPath: $0).standardizedFileURL.path) } }
    for (index, (name, path)) in named.enumerated() {
      if let other = named[..<index].first(where: { $0.1 == path }) {
        throw CommandError("\(other.0) and \(name) name the same file, \(path): one would replace the other")
      }
    }
    if gradOutput == nil && (gradInput != nil || gradScale != nil || gradShift != nil) {
      throw CommandError("--grad-input, --grad-scale and --grad-shift need --grad-output")
    }
    if gradOutput != nil && gradInput == nil && gradScale == nil && gradShift == nil {
      throw CommandError("--grad-output needs somewhere to write: --grad-input, --grad-scale or --grad-shift")
    }
    if !ArrayFile.isSafeTensors(input), tensor != nil {
      throw CommandError("--tensor picks a tensor of a .safetensors input; \(input) is an .npy file")
    }
    if mode == .inference && state == nil {
      throw CommandError("--mode inference needs running statistics: pass --state STATE.safetensors")
    }
    if let momentum, momentum > 0.5, momentum <= 1 {
      printError(
        "warning: --momentum \(momentum) puts that weight on the NEW batch (PyTorch convention); Keras' or Flax's 0.99 is 0.01 here")
    }
  }

  func run() throws {
    try CommandProcesses.refuseMPI("normalize", reason: "runs in one process (every process would write the same files)")
    try checkOptions()
    if let threads = computing.threads { ComputeThreads.count = threads }
    let (array, name) = try ArrayFile.read(input, tensor: tensor)
    if array.dtypeName == "bfloat16" {
      for case (let option, let path?) in [("--output", output), ("--grad-input", gradInput)] where !ArrayFile.isSafeTensors(path) {
        throw CommandError("\(option) \(path): the input is bfloat16, which NumPy lacks; name a .safetensors file")
      }
    }
    switch array.elements {
    case .float32, .bfloat16: try normalize(array, named: name, as: Float.self)
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      case .float16: try normalize(array, named: name, as: Float.self)
    #endif
    case .float64: try normalize(array, named: name, as: Double.self)
    default:
      throw CommandError("\(input): dtype \(array.dtypeName) is not supported; use float32, float64, float16 or bfloat16")
    }
  }
}
