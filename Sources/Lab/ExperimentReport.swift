/// Whether a measured claim held.
public enum Verdict: String, Sendable {
  /// The numbers support the claim.
  case holds = "holds"
  /// The numbers contradict the claim.
  case doesNotHold = "does not hold"
  /// Some of the numbers support the claim and some do not.
  case mixed = "holds in part"
}

/// A figure of the report: an SVG document and its caption.
public struct Figure: Sendable {
  /// The file name without extension.
  public let name: String
  /// One or two sentences under the figure.
  public let caption: String
  /// The SVG document.
  public let svg: String

  /// A figure from its parts.
  public init(name: String, caption: String, svg: String) {
    self.name = name
    self.caption = caption
    self.svg = svg
  }
}

/// What one experiment found: the claim, how it was measured, the raw numbers, the
/// figures, and an honest verdict with the numbers that support it.
public struct ExperimentReport: Sendable {
  /// The command-line name, e.g. `bessel`.
  public let name: String
  /// The section title in the report.
  public let title: String
  /// The article's claim, in one sentence.
  public let claim: String
  /// Dataset, sizes, seeds, optimizer: enough to rerun it.
  public var configuration: [String]
  /// The raw results, written as CSV.
  public var tables: [DataTable]
  /// The figures, in report order.
  public var figures: [Figure]
  /// The computed verdict on ``claim``.
  public var verdict: Verdict
  /// What was measured and whether the claim held, with the numbers.
  public var findings: String
  /// How long the experiment took, in seconds.
  public var wallSeconds: Double

  /// A report from its parts.
  public init(
    name: String, title: String, claim: String, configuration: [String] = [], tables: [DataTable] = [],
    figures: [Figure] = [], verdict: Verdict, findings: String, wallSeconds: Double = 0
  ) {
    self.name = name
    self.title = title
    self.claim = claim
    self.configuration = configuration
    self.tables = tables
    self.figures = figures
    self.verdict = verdict
    self.findings = findings
    self.wallSeconds = wallSeconds
  }
}
