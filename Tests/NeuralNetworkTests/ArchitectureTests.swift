import BatchNormalization
import NeuralNetwork
import Testing

/// The compact architecture strings: every token, every parse error pointing at its
/// token, the canonical form, and the networks they build.
@Suite struct ArchitectureTests {
  @Test func everyToken() throws {
    let architecture = try Architecture(
      parsing: "linear:100, conv:32:3:2:1,conv:8:5,maxpool:2,avgpool:3,flatten,bn,sigmoid,tanh,relu,dropout:0.25,LINEAR:10")
    #expect(
      architecture.layers == [
        .linear(outputs: 100), .convolution(outputs: 32, kernel: 3, stride: 2, padding: 1),
        .convolution(outputs: 8, kernel: 5, stride: 1, padding: 0), .maxPool(kernel: 2), .averagePool(kernel: 3),
        .flatten, .batchNorm(BatchNormOptions()), .sigmoid, .tanh, .relu, .dropout(probability: 0.25),
        .linear(outputs: 10),
      ])
  }

  @Test func batchNormOptions() throws {
    let architecture = try Architecture(
      parsing: "bn:momentum=0.01:eps=0.001:ghost=32:renorm:biased:noaffine,bn:cumulative")
    guard case .batchNorm(let options) = architecture.layers[0], case .batchNorm(let cumulative) = architecture.layers[1]
    else { Issue.record("not batch normalization: \(architecture.layers)"); return }
    #expect(options.configuration.momentum == .exponential(0.01))
    #expect(options.configuration.epsilon == 0.001)
    #expect(options.configuration.virtualBatchSize == 32)
    #expect(options.renormalize)
    #expect(options.configuration.runningVarianceEstimator == .biased)
    #expect(!options.configuration.isAffine)
    #expect(cumulative.configuration.momentum == .cumulative)
  }

  @Test(arguments: [
    "linear:100,bn,sigmoid,linear:100,bn,sigmoid,linear:100,bn,sigmoid,linear:10",
    "conv:32:3:1:1,bn,relu,maxpool:2,conv:64:3:1:1,bn,relu,maxpool:2,flatten,linear:10",
    "linear:10,bn:momentum=0.01:eps=0.001:ghost=4:renorm:biased:noaffine,bn:cumulative,dropout:0.5,avgpool:2,tanh",
  ])
  func descriptionParsesBackToTheSameArchitecture(text: String) throws {
    let architecture = try Architecture(parsing: text)
    #expect(architecture.description == text)
    #expect(try Architecture(parsing: architecture.description) == architecture)
  }

  @Test func defaultsAreLeftOutOfTheCanonicalForm() throws {
    #expect(try Architecture(parsing: " conv:8:3 , BN:momentum=0.1:eps=1e-5 ").description == "conv:8:3:1:0,bn")
  }

  @Test(arguments: [
    ("", "architecture token 1 '': the architecture is empty"),
    ("linear:100,,linear:10", "architecture token 2 '': unknown layer ''; expected one of linear, conv, maxpool, avgpool, flatten, bn, sigmoid, tanh, relu, dropout"),
    ("linear:100,softmax", "architecture token 2 'softmax': unknown layer 'softmax'; expected one of linear, conv, maxpool, avgpool, flatten, bn, sigmoid, tanh, relu, dropout"),
    ("linear", "architecture token 1 'linear': linear needs OUT, e.g. linear:100"),
    ("linear:0", "architecture token 1 'linear:0': OUT must be a positive integer, got '0'"),
    ("linear:2147483648", "architecture token 1 'linear:2147483648': OUT must be at most 2147483647, got '2147483648'"),
    ("linear:10:3", "architecture token 1 'linear:10:3': linear takes at most 1 numbers (OUT)"),
    ("conv:32", "architecture token 1 'conv:32': conv needs OUT:KERNEL, e.g. conv:32:3:1:1"),
    ("conv:32:3:1:-1", "architecture token 1 'conv:32:3:1:-1': PADDING must be a non-negative integer, got '-1'"),
    ("conv:32:3:0", "architecture token 1 'conv:32:3:0': STRIDE must be a positive integer, got '0'"),
    ("relu,maxpool", "architecture token 2 'maxpool': maxpool needs K, e.g. maxpool:2"),
    ("avgpool:x", "architecture token 1 'avgpool:x': K must be a positive integer, got 'x'"),
    ("relu:2", "architecture token 1 'relu:2': relu takes no arguments"),
    ("dropout:1", "architecture token 1 'dropout:1': dropout needs a probability in [0, 1), e.g. dropout:0.5"),
    ("bn:momentum=2", "architecture token 1 'bn:momentum=2': momentum must be in [0, 1] (weight on the new batch), got '2'"),
    ("bn:eps=-1", "architecture token 1 'bn:eps=-1': eps must be a number ≥ 0, got '-1'"),
    ("bn:ghost=0", "architecture token 1 'bn:ghost=0': ghost (virtual batch size) must be a positive integer, got '0'"),
    ("bn:fast", "architecture token 1 'bn:fast': unknown bn option 'fast'; expected momentum=M, eps=E, ghost=V, renorm, biased, noaffine, cumulative"),
  ])
  func parseErrorsPointAtTheToken(text: String, message: String) {
    #expect(throws: ArchitectureError.self) { try Architecture(parsing: text) }
    do {
      _ = try Architecture(parsing: text)
    } catch {
      #expect(error.description == message)
    }
  }

  @Test func mlpWithBatchNormalization() throws {
    var generator = SeededGenerator(seed: 7)
    let architecture = try Architecture(parsing: "linear:100,bn,sigmoid,linear:100,bn,sigmoid,linear:100,bn,sigmoid,linear:10")
    let network: Sequential<Float> = try architecture.makeNetwork(sampleShape: [784], using: &generator)
    #expect(
      network.description.split(separator: "\n").dropFirst().dropLast().map { $0.trimmingCharacters(in: .whitespaces) }
        == [
          "(0): Linear(784, 100)", "(1): BatchNorm1d(100)", "(2): Sigmoid", "(3): Linear(100, 100)",
          "(4): BatchNorm1d(100)", "(5): Sigmoid", "(6): Linear(100, 100)", "(7): BatchNorm1d(100)", "(8): Sigmoid",
          "(9): Linear(100, 10)",
        ])
    #expect(try network.outputShape(forInputShape: [3, 784]) == [3, 10])
    #expect(network.parameterNames.prefix(4) == ["0.weight", "0.bias", "1.weight", "1.bias"])
    #expect(network.bufferNames.prefix(3) == ["1.running_mean", "1.running_var", "1.num_batches_tracked"])
    #expect(!architecture.takesImages)
  }

  @Test func cnnWithBatchNormalization() throws {
    var generator = SeededGenerator(seed: 7)
    let architecture = try Architecture(
      parsing: "conv:32:3:1:1,bn,relu,maxpool:2,conv:64:3:1:1,bn,relu,maxpool:2,flatten,linear:10")
    let network: Sequential<Float> = try architecture.makeNetwork(sampleShape: [1, 28, 28], using: &generator)
    let batchNorms = network.layers.compactMap { $0 as? BatchNormLayer<Float> }
    #expect(batchNorms.map(\.kind) == [.batchNorm2d, .batchNorm2d])
    #expect(batchNorms.map(\.channels) == [32, 64])
    #expect(try network.outputShape(forInputShape: [2, 1, 28, 28]) == [2, 10])
    #expect((network.layers[9] as? Linear<Float>)?.inputFeatures == 64 * 7 * 7)
    #expect(architecture.takesImages)
    #expect(try architecture.outputShape(forSampleShape: [1, 28, 28]) == [10])
  }

  @Test func linearFlattensImagesAndBatchNormFollowsTheShape() throws {
    var generator = SeededGenerator(seed: 1)
    let architecture = try Architecture(parsing: "bn,linear:5,bn:renorm,dropout:0.5")
    let network: Sequential<Double> = try architecture.makeNetwork(sampleShape: [2, 3, 3], using: &generator)
    #expect((network.layers[0] as? BatchNormLayer<Double>)?.kind == .batchNorm2d)
    #expect((network.layers[1] as? Linear<Double>)?.inputFeatures == 18)
    let renormalized = network.layers[2] as? BatchNormLayer<Double>
    #expect(renormalized?.kind == .batchNorm1d)
    #expect(renormalized?.configuration.renormalization == RenormalizationLimits(rMax: 1, dMax: 0))
    #expect(network.layers[3] is Dropout<Double>)
  }

  @Test func sameSeedSameWeights() throws {
    let architecture = try Architecture(parsing: "conv:4:3,relu,flatten,linear:3")
    var first = SeededGenerator(seed: 3)
    var second = SeededGenerator(seed: 3)
    let a: Sequential<Float> = try architecture.makeNetwork(sampleShape: [1, 5, 5], using: &first)
    let b: Sequential<Float> = try architecture.makeNetwork(sampleShape: [1, 5, 5], using: &second)
    #expect(a.parameters == b.parameters)
    var third = SeededGenerator(seed: 4)
    let c: Sequential<Float> = try architecture.makeNetwork(sampleShape: [1, 5, 5], using: &third)
    #expect(a.parameters != c.parameters)
  }

  @Test(arguments: [
    ("linear:100,conv:8:3", [784], "architecture token 2 'conv:8:3:1:0': Conv2d expects images [N, C, H, W] but gets [N, 100]"),
    ("conv:8:5,maxpool:2,conv:4:5", [1, 8, 8], "architecture token 3 'conv:4:5:1:0': Conv2d(8, 4, kernel: 5, stride: 1, padding: 0) expects [N, 8, H, W] with H, W + 2·0 ≥ the kernel 5×5 but gets [N, 8, 2, 2]"),
    ("maxpool:2", [784], "architecture token 1 'maxpool:2': MaxPool2d(2) expects [N, C, H, W] with H, W ≥ 2 but gets [N, 784]"),
    ("flatten,flatten,bn,linear:3,bn,bn,maxpool:2", [1, 4, 4], "architecture token 7 'maxpool:2': MaxPool2d(2) expects [N, C, H, W] with H, W ≥ 2 but gets [N, 3]"),
  ])
  func shapesThatDoNotChainNameTheTokenAndBothShapes(text: String, sampleShape: [Int], message: String) throws {
    let architecture = try Architecture(parsing: text)
    var generator = SeededGenerator(seed: 1)
    do {
      let _: Sequential<Float> = try architecture.makeNetwork(sampleShape: sampleShape, using: &generator)
      Issue.record("\(text) on \(sampleShape) built a network")
    } catch {
      #expect(error.description == message)
    }
  }

  @Test func layersWithoutBias() throws {
    let text = "conv:8:3:1:1:nobias,bn,relu,flatten,linear:10:NoBias"
    let architecture = try Architecture(parsing: text)
    #expect(architecture.layers[0] == .convolution(outputs: 8, kernel: 3, stride: 1, padding: 1, hasBias: false))
    #expect(architecture.layers[4] == .linear(outputs: 10, hasBias: false))
    #expect(architecture.description == "conv:8:3:1:1:nobias,bn,relu,flatten,linear:10:nobias")
    #expect(try Architecture(parsing: "conv:8:3:nobias").layers[0] == .convolution(outputs: 8, kernel: 3, stride: 1, padding: 0, hasBias: false))
    var generator = SeededGenerator(seed: 3)
    let network: Sequential<Float> = try architecture.makeNetwork(sampleShape: [1, 6, 6], using: &generator)
    #expect(network.parameterNames == ["0.weight", "1.weight", "1.bias", "4.weight"])
    #expect(throws: ArchitectureError.self) { try Architecture(parsing: "linear:nobias") }
    #expect(throws: ArchitectureError.self) { try Architecture(parsing: "relu:nobias") }
  }
}
