import Foundation

/// Builds an ONNX graph node by node: each node takes the previous node's output, its
/// parameters become named Float32 initializers, and the last output is `logits`.
struct ONNXGraphBuilder {
  private(set) var graph = Onnx_GraphProto()
  /// The value the next node reads: the graph's input, then each node's output.
  private var current: String
  let opset: Int

  init(opset: Int, name: String, inputName: String, inputShape: [Int]) {
    self.opset = opset
    graph.name = name
    graph.input = [Self.valueInfo(inputName, shape: inputShape)]
    current = inputName
  }

  /// A node of `operatorType` on the current value and `parameters` (initializer names,
  /// in the operator's input order); its output becomes the current value.
  mutating func addNode(_ operatorType: String, layer: Int, parameters: [String] = [], attributes: [Onnx_AttributeProto] = []) {
    var node = Onnx_NodeProto()
    node.opType = operatorType
    node.name = "\(layer).\(operatorType)"
    node.input = [current] + parameters
    node.output = [node.name]
    node.attribute = attributes
    graph.node.append(node)
    current = node.name
  }

  /// A Float32 initializer; returns its name for a node's inputs.
  @discardableResult
  mutating func addInitializer(_ name: String, shape: [Int], values: [Float], note: String? = nil) -> String {
    precondition(shape.reduce(1, *) == values.count, "\(name): \(values.count) values for shape \(shape)")
    var tensor = Onnx_TensorProto()
    tensor.name = name
    tensor.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
    tensor.dims = shape.map { Int64($0) }
    tensor.rawData = littleEndianBytes(values)
    if let note { tensor.docString = note }
    graph.initializer.append(tensor)
    return name
  }

  /// Renames the last node's output to `name` and declares it the graph's output.
  mutating func finish(outputName name: String, outputShape: [Int]) {
    if let last = graph.node.indices.last {
      graph.node[last].output = [name]
    } else {
      // A network of only identities at inference: the output is the input.
      var identity = Onnx_NodeProto()
      identity.opType = "Identity"
      identity.name = "Identity"
      identity.input = [current]
      identity.output = [name]
      graph.node.append(identity)
    }
    graph.output = [Self.valueInfo(name, shape: outputShape)]
  }

  /// A Float32 tensor value of `shape`, whose first dimension, the batch, is the symbol N.
  private static func valueInfo(_ name: String, shape: [Int]) -> Onnx_ValueInfoProto {
    var tensorType = Onnx_TypeProto.Tensor()
    tensorType.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
    var batch = Onnx_TensorShapeProto.Dimension()
    batch.dimParam = "N"
    tensorType.shape.dim = [batch] + shape.map { size in
      var dimension = Onnx_TensorShapeProto.Dimension()
      dimension.dimValue = Int64(size)
      return dimension
    }
    var info = Onnx_ValueInfoProto()
    info.name = name
    info.type.tensorType = tensorType
    return info
  }

  /// ONNX's raw_data: the values' IEEE 754 bit patterns, little-endian.
  private func littleEndianBytes(_ values: [Float]) -> Data {
    var bytes = Data(capacity: values.count * 4)
    for value in values {
      let bits = value.bitPattern
      bytes.append(UInt8(truncatingIfNeeded: bits))
      bytes.append(UInt8(truncatingIfNeeded: bits >> 8))
      bytes.append(UInt8(truncatingIfNeeded: bits >> 16))
      bytes.append(UInt8(truncatingIfNeeded: bits >> 24))
    }
    return bytes
  }
}

/// Node attributes.
extension Onnx_AttributeProto {
  static func integer(_ name: String, _ value: Int) -> Onnx_AttributeProto {
    var attribute = Onnx_AttributeProto()
    attribute.name = name
    attribute.type = .int
    attribute.i = Int64(value)
    return attribute
  }

  static func integers(_ name: String, _ values: [Int]) -> Onnx_AttributeProto {
    var attribute = Onnx_AttributeProto()
    attribute.name = name
    attribute.type = .ints
    attribute.ints = values.map { Int64($0) }
    return attribute
  }

  static func float(_ name: String, _ value: Double) -> Onnx_AttributeProto {
    var attribute = Onnx_AttributeProto()
    attribute.name = name
    attribute.type = .float
    attribute.f = Float(value)
    return attribute
  }
}
