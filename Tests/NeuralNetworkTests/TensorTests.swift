import Testing

@testable import NeuralNetwork

@Suite struct TensorTests {
  @Test func shapesAndCounts() {
    let tensor = Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
    #expect(tensor.elementCount == 6)
    let reshaped = tensor.reshaped([3, 2])
    #expect(reshaped.shape == [3, 2])
    #expect(reshaped.scalars == tensor.scalars)
    #expect(Tensor<Double>(zeros: [2, 0, 4]).elementCount == 0)
    #expect(Tensor<Double>(zeros: []).scalars == [0])
  }

  @Test func valueSemantics() {
    let original = Tensor<Float>(shape: [2], scalars: [1, 2])
    var copy = original
    copy.scalars[0] = 9
    #expect(original.scalars == [1, 2])
    #expect(copy != original)
  }

  /// The condition the initializer's precondition checks, on every toolchain (exit
  /// tests, which watch the trap itself, need Swift 6.2).
  @Test func theShapeMustHoldTheScalars() {
    #expect(Tensor<Float>.holds(4, shape: [2, 2]) && Tensor<Float>.holds(1, shape: []) && Tensor<Float>.holds(0, shape: [3, 0]))
    #expect(!Tensor<Float>.holds(3, shape: [2, 2]) && !Tensor<Float>.holds(5, shape: [2, 2]))
    #expect(!Tensor<Float>.holds(4, shape: [-2, -2]))
  }

  #if compiler(>=6.2)
    @Test func mismatchedCountTraps() async {
      await #expect(processExitsWith: .failure) {
        _ = Tensor<Float>(shape: [2, 2], scalars: [1, 2, 3])
      }
    }
  #endif
}
