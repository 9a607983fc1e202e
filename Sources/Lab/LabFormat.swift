// How the report writes numbers, in one place, so every experiment writes "85.3%",
// "0.873" and "1.5e-05" the same way. "n/a" stands for a value that is not finite.

/// A fraction as a percentage with one decimal ("85.3%"), with two significant digits
/// below 0.1 % ("0.042%") so a small share does not read as 0.0 %.
func percent(_ fraction: Double) -> String {
  guard fraction.isFinite else { return "n/a" }
  if fraction > 0 && fraction < 0.001 { return String(format: "%.2g%%", 100 * fraction) }
  return String(format: "%.1f%%", 100 * fraction)
}

/// `value` with up to `digits` significant digits ("0.00123", "1.5e+03"); NaN is "n/a" and
/// ±∞ is written as such.
func significant(_ value: Double, digits: Int = 3) -> String {
  guard value.isFinite else { return value.isNaN ? "n/a" : "\(value)" }
  return String(format: "%.\(digits)g", value)
}

/// `value` with `digits` decimals ("0.873").
func decimals(_ value: Double, digits: Int = 3) -> String {
  value.isFinite ? String(format: "%.\(digits)f", value) : "n/a"
}
