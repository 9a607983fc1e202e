import Foundation

@testable import ONNXExport

/// Runs an exported graph in Float64, straight from the ONNX operator definitions and
/// one loop per formula: the plain reference that the exporter's graphs are checked
/// against (ONNX Runtime checks them again in scripts/check-onnx-export).
struct ReferenceGraphEvaluator {
  struct Value {
    var shape: [Int]
    var values: [Double]
  }

  let graph: Onnx_GraphProto
  private var initializers: [String: Value] = [:]

  init(_ model: Onnx_ModelProto) {
    graph = model.graph
    for tensor in graph.initializer {
      precondition(tensor.dataType == Int32(Onnx_TensorProto.DataType.float.rawValue))
      let bytes = [UInt8](tensor.rawData)
      let values = stride(from: 0, to: bytes.count, by: 4).map { offset in
        Double(Float(bitPattern: (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }))
      }
      initializers[tensor.name] = Value(shape: tensor.dims.map { Int($0) }, values: values)
    }
  }

  /// The graph's output for `input`, node by node.
  func run(_ input: Value) throws -> Value {
    var values = initializers
    values[graph.input[0].name] = input
    for node in graph.node {
      let inputs = node.input.map { name -> Value in
        guard let value = values[name] else { preconditionFailure("\(node.name) reads '\(name)', which nothing wrote") }
        return value
      }
      values[node.output[0]] = evaluate(node, inputs)
    }
    return values[graph.output[0].name]!
  }

  private func integers(_ node: Onnx_NodeProto, _ name: String) -> [Int]? {
    node.attribute.first { $0.name == name }.map { $0.type == .int ? [Int($0.i)] : $0.ints.map { Int($0) } }
  }

  private func float(_ node: Onnx_NodeProto, _ name: String) -> Double? {
    node.attribute.first { $0.name == name }.map { Double($0.f) }
  }

  private func evaluate(_ node: Onnx_NodeProto, _ inputs: [Value]) -> Value {
    let x = inputs[0]
    switch node.opType {
    case "Gemm":
      precondition(integers(node, "transB") == [1])
      let (rows, columns, outputs) = (x.shape[0], x.shape[1], inputs[1].shape[0])
      var y = [Double](repeating: 0, count: rows * outputs)
      for row in 0..<rows {
        for output in 0..<outputs {
          var sum = inputs.count > 2 ? inputs[2].values[output] : 0
          for column in 0..<columns { sum += x.values[row * columns + column] * inputs[1].values[output * columns + column] }
          y[row * outputs + output] = sum
        }
      }
      return Value(shape: [rows, outputs], values: y)
    case "Conv":
      let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
      let outputs = inputs[1].shape[0]
      let kernel = integers(node, "kernel_shape")![0]
      let stride = integers(node, "strides")![0]
      let padding = integers(node, "pads")![0]
      let (oh, ow) = ((h + 2 * padding - kernel) / stride + 1, (w + 2 * padding - kernel) / stride + 1)
      var y = [Double](repeating: 0, count: n * outputs * oh * ow)
      for sample in 0..<n {
        for output in 0..<outputs {
          for i in 0..<oh {
            for j in 0..<ow {
              var sum = inputs.count > 2 ? inputs[2].values[output] : 0
              for channel in 0..<c {
                for u in 0..<kernel {
                  for v in 0..<kernel {
                    let (row, column) = (i * stride + u - padding, j * stride + v - padding)
                    guard (0..<h).contains(row), (0..<w).contains(column) else { continue }
                    sum += x.values[((sample * c + channel) * h + row) * w + column]
                      * inputs[1].values[((output * c + channel) * kernel + u) * kernel + v]
                  }
                }
              }
              y[((sample * outputs + output) * oh + i) * ow + j] = sum
            }
          }
        }
      }
      return Value(shape: [n, outputs, oh, ow], values: y)
    case "BatchNormalization":
      let epsilon = float(node, "epsilon") ?? 1e-5
      let channels = x.shape[1]
      let inner = x.shape.dropFirst(2).reduce(1, *)
      var y = x.values
      for index in y.indices {
        let channel = (index / inner) % channels
        let (scale, shift, mean, variance) = (
          inputs[1].values[channel], inputs[2].values[channel], inputs[3].values[channel], inputs[4].values[channel]
        )
        y[index] = scale * (x.values[index] - mean) / (variance + epsilon).squareRoot() + shift
      }
      return Value(shape: x.shape, values: y)
    case "Relu": return Value(shape: x.shape, values: x.values.map { max($0, 0) })
    case "Sigmoid": return Value(shape: x.shape, values: x.values.map { 1 / (1 + exp(-$0)) })
    case "Tanh": return Value(shape: x.shape, values: x.values.map { Foundation.tanh($0) })
    case "Flatten":
      precondition(integers(node, "axis") == [1])
      return Value(shape: [x.shape[0], x.shape.dropFirst().reduce(1, *)], values: x.values)
    case "MaxPool", "AveragePool":
      let kernel = integers(node, "kernel_shape")![0]
      precondition(integers(node, "strides") == [kernel, kernel])
      let (planes, h, w) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
      let (oh, ow) = (h / kernel, w / kernel)
      var y: [Double] = []
      for plane in 0..<planes {
        for i in 0..<oh {
          for j in 0..<ow {
            let window = (0..<kernel).flatMap { u in
              (0..<kernel).map { v in x.values[(plane * h + i * kernel + u) * w + j * kernel + v] }
            }
            y.append(node.opType == "MaxPool" ? window.max()! : window.reduce(0, +) / Double(window.count))
          }
        }
      }
      return Value(shape: [x.shape[0], x.shape[1], oh, ow], values: y)
    case "Identity": return x
    default: preconditionFailure("the reference does not know \(node.opType)")
    }
  }
}
