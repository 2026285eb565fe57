import Foundation

/// Number, size, time and text formatting for the run report.
enum Fmt {
  /// Escapes text for HTML and SVG alike (the output is well-formed XML).
  static func esc(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for c in s.unicodeScalars {
      switch c {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&#39;"
      default:
        // Control characters other than tab and newline are not allowed in XML.
        if c.value < 0x20 && c != "\t" && c != "\n" { out += "\u{FFFD}" } else { out.unicodeScalars.append(c) }
      }
    }
    return out
  }

  /// `1234567` → `1,234,567`.
  static func int(_ n: Int) -> String {
    let digits = String(n.magnitude)
    var out = ""
    for (k, ch) in digits.enumerated() {
      if k > 0 && (digits.count - k) % 3 == 0 { out.append(",") }
      out.append(ch)
    }
    return n < 0 ? "-" + out : out
  }

  /// Up to `digits` significant digits, without trailing zeros: `0.25`, `3.14`, `1200`.
  static func sig(_ v: Double, _ digits: Int = 3) -> String {
    guard v.isFinite else { return v.isNaN ? "NaN" : (v > 0 ? "∞" : "-∞") }
    if v == 0 { return "0" }
    if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
    let mag = Int(log10(abs(v)).rounded(.down))
    let decimals = max(0, digits - 1 - mag)
    var s = String(format: "%.\(min(decimals, 12))f", v)
    if s.contains(".") {
      while s.hasSuffix("0") { s.removeLast() }
      if s.hasSuffix(".") { s.removeLast() }
    }
    return s == "-0" ? "0" : s
  }

  /// A summary value: integers with thousands separators, others to four significant digits.
  static func value(_ v: Double) -> String {
    if abs(v) >= 1000 && abs(v) < 1e15 { return int(Int(v.rounded())) }
    return sig(v, abs(v) < 1 ? 3 : 4)
  }

  /// Short axis labels: `950`, `1.2k`, `3M`, `0.25`.
  static func compact(_ v: Double) -> String {
    let a = abs(v)
    for (limit, suffix) in [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")] where a >= limit {
      return sig(v / limit) + suffix
    }
    return sig(v)
  }

  /// Decimal units, as disks and `ls -h --si` count: `12.3 MB`.
  static func bytes(_ n: Int) -> String {
    let v = Double(n)
    if abs(v) < 1000 { return "\(n) B" }
    for (limit, unit) in [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")] where abs(v) >= limit {
      return String(format: "%.1f", v / limit) + " " + unit
    }
    return "\(n) B"
  }

  static func percent(_ part: Int, of whole: Int) -> String {
    guard whole > 0 else { return "–" }
    let p = 100 * Double(part) / Double(whole)
    if p > 0 && p < 0.1 { return "<0.1%" }
    return String(format: "%.1f%%", p)
  }

  static func seconds(_ s: Double) -> String {
    guard s.isFinite, s >= 0 else { return "–" }
    if s < 0.001 { return "<1 ms" }
    if s < 1 { return "\(Int((s * 1000).rounded())) ms" }
    if s < 60 { return String(format: "%.2f s", s) }
    let total = Int(s.rounded())
    if total < 3600 { return String(format: "%d min %02d s", total / 60, total % 60) }
    return String(format: "%d h %02d min", total / 3600, (total % 3600) / 60)
  }

  static func date(_ t: Double) -> String {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.dateFormat = "yyyy-MM-dd HH:mm:ss xxx"
    return f.string(from: Date(timeIntervalSince1970: t))
  }

  /// Shortens `s` to at most `n` characters, ending in an ellipsis.
  static func truncate(_ s: String, _ n: Int) -> String {
    s.count <= n ? s : String(s.prefix(max(1, n - 1))) + "…"
  }

  /// Coordinates in SVG: at most two decimals.
  static func px(_ v: Double) -> String {
    let r = (v * 100).rounded() / 100
    return r == r.rounded() ? String(Int(r)) : String(r)
  }
}

/// `path` made absolute against the current directory, for display.
func absolutePath(_ path: String) -> String {
  if path.hasPrefix("/") { return path }
  let cwd = FileManager.default.currentDirectoryPath
  return path == "." ? cwd : cwd + "/" + path
}
