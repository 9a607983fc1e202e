/// Whether a measured claim held.
public enum Verdict: String, Sendable {
  case holds = "holds"
  case doesNotHold = "does not hold"
  case mixed = "holds in part"
}

/// A figure of the report: an SVG document and its caption.
public struct Figure: Sendable {
  public let name: String
  public let caption: String
  public let svg: String

  public init(name: String, caption: String, svg: String) {
    self.name = name
    self.caption = caption
    self.svg = svg
  }
}

/// What one experiment found: the claim, how it was measured, the raw numbers, the
/// figures, and an honest verdict with the numbers that support it.
public struct ExperimentReport: Sendable {
  public let name: String
  public let title: String
  /// The article's claim, in one sentence.
  public let claim: String
  /// Dataset, sizes, seeds, optimizer: enough to rerun it.
  public var configuration: [String]
  public var tables: [DataTable]
  public var figures: [Figure]
  public var verdict: Verdict
  /// What was measured and whether the claim held, with the numbers.
  public var findings: String
  public var wallSeconds: Double

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
