import ArgumentParser
import BatchNormalization
import FileFormats
import Foundation
import NeuralNetwork

/// `bn eval`: a checkpoint's accuracy and confusion matrix on a test set.
struct Evaluate: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "eval",
    abstract: "Evaluate a trained model (.safetensors) on a test set: accuracy and confusion matrix.",
    discussion: """
      The model is a safetensors file with PyTorch nn.Sequential state_dict keys: one \
      written by `bn train` (the architecture is in its metadata), or one saved by \
      PyTorch's safetensors.torch.save_file(model.state_dict(), path), which needs --arch; \
      float32, or float16 or bfloat16 (model.half(), .to(torch.bfloat16)), widened exactly. \
      Batch normalization uses its running statistics (inference mode). Prints \
      `test accuracy: 0.xxxx` and the confusion matrix (rows: true class). Under \
      `mpirun -np P` each process evaluates a P-th of the test set and rank 0 prints the \
      whole set's counts, the same as one process.

      \(ArchitectureHelp.text)
      """
  )

  @Option(help: ArgumentHelp("The model (.safetensors).", valueName: "model"))
  var model: String

  @Option(help: ArgumentHelp("The architecture, when the file has none in its metadata (see ARCHITECTURE below).", valueName: "spec"))
  var arch: String?

  @Option(parsing: .unconditional, help: "Evaluate on the first N test images only.")
  var limitTest: Int?

  @Option(
    help: ArgumentHelp(
      "Also write the logits of every evaluated image, float32 [images, outputs], as .npy (one process only).",
      valueName: "file.npy"))
  var logits: String?

  @OptionGroup var data: DatasetOptions

  @OptionGroup var computing: ThreadOptions

  func validate() throws {
    if let limitTest, limitTest < 1 { throw ValidationError("--limit-test must be at least 1, got \(limitTest)") }
  }

  func run() throws {
    let processes = try CommandProcesses.start(threads: computing.threads)
    if logits != nil, processes.group.size > 1 {
      throw CommandError("--logits writes one file from one process; run bn eval without mpirun", everyProcess: true)
    }
    let (architecture, file) = try ModelFile.read(model, architecture: arch)
    var test = try DatasetArgument.loadTestSet(data.dataset)
    if let binarize = data.binarize { test = test.binarized(threshold: binarize) }
    if let limitTest { test = test.prefix(limitTest) }
    guard test.count > 0 else { throw CommandError("the test set of \(data.dataset) holds no images: nothing to evaluate") }

    // A file from PyTorch has no sample shape: take the data's, in the form the architecture wants.
    var sampleShape: [Int]?
    if file.metadata[CheckpointKeys.sampleShape] == nil, let architecture {
      sampleShape = DatasetArgument.sampleShape(for: architecture, height: test.height, width: test.width)
    }
    let checkpoint: Checkpoint<Float>
    do {
      checkpoint = try Checkpoint(decoding: file, file: model, architecture: architecture, sampleShape: sampleShape)
    } catch {
      throw CommandError(arch == nil ? "\(error) (pass --arch)" : "\(error)")
    }
    guard checkpoint.sampleShape.reduce(1, *) == test.pixelsPerImage else {
      throw CommandError(
        "\(model) takes samples \(checkpoint.sampleShape) but \(data.dataset) has images of \(test.height) × \(test.width)")
    }
    let outputs = try checkpoint.architecture.outputShape(forSampleShape: checkpoint.sampleShape)
    guard outputs.count == 1, outputs[0] >= test.classCount else {
      throw CommandError(
        "\(model) gives \(outputs) outputs per sample but \(data.dataset) has \(test.classCount) classes")
    }
    let samples = try DatasetArgument.samples(test, sampleShape: checkpoint.sampleShape)
    var evaluation: Evaluation
    do {
      evaluation = try checkpoint.model.evaluate(samples, classCount: test.classCount, sharedBy: processes.group)
    } catch {
      throw CommandError("\(model): \(error)")
    }
    if let logits {
      try writeLogits(of: checkpoint.model, samples, to: logits)
    }
    var matrix = evaluation.confusionMatrix
    matrix.classNames = DatasetArgument.classNames(data.dataset, classCount: test.classCount)
    processes.say(String(format: "test accuracy: %.4f", evaluation.accuracy))
    processes.say("\(matrix)")
    try processes.finish()
  }
}

extension Evaluate {
  /// The inference-mode logits of every sample, 1,000 at a time, as a float32 NPY file
  /// written atomically.
  private func writeLogits(of model: Sequential<Float>, _ samples: LabeledSamples<Float>, to path: String) throws {
    var network = model
    var scalars: [Float] = []
    var outputs = 0
    do {
      for start in stride(from: 0, to: samples.count, by: 1000) {
        let (input, _) = samples.gather(start..<min(start + 1000, samples.count))
        let batch = try network.forward(input, mode: .inference)
        outputs = batch.shape.dropFirst().reduce(1, *)
        scalars += batch.scalars
      }
      try NPY.write(StoredArray(shape: [samples.count, outputs], float32: scalars), to: URL(fileURLWithPath: path))
    } catch {
      throw CommandError("--logits \(path): \(error)")
    }
  }
}
