import ArgumentParser
import FileFormats
import Foundation
import NeuralNetwork
import ONNXExport

/// `bn export`: a trained model as an ONNX file for ONNX Runtime and other runtimes.
struct Export: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "export",
    abstract: "Export a trained model (.safetensors) as ONNX, for inference in ONNX Runtime and other runtimes.",
    discussion: """
      The graph takes `input`, float32 [N, 784] (or [N, 1, 28, 28] for a network that \
      starts with a convolution or a pooling), and gives `logits`, float32 [N, classes]. \
      Linear layers become Gemm, convolutions Conv, batch normalization \
      BatchNormalization with the running statistics (training_mode = 0; PyTorch's \
      momentum m is written as ONNX's 1 − m), activations Relu, Sigmoid and Tanh, poolings \
      MaxPool and AveragePool; dropout, the identity at inference, is left out. Ghost, \
      renormalized and no-affine batch normalization export as the inference they \
      compute. With --fold-batchnorm, each batch normalization right after a linear \
      layer or a convolution is folded into its weights and bias (W·s, (b − µ)·s + β with \
      s = γ/√(σ² + ε)); the others stay BatchNormalization nodes. The file is written \
      atomically.

      A safetensors file saved by PyTorch has no architecture in its metadata: pass \
      --arch (and --sample-shape when its samples are not Fashion-MNIST's).

      \(ArchitectureHelp.text)
      """
  )

  @Argument(help: ArgumentHelp("The model (.safetensors), as `bn train` writes it.", valueName: "model"))
  var model: String

  @Option(help: ArgumentHelp("Where to write the ONNX model.", valueName: "file.onnx"))
  var onnx: String

  @Flag(help: "Fold each batch normalization into the linear layer or convolution before it.")
  var foldBatchnorm = false

  @Option(
    help: ArgumentHelp(
      "The ONNX opset, \(ONNXExportOptions.supportedOpsets.lowerBound) to \(ONNXExportOptions.supportedOpsets.upperBound).",
      valueName: "N"))
  var opset = ONNXExportOptions.defaultOpset

  @Option(help: ArgumentHelp("The architecture, when the file has none in its metadata (see ARCHITECTURE below).", valueName: "spec"))
  var arch: String?

  @Option(
    help: ArgumentHelp(
      "One sample's shape, when the file has none: comma-separated, e.g. 1,28,28 (default: Fashion-MNIST's, in the form the architecture takes).",
      valueName: "shape"))
  var sampleShape: String?

  func validate() throws {
    guard ONNXExportOptions.supportedOpsets.contains(opset) else {
      throw ValidationError(ONNXExportError.unsupportedOpset(opset).description)
    }
    let output = URL(fileURLWithPath: onnx).standardizedFileURL.resolvingSymlinksInPath()
    if output == URL(fileURLWithPath: model).standardizedFileURL.resolvingSymlinksInPath() {
      throw ValidationError("--onnx \(onnx) is the model itself: exporting would overwrite it")
    }
  }

  func run() throws {
    let (architecture, file) = try ModelFile.read(model, architecture: arch)
    var shape: [Int]?
    if let sampleShape {
      let parts = sampleShape.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
      guard !parts.isEmpty, parts.count <= 3, parts.allSatisfy({ ($0 ?? 0) >= 1 }) else {
        throw CommandError("--sample-shape must be 1 to 3 positive integers separated by commas (e.g. 1,28,28), got '\(sampleShape)'")
      }
      shape = parts.map { $0! }
    } else if file.metadata[CheckpointKeys.sampleShape] == nil, let architecture {
      shape = DatasetArgument.sampleShape(for: architecture, height: 28, width: 28)
    }
    let checkpoint: Checkpoint<Float>
    do {
      checkpoint = try Checkpoint(decoding: file, file: model, architecture: architecture, sampleShape: shape)
    } catch {
      throw CommandError(arch == nil ? "\(error) (pass --arch)" : "\(error)")
    }
    let exported: ONNXModel
    do {
      exported = try checkpoint.onnxModel(ONNXExportOptions(opset: opset, foldsBatchNormalization: foldBatchnorm))
    } catch {
      throw CommandError("\(model): \(error)")
    }
    do {
      try exported.write(to: URL(fileURLWithPath: onnx))
    } catch {
      throw CommandError("\(error)")
    }
    let bytes = (try? exported.serializedData().count) ?? 0
    let dimensions = { (shape: [Int]) in "[N, " + shape.map(String.init).joined(separator: ", ") + "]" }
    print("wrote \(onnx): ONNX opset \(opset), \(bytes) bytes; input \(dimensions(exported.sampleShape)) → logits \(dimensions(exported.outputShape))")
    print("nodes: " + exported.operatorTypes.joined(separator: ", "))
    if foldBatchnorm {
      let folded = exported.foldedBatchNormLayers.map(String.init).joined(separator: ", ")
      let kept = exported.batchNormNodeLayers.map(String.init).joined(separator: ", ")
      print(
        "batch normalization folded: " + (folded.isEmpty ? "none" : "layers \(folded)")
          + (kept.isEmpty ? "" : "; kept as nodes (not right after a linear layer or convolution): layers \(kept)"))
    }
  }
}
