import BatchNormalization
import NeuralNetwork
import Testing

@Suite struct ShapeErrorTests {
  @Test func sequentialNamesTheLayerAndBothShapes() throws {
    var generator = SeededGenerator(seed: 60)
    let model = Sequential<Float>([
      try Linear(inputFeatures: 784, outputFeatures: 100, using: &generator),
      Sigmoid(),
      try Linear(inputFeatures: 50, outputFeatures: 10, using: &generator),
    ])
    #expect(throws: NetworkError.shapeMismatch(layer: "layer 2, Linear(50, 10),", expected: "[N, 50] (or [N, …] with 50 features per sample)", actual: [32, 100])) {
      try model.outputShape(forInputShape: [32, 784])
    }
    do {
      _ = try model.outputShape(forInputShape: [32, 784])
    } catch {
      #expect("\(error)" == "layer 2, Linear(50, 10), expects [N, 50] (or [N, …] with 50 features per sample) but got [32, 100]")
    }
  }

  @Test func chainsThroughConvolutionsAndPooling() throws {
    var generator = SeededGenerator(seed: 61)
    let model = Sequential<Float>([
      try Conv2d(inputChannels: 1, outputChannels: 8, kernelSize: 3, padding: 1, using: &generator),
      try BatchNormLayer(.batchNorm2d, channels: 8),
      ReLU(),
      try MaxPool2d(kernelSize: 2),
      try Conv2d(inputChannels: 8, outputChannels: 16, kernelSize: 3, using: &generator),
      try AvgPool2d(kernelSize: 2),
      Flatten(),
      try Linear(inputFeatures: 16 * 6 * 6, outputFeatures: 10, using: &generator),
    ])
    #expect(try model.outputShape(forInputShape: [5, 1, 28, 28]) == [5, 10])
    #expect(throws: NetworkError.self) { try model.outputShape(forInputShape: [5, 3, 28, 28]) }
    #expect(throws: NetworkError.self) { try model.outputShape(forInputShape: [5, 784]) }
  }

  @Test func aShapeErrorLeavesRunningStatisticsAlone() throws {
    var generator = SeededGenerator(seed: 62)
    var model = Sequential<Double>([
      try BatchNormLayer(.batchNorm1d, channels: 4),
      try Linear(inputFeatures: 3, outputFeatures: 2, using: &generator),
    ])
    let before = model.buffers
    #expect(throws: NetworkError.self) { try model.forward(generator.gaussianTensor([8, 4]), mode: .training) }
    #expect(model.buffers == before)
  }

  @Test func layersRejectWhatTheyCannotTake() throws {
    var generator = SeededGenerator(seed: 63)
    var batchNorm = try BatchNormLayer<Float>(.batchNorm2d, channels: 3)
    #expect(throws: NetworkError.shapeMismatch(layer: "BatchNorm2d(3)", expected: "[N, 3, H, W]", actual: [4, 3])) {
      try batchNorm.forward(Tensor(zeros: [4, 3]), mode: .training)
    }
    var pool = try MaxPool2d<Float>(kernelSize: 3)
    #expect(throws: NetworkError.self) { try pool.forward(Tensor(zeros: [1, 1, 2, 5]), mode: .training) }
    var convolution = try Conv2d<Float>(inputChannels: 2, outputChannels: 1, kernelSize: 3, using: &generator)
    #expect(throws: NetworkError.self) { try convolution.forward(Tensor(zeros: [1, 1, 5, 5]), mode: .training) }
    var flatten = Flatten<Float>()
    #expect(throws: NetworkError.self) { try flatten.forward(Tensor(zeros: [4]), mode: .training) }
  }

  @Test func batchNormReportsOneValuePerChannel() throws {
    var layer = try BatchNormLayer<Float>(.batchNorm1d, channels: 3)
    #expect(throws: BatchNormError.self) { try layer.forward(Tensor(zeros: [1, 3]), mode: .training) }
    _ = try layer.forward(Tensor(zeros: [1, 3]), mode: .inference)
  }

  @Test func backwardNeedsATrainingForward() throws {
    var generator = SeededGenerator(seed: 64)
    var linear = try Linear<Float>(inputFeatures: 3, outputFeatures: 2, using: &generator)
    #expect(throws: NetworkError.missingTrainingForward(layer: "Linear(3, 2)")) {
      try linear.backward(Tensor(zeros: [4, 2]))
    }
    _ = try linear.forward(Tensor(zeros: [4, 3]), mode: .training)
    #expect(throws: NetworkError.self) { try linear.backward(Tensor(zeros: [4, 3])) }
    _ = try linear.backward(Tensor(zeros: [4, 2]))
    // An inference pass releases what training kept.
    _ = try linear.forward(Tensor(zeros: [4, 3]), mode: .inference)
    #expect(throws: NetworkError.missingTrainingForward(layer: "Linear(3, 2)")) {
      try linear.backward(Tensor(zeros: [4, 2]))
    }
  }

  @Test func invalidHyperparameters() {
    var generator = SeededGenerator(seed: 65)
    #expect(throws: NetworkError.self) { try Linear<Float>(inputFeatures: 0, outputFeatures: 2, using: &generator) }
    #expect(throws: NetworkError.self) {
      try Conv2d<Float>(inputChannels: 1, outputChannels: 1, kernelSize: 3, stride: 0, using: &generator)
    }
    #expect(throws: NetworkError.self) { try MaxPool2d<Float>(kernelSize: 0) }
    #expect(throws: NetworkError.self) { try Dropout<Float>(probability: 1.5) }
    #expect(throws: BatchNormError.self) { try BatchNormLayer<Float>(.batchNorm1d, channels: 0) }
  }
}
