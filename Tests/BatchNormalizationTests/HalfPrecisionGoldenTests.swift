import BatchNormalization
import Foundation
import HalfPrecision
import Testing

/// PyTorch's CPU batch norm on bfloat16 and float16 with float32 parameters (its mixed
/// type), from Fixtures/make_pytorch_half_fixtures.py: our outputs and input gradients
/// within two units in the last place of the storage type (PyTorch's float16 path does
/// not always round to nearest), its running statistics, dγ and dβ within Float's error.
@Suite struct HalfPrecisionGoldenTests {
  struct Case: Decodable, Sendable, CustomTestStringConvertible {
    let name, dtype, layout: String
    let dimensions: [Int]
    let weight, bias, running_mean, running_var, grad_weight, grad_bias: [Float]
    let input, output, grad_output, grad_input, inference_output: [Int16]
    var testDescription: String { name }
  }

  struct File: Decodable {
    let torch_version: String
    let cases: [Case]
  }

  static let cases: [Case] = {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("Fixtures/pytorch_batchnorm_half.json")
    do {
      return try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
    } catch {
      Issue.record("cannot read \(url.path): \(error)")
      return []
    }
  }()

  /// Units in the last place between two 16-bit sign-magnitude patterns.
  static func unitsApart(_ a: UInt16, _ b: UInt16) -> Int {
    func ordered(_ bits: UInt16) -> Int { bits & 0x8000 != 0 ? -Int(bits & 0x7FFF) : Int(bits) }
    return abs(ordered(a) - ordered(b))
  }

  static func relative(_ a: [Float], _ b: [Float]) -> Double {
    zip(a, b).map { abs(Double($0) - Double($1)) / max(abs(Double($1)), 1e-3) }.max() ?? 0
  }

  @Test func fixturesArePresent() {
    #expect(Self.cases.count == 6)
  }

  @Test(arguments: cases)
  func matchesPyTorch(fixture: Case) throws {
    switch fixture.dtype {
    case "bfloat16": try check(fixture, as: BFloat16.self) { BFloat16(bitPattern: $0) }
    default: try check(fixture, as: Float16.self) { Float16(bitPattern: $0) }
    }
  }

  func check<Half: HalfPrecisionScalar>(_ fixture: Case, as: Half.Type, make: (UInt16) -> Half) throws {
    func values(_ bits: [Int16]) -> [Half] { bits.map { make(UInt16(bitPattern: $0)) } }
    func pattern(_ value: Half) -> UInt16 {
      (value as? BFloat16)?.bitPattern ?? (value as! Float16).bitPattern
    }
    let layout: ChannelLayout = fixture.layout == "channelsLast" ? .channelsLast : .channelsFirst
    let dimensions = layout == .channelsLast ? [fixture.dimensions[0]] + fixture.dimensions.dropFirst(2) + [fixture.dimensions[1]] : fixture.dimensions
    let shape = try BatchNormShape(dimensions: dimensions, layout: layout)
    var layer = try BatchNorm<Float>(channels: shape.channels)
    layer.scale = fixture.weight
    layer.shift = fixture.bias
    let x = values(fixture.input)
    let (y, context) = try layer.forward(x, shape: shape, mode: .training)
    let (dx, parameters) = try layer.backward(values(fixture.grad_output), input: x, context: context)
    let (inferred, _) = try layer.forward(x, shape: shape, mode: .inference)
    for (name, ours, theirs) in [("output", y, fixture.output), ("grad_input", dx, fixture.grad_input), ("inference", inferred, fixture.inference_output)] {
      let apart = zip(ours, theirs).map { Self.unitsApart(pattern($0), UInt16(bitPattern: $1)) }
      #expect(apart.max()! <= 2, "\(fixture.name) \(name): \(apart.filter { $0 > 0 }.count) values differ, up to \(apart.max()!) units")
    }
    #expect(Self.relative(layer.runningStatistics.mean, fixture.running_mean) < 1e-6, "\(fixture.name) running_mean")
    #expect(Self.relative(layer.runningStatistics.variance, fixture.running_var) < 1e-6, "\(fixture.name) running_var")
    #expect(Self.relative(parameters.scale, fixture.grad_weight) < 1e-4, "\(fixture.name) grad_weight")
    #expect(Self.relative(parameters.shift, fixture.grad_bias) < 1e-4, "\(fixture.name) grad_bias")
  }
}
