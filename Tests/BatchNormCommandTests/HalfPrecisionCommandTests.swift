import BatchNormalization
import FileFormats
import Foundation
import HalfPrecision
import Testing

/// `bn normalize` on float16 (.npy or .safetensors) and bfloat16 (.safetensors) input:
/// per-value outputs in the input's dtype and the format their extension names, equal to
/// the library's half-precision call; per-channel outputs and the state in float32; every
/// misuse a one-line error that writes nothing.
@Suite struct HalfPrecisionCommandTests {
  static let dimensions = [6, 3, 4, 2]

  static func url(_ path: String) -> URL { URL(fileURLWithPath: path) }

  @Test func bfloat16SafeTensorsInAndOut() throws {
    let directory = try TemporaryDirectory()
    let x = BFloat16.narrowed(NormalizeCommandTests.values(144, seed: 3))
    let dy = BFloat16.narrowed(NormalizeCommandTests.values(144, seed: 4))
    try SafeTensors(tensors: ["activations": StoredArray(shape: Self.dimensions, bfloat16: x)]).write(to: Self.url(directory.path("x.safetensors")))
    try SafeTensors(tensors: ["activations": StoredArray(shape: Self.dimensions, bfloat16: dy)]).write(to: Self.url(directory.path("dy.safetensors")))
    let result = try CommandRunner.run([
      "normalize", directory.path("x.safetensors"), "-o", directory.path("y.safetensors"), "-q",
      "--grad-output", directory.path("dy.safetensors"), "--grad-input", directory.path("dx.safetensors"),
      "--grad-scale", directory.path("dgamma.npy"), "--save-state", directory.path("state.safetensors"),
    ])
    #expect(result.status == 0, "\(result.standardError)")
    var layer = try BatchNorm<Float>(channels: 3)
    let shape = try BatchNormShape(dimensions: Self.dimensions)
    let (y, context) = try layer.forward(x, shape: shape, mode: .training)
    let (dx, parameters) = try layer.backward(dy, input: x, context: context)
    let written = try SafeTensors.read(contentsOf: Self.url(directory.path("y.safetensors")))
    #expect(written.tensors == ["activations": StoredArray(shape: Self.dimensions, bfloat16: y)])
    let gradient = try SafeTensors.read(contentsOf: Self.url(directory.path("dx.safetensors")))
    #expect(gradient.tensors["activations"] == StoredArray(shape: Self.dimensions, bfloat16: dx))
    #expect(try NPY.read(contentsOf: Self.url(directory.path("dgamma.npy"))) == StoredArray(shape: [3], float32: parameters.scale))
    let state = try SafeTensors.read(contentsOf: Self.url(directory.path("state.safetensors")))
    #expect(state.tensors["running_var"] == StoredArray(shape: [3], float32: layer.runningStatistics.variance))
  }

  @Test func float16NPYInAndOutAndAHalfState() throws {
    let directory = try TemporaryDirectory()
    let x = Float16.narrowed(NormalizeCommandTests.values(144, seed: 5))
    try NPY.write(StoredArray(shape: Self.dimensions, float16: x), to: Self.url(directory.path("x.npy")))
    // A state saved in half precision (PyTorch's model.half()) is widened.
    let mean = Float16.narrowed([0.5, -1, 2]), variance = Float16.narrowed([1.5, 0.25, 4])
    try SafeTensors(tensors: [
      "running_mean": StoredArray(shape: [3], float16: mean), "running_var": StoredArray(shape: [3], float16: variance),
    ]).write(to: Self.url(directory.path("state.safetensors")))
    let result = try CommandRunner.run([
      "normalize", directory.path("x.npy"), "-o", directory.path("y.npy"), "-q", "--mode", "inference",
      "--state", directory.path("state.safetensors"),
    ])
    #expect(result.status == 0, "\(result.standardError)")
    var layer = try BatchNorm<Float>(channels: 3)
    layer.runningStatistics.mean = Float16.widened(mean)
    layer.runningStatistics.variance = Float16.widened(variance)
    let (y, _) = try layer.forward(x, shape: try BatchNormShape(dimensions: Self.dimensions), mode: .inference)
    let written = try NPY.read(contentsOf: Self.url(directory.path("y.npy")))
    #expect(written.dtypeName == "float16")
    #expect(written.floatsWidening() == Float16.widened(y))
  }

  @Test func misusesAreOneLineErrorsThatWriteNothing() throws {
    let directory = try TemporaryDirectory()
    let x = StoredArray(shape: [4, 2], bfloat16: BFloat16.narrowed([1, 2, 3, 4, 5, 6, 7, 8]))
    try SafeTensors(tensors: ["a": x, "b": x]).write(to: Self.url(directory.path("two.safetensors")))
    try SafeTensors(tensors: ["x": x]).write(to: Self.url(directory.path("one.safetensors")))
    try SafeTensors(tensors: ["x": StoredArray(shape: [4, 2], int64: [1, 2, 3, 4, 5, 6, 7, 8])])
      .write(to: Self.url(directory.path("int.safetensors")))
    try NPY.write(StoredArray(shape: [4, 2], float32: [1, 2, 3, 4, 5, 6, 7, 8]), to: Self.url(directory.path("x.npy")))
    let cases: [([String], String)] = [
      (["two.safetensors", "-o", "y.safetensors"], "holds 2 tensors (a, b); pick one with --tensor NAME"),
      (["two.safetensors", "--tensor", "c", "-o", "y.safetensors"], "no tensor 'c' (it holds a, b)"),
      (["one.safetensors", "-o", "y.npy"], "--output \(directory.path("y.npy")): the input is bfloat16, which NumPy lacks"),
      (["x.npy", "--tensor", "x", "-o", "y.npy"], "--tensor picks a tensor of a .safetensors input"),
      (["int.safetensors", "-o", "y.safetensors"], "dtype int64 is not supported; use float32, float64, float16 or bfloat16"),
    ]
    for (arguments, message) in cases {
      let paths = arguments.map { $0.contains(".") ? directory.path($0) : $0 }
      TrainCommandTests.expectOneLineError(try CommandRunner.run(["normalize"] + paths), containing: message)
    }
    #expect(!FileManager.default.fileExists(atPath: directory.path("y.safetensors")))
    #expect(!FileManager.default.fileExists(atPath: directory.path("y.npy")))
    // Picked by name, the same file works.
    let picked = try CommandRunner.run(["normalize", directory.path("two.safetensors"), "--tensor", "b", "-o", directory.path("y.safetensors"), "-q"])
    #expect(picked.status == 0, "\(picked.standardError)")
    #expect(try SafeTensors.read(contentsOf: Self.url(directory.path("y.safetensors"))).tensors.keys.sorted() == ["b"])
  }
}
