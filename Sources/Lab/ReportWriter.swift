import FileFormats
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Writes the lab report: one static, self-contained `index.html` (figures inline as
/// SVG, opens from disk), plus each table as CSV and each figure as SVG beside it.
public enum ReportWriter {
  /// Writes `reports` into `directory` (created if needed), all files or none: every
  /// CSV, SVG and `index.html` is written and flushed before any takes its place, so a
  /// full disk leaves the previous report whole.
  /// - Returns: the URL of `index.html`.
  /// - Throws: ``FileFormatError`` naming the directory or file and the reason.
  @discardableResult
  public static func write(_ reports: [ExperimentReport], budget: LabBudget, seed: UInt64, to directory: URL) throws -> URL {
    try prepare(directory)
    var files: [(data: Data, url: URL)] = []
    for report in reports {
      for table in report.tables {
        files.append((Data(table.csv.utf8), directory.appendingPathComponent("\(table.name).csv")))
      }
      for figure in report.figures {
        files.append((Data(figure.svg.utf8), directory.appendingPathComponent("\(figure.name).svg")))
      }
    }
    let index = directory.appendingPathComponent("index.html")
    files.append((Data(html(reports, budget: budget, seed: seed).utf8), index))
    try AtomicFile.write(files)
    return index
  }

  /// Creates `directory` if needed and checks that files can be written in it: `bn lab`
  /// asks before its experiments run, not minutes later.
  /// - Throws: ``FileFormatError`` naming the directory and the reason.
  public static func prepare(_ directory: URL) throws(FileFormatError) {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), !isDirectory.boolValue {
      throw FileFormatError(file: directory.path, problem: "is a file; the report needs a directory")
    }
    // mkdir -p, one component at a time, so the error is the system's own ("Not a
    // directory", "Permission denied") for the component that failed.
    var path = directory.path.hasPrefix("/") ? "" : "."
    for component in directory.path.split(separator: "/") {
      path += "/" + component
      if mkdir(path, 0o777) != 0 && errno != EEXIST {
        throw FileFormatError(
          file: directory.path, problem: "cannot create the report directory \(path): \(String(cString: strerror(errno)))")
      }
    }
    guard FileManager.default.isWritableFile(atPath: directory.path) else {
      throw FileFormatError(file: directory.path, problem: "cannot write in the report directory: permission denied")
    }
  }

  static func html(_ reports: [ExperimentReport], budget: LabBudget, seed: UInt64) -> String {
    var body = """
      <h1>Batch Normalization: the article's claims, measured</h1>
      <p class="meta">swift-batchnorm lab · budget <b>\(budget.rawValue)</b> · seed \(seed) · \
      \(escape(ISO8601DateFormatter().string(from: Date()).prefix(10).description))</p>
      <table class="summary"><tr><th>experiment</th><th>claim</th><th>verdict</th></tr>
      """
    for report in reports {
      body += """
        <tr><td><a href="#\(report.name)">\(escape(report.title))</a></td><td>\(escape(report.claim))</td>\
        <td class="\(verdictClass(report.verdict))">\(report.verdict.rawValue)</td></tr>
        """
    }
    body += "</table>\n"
    body += whatExplainsBatchNorm(reports)
    for report in reports {
      body += """
        <section id="\(report.name)">
        <h2>\(escape(report.title)) <span class="\(verdictClass(report.verdict))">\(report.verdict.rawValue)</span></h2>
        <p class="claim"><b>Claim.</b> \(escape(report.claim))</p>
        <p><b>Measured.</b> \(escape(report.findings))</p>
        """
      for figure in report.figures {
        body += "<figure>\(figure.svg)<figcaption>\(escape(figure.caption))</figcaption></figure>\n"
      }
      body += "<details><summary>Configuration, raw data, wall time</summary><ul>"
      for line in report.configuration { body += "<li>\(escape(line))</li>" }
      body += "<li>wall time \(String(format: "%.1f", report.wallSeconds)) s</li>"
      for table in report.tables { body += "<li><a href=\"\(table.name).csv\">\(table.name).csv</a> (\(table.rows.count) rows)</li>" }
      body += "</ul></details>\n</section>\n"
    }
    return """
      <!DOCTYPE html>
      <html lang="en"><head><meta charset="utf-8"><title>swift-batchnorm lab report</title>
      <style>
      body { font-family: sans-serif; max-width: 980px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
      h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
      .meta { color: #666; } table.summary { border-collapse: collapse; width: 100%; }
      table.summary td, table.summary th { border: 1px solid #ddd; padding: 0.4em; vertical-align: top; text-align: left; }
      .holds { color: #1a7f37; font-weight: bold; } .fails { color: #b42318; font-weight: bold; }
      .mixed { color: #9a6700; font-weight: bold; } figure { margin: 1em 0; } figure svg { max-width: 100%; height: auto; }
      figcaption { color: #555; font-size: 0.9em; } details { margin: 0.5em 0; color: #444; }
      </style></head><body>
      \(body)</body></html>

      """
  }

  /// The experiments that test why BN works, with the claim each tests.
  static let explanations = [
    ("ics", "BN reduces internal covariate shift."),
    ("noisy-bn", "BN's benefit survives layer inputs made unstable on purpose."),
    ("smoothness", "BN smooths the loss landscape and allows larger learning rates."),
  ]

  /// A short section that puts the article's explanation next to what `ics`, `noisy-bn`
  /// and `smoothness` measured (the claim each tests, its verdict and the first sentence of
/// its findings);
  /// empty when none of them ran.
  static func whatExplainsBatchNorm(_ reports: [ExperimentReport]) -> String {
    let answers = explanations.compactMap { name, claim in
      reports.first { $0.name == name }.map { (claim, $0) }
    }
    guard !answers.isEmpty else { return "" }
    var section = """
      <section id="what-explains-bn"><h2>What explains BN?</h2>
      <p>The article argues that BN trains faster because it reduces internal covariate shift: each layer's input       distribution stops moving as the layers below it learn. Santurkar et al. (2018) measured that shift and made       BN's outputs unstable on purpose; they and Bjorck et al. (2018) point instead to a smoother loss landscape and       the larger learning rates it allows. What this run measured:</p><ul>
      """
    for (claim, report) in answers {
      let firstSentence = report.findings.range(of: ". ").map { String(report.findings[..<$0.lowerBound]) + "." } ?? report.findings
      section += """
        <li><b>\(escape(claim))</b> <span class="\(verdictClass(report.verdict))">\(report.verdict.rawValue)</span>: \
        \(escape(firstSentence)) <a href="#\(report.name)">(\(report.name))</a></li>
        """
    }
    return section + "</ul></section>\n"
  }

  static func verdictClass(_ verdict: Verdict) -> String {
    switch verdict {
    case .holds: return "holds"
    case .doesNotHold: return "fails"
    case .mixed: return "mixed"
    }
  }

  /// Text made safe for HTML.
  static func escape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
  }
}
