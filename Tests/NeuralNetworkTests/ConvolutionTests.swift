import NeuralNetwork
import Testing

@Suite struct ConvolutionTests {
  /// (input [N, C, H, W], weight [out, C, kh, kw], stride, padding)
  static let cases: [([Int], [Int], Int, Int)] = [
    ([2, 3, 8, 8], [4, 3, 3, 3], 1, 1),
    ([1, 1, 28, 28], [6, 1, 5, 5], 1, 0),
    ([3, 2, 9, 7], [5, 2, 3, 2], 2, 1),
    ([2, 4, 5, 6], [3, 4, 1, 1], 1, 0),
    ([1, 2, 4, 4], [2, 2, 3, 3], 3, 2),
    ([2, 3, 6, 6], [2, 3, 6, 6], 1, 0),
  ]

  @Test(arguments: ScalarKind.allCases, cases.indices)
  func matchesDirectConvolution(kind: ScalarKind, caseIndex: Int) throws {
    switch kind {
    case .float: try check(Float.self, caseIndex: caseIndex, tolerance: 1e-5)
    case .double: try check(Double.self, caseIndex: caseIndex, tolerance: 1e-13)
    }
  }

  func check<Scalar: NetworkScalar>(_: Scalar.Type, caseIndex: Int, tolerance: Double) throws {
    let (inputShape, weightShape, stride, padding) = Self.cases[caseIndex]
    var generator = SeededGenerator(seed: 40 + UInt64(caseIndex))
    let input: Tensor<Scalar> = generator.gaussianTensor(inputShape)
    let weight: Tensor<Scalar> = generator.gaussianTensor(weightShape)
    let bias: Tensor<Scalar> = generator.gaussianTensor([weightShape[0]])
    var layer = try Conv2d(weight: weight, bias: bias, stride: stride, padding: padding)
    let output = try layer.forward(input, mode: .inference)
    let expected = Self.directConvolution(input: input, weight: weight, bias: bias, stride: stride, padding: padding)
    #expect(output.shape == expected.shape)
    let scale = Double(weightShape.dropFirst().reduce(1, *)).squareRoot()
    #expect(maximumDifference(output.scalars, expected.scalars) <= tolerance * scale)
  }

  /// The definition, in Float64: y[n, o, oy, ox] = b[o] + Σ W[o, c, i, j]·x[n, c, oy·s − p + i, ox·s − p + j].
  static func directConvolution<Scalar: NetworkScalar>(
    input: Tensor<Scalar>, weight: Tensor<Scalar>, bias: Tensor<Scalar>, stride: Int, padding: Int
  ) -> Tensor<Double> {
    let (batch, channels, height, width) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
    let (outputs, kernelHeight, kernelWidth) = (weight.shape[0], weight.shape[2], weight.shape[3])
    let outputHeight = (height + 2 * padding - kernelHeight) / stride + 1
    let outputWidth = (width + 2 * padding - kernelWidth) / stride + 1
    var result = [Double]()
    for sample in 0..<batch {
      for output in 0..<outputs {
        for outputY in 0..<outputHeight {
          for outputX in 0..<outputWidth {
            var sum = Double(bias.scalars[output])
            for channel in 0..<channels {
              for i in 0..<kernelHeight {
                for j in 0..<kernelWidth {
                  let y = outputY * stride - padding + i
                  let x = outputX * stride - padding + j
                  guard (0..<height).contains(y), (0..<width).contains(x) else { continue }
                  let w = weight.scalars[((output * channels + channel) * kernelHeight + i) * kernelWidth + j]
                  sum += Double(w) * Double(input.scalars[((sample * channels + channel) * height + y) * width + x])
                }
              }
            }
            result.append(sum)
          }
        }
      }
    }
    return Tensor(shape: [batch, outputs, outputHeight, outputWidth], scalars: result)
  }

  @Test func withoutBiasAndAfterReuse() throws {
    var generator = SeededGenerator(seed: 50)
    let weight: Tensor<Double> = generator.gaussianTensor([2, 1, 3, 3])
    var layer = try Conv2d(weight: weight, bias: nil, padding: 1)
    // A larger input first, so the workspace is reused with room to spare.
    _ = try layer.forward(generator.gaussianTensor([1, 1, 9, 9]), mode: .inference)
    let input: Tensor<Double> = generator.gaussianTensor([2, 1, 4, 5])
    let output = try layer.forward(input, mode: .inference)
    let expected = Self.directConvolution(
      input: input, weight: weight, bias: Tensor(zeros: [2]), stride: 1, padding: 1)
    #expect(maximumDifference(output.scalars, expected.scalars) <= 1e-13)
  }

  @Test func pytorchDefaultInitializationBounds() throws {
    var generator = SeededGenerator(seed: 51)
    let layer = try Conv2d<Float>(inputChannels: 3, outputChannels: 8, kernelSize: 3, using: &generator)
    let bound = Float(1 / (27.0).squareRoot())
    #expect(layer.weight.shape == [8, 3, 3, 3])
    #expect(layer.weight.scalars.allSatisfy { abs($0) <= bound })
    #expect(layer.bias!.scalars.allSatisfy { abs($0) <= bound })
    #expect(layer.description == "Conv2d(3, 8, kernel: 3, stride: 1, padding: 0)")
  }
}
