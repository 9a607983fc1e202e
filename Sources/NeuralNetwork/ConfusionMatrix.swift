/// Counts of (true class, predicted class) pairs: row = the label, column = the
/// prediction, so the diagonal counts correct predictions.
///
/// ```swift
/// var confusion = ConfusionMatrix(classCount: 10)
/// try confusion.record(logits: logits, labels: labels)
/// print(confusion)          // the table, with each class's accuracy
/// ```
public struct ConfusionMatrix: Hashable, Sendable, CustomStringConvertible {
  /// The number of classes.
  public let classCount: Int
  /// Names printed for the classes; their indices when nil.
  public var classNames: [String]?
  /// The counts, row-major: `counts[label · classCount + predicted]`.
  public private(set) var counts: [Int]

  /// An empty matrix.
  /// - Precondition: `classCount` ≥ 1 and `classNames`, when given, has that many names.
  public init(classCount: Int, classNames: [String]? = nil) {
    precondition(classCount >= 1, "a confusion matrix needs at least one class")
    precondition(classNames.map { $0.count == classCount } ?? true, "classNames must name \(classCount) classes")
    self.classCount = classCount
    self.classNames = classNames
    self.counts = Array(repeating: 0, count: classCount * classCount)
  }

  /// Replaces the counts (row-major, classCount² of them).
  mutating func replaceCounts(_ newCounts: [Int]) {
    precondition(newCounts.count == counts.count)
    counts = newCounts
  }

  /// How many samples of class `label` were predicted as `predicted`.
  public subscript(label: Int, predicted: Int) -> Int {
    counts[label * classCount + predicted]
  }

  /// Counts one prediction.
  /// - Throws: ``NetworkError/invalidLabel(sample:label:classCount:)`` for a class
  ///   outside 0..<classCount.
  public mutating func record(label: Int, predicted: Int) throws {
    for value in [label, predicted] where !(0..<classCount).contains(value) {
      throw NetworkError.invalidLabel(sample: 0, label: value, classCount: classCount)
    }
    counts[label * classCount + predicted] += 1
  }

  /// Counts the prediction (the largest logit) of every row of `logits` [N, classes].
  /// - Throws: ``NetworkError/shapeMismatch(layer:expected:actual:)`` unless `logits` is
  ///   [labels.count, classCount]; ``NetworkError/invalidLabel(sample:label:classCount:)``.
  ///   Nothing is counted then.
  public mutating func record<Scalar: NetworkScalar>(logits: Tensor<Scalar>, labels: [Int]) throws {
    guard try checkLogits(logits, labels: labels, user: "confusion matrix") == classCount else {
      throw NetworkError.shapeMismatch(
        layer: "confusion matrix", expected: "logits [\(labels.count), \(classCount)]", actual: logits.shape)
    }
    for (label, predicted) in zip(labels, predictedClasses(logits: logits)) {
      counts[label * classCount + predicted] += 1
    }
  }

  /// The number of samples counted.
  public var total: Int { counts.reduce(0, +) }

  /// The fraction predicted correctly (NaN when nothing was counted).
  public var accuracy: Double {
    Double((0..<classCount).map { self[$0, $0] }.reduce(0, +)) / Double(total)
  }

  /// Each class's accuracy (its recall): the fraction of its samples predicted as it;
  /// NaN for a class without samples.
  public var perClassAccuracy: [Double] {
    (0..<classCount).map { label in
      let row = counts[label * classCount..<(label + 1) * classCount]
      return Double(self[label, label]) / Double(row.reduce(0, +))
    }
  }

  /// The table: one row per true class, one column per predicted class, then that
  /// class's accuracy; the overall accuracy below.
  public var description: String {
    let names = classNames ?? (0..<classCount).map(String.init)
    let labelWidth = max("true \\ predicted".count, names.map(\.count).max() ?? 0)
    let cellWidth = max(names.map(\.count).max() ?? 0, String(counts.max() ?? 0).count)
    func padded(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
    func percent(_ value: Double) -> String {
      value.isNaN ? "—" : String(Double(Int((value * 1000).rounded())) / 10) + "%"
    }
    var lines = [
      padded("true \\ predicted", labelWidth) + " " + names.map { padded($0, cellWidth) }.joined(separator: " ")
        + "  accuracy"
    ]
    for label in 0..<classCount {
      let cells = (0..<classCount).map { padded(String(self[label, $0]), cellWidth) }
      lines.append(
        padded(names[label], labelWidth) + " " + cells.joined(separator: " ") + "  "
          + padded(percent(perClassAccuracy[label]), 8))
    }
    lines.append("overall accuracy \(percent(accuracy)) of \(total)")
    return lines.joined(separator: "\n")
  }
}
