import Testing

@testable import Lab

/// The report's "What explains BN?" section: present when an experiment that tests the
/// explanation ran, with its verdict and the first sentence of its findings; absent otherwise.
@Suite struct ReportWriterTests {
  static func report(_ name: String, verdict: Verdict, findings: String) -> ExperimentReport {
    ExperimentReport(name: name, title: name, claim: "a claim", verdict: verdict, findings: findings)
  }

  @Test func theExplanationsSectionQuotesEachAnswer() {
    let html = ReportWriter.html(
      [
        Self.report("bessel", verdict: .holds, findings: "Unbiased. Numbers."),
        Self.report("ics", verdict: .doesNotHold, findings: "BN did not reduce it (0.5 against 0.4). More numbers 1.5."),
        Self.report("smoothness", verdict: .mixed, findings: "Smoother, not larger rates. β 1.2 against 1.5."),
      ], budget: .quick, seed: 1)
    #expect(html.contains("<h2>What explains BN?</h2>"))
    #expect(html.contains("BN did not reduce it (0.5 against 0.4)."))
    #expect(!html.contains("More numbers 1.5.</li>"))
    #expect(html.contains("Smoother, not larger rates."))
    #expect(html.contains("BN reduces internal covariate shift.</b> <span class=\"fails\">does not hold</span>"))
    #expect(!html.contains("Unbiased.</li>"))
    // Before the first experiment's section.
    #expect(html.range(of: "What explains BN?")!.lowerBound < html.range(of: "<section id=\"bessel\">")!.lowerBound)
  }

  @Test func noExplanationExperimentNoSection() {
    let html = ReportWriter.html([Self.report("bessel", verdict: .holds, findings: "Unbiased.")], budget: .quick, seed: 1)
    #expect(!html.contains("What explains BN?"))
  }
}
