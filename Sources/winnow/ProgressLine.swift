import Glibc
import Winnow

/// One self-rewriting status line on standard error.
final class ProgressLine: @unchecked Sendable {
  static let shared = ProgressLine()
  static var stderrIsTerminal: Bool { isatty(2) != 0 }
  private var shown = false

  func update(_ p: Progress) {
    let mb = Double(p.uncompressedBytes) / 1e6
    let rate = p.seconds > 0 ? mb / p.seconds : 0
    var line = "\(group(p.documents)) docs  \(fixed(mb, 1)) MB  \(fixed(rate, 1)) MB/s"
    if let total = p.rawTotal, total > 0, p.rawBytes > 0 {
      let done = Double(p.rawBytes) / Double(total)
      let eta = p.seconds / done - p.seconds
      line += "  \(fixed(done * 100, 1))%  ETA \(clockText(eta))"
    }
    writeStderr("\r\u{1B}[K" + line)
    shown = true
  }

  func finish() {
    if shown { writeStderr("\r\u{1B}[K") }
    shown = false
  }

}

func fixed(_ v: Double, _ digits: Int) -> String {
  var scale = 1.0
  for _ in 0..<digits { scale *= 10 }
  let r = (v * scale).rounded() / scale
  var s = String(r)
  if let dot = s.firstIndex(of: ".") {
    let decimals = s.distance(from: dot, to: s.endIndex) - 1
    if decimals < digits { s += String(repeating: "0", count: digits - decimals) }
  }
  return s
}

func group(_ n: Int) -> String {
  let s = String(n)
  var out = ""
  for (i, c) in s.reversed().enumerated() {
    if i > 0 && i % 3 == 0 { out.append(",") }
    out.append(c)
  }
  return String(out.reversed())
}

func printError(_ message: String) {
  writeStderr(message + "\n")
}

func writeStderr(_ text: String) {
  var t = text
  t.withUTF8 { b in _ = write(2, b.baseAddress, b.count) }
}

/// Progress of `winnow run`: a live line on a terminal, a plain log line every few seconds
/// otherwise (a batch job's log), nothing with --no-progress.
final class RunProgressDisplay {
  let live: Bool
  let quiet: Bool
  var lastLog = -10.0

  init(live: Bool, quiet: Bool) {
    self.live = live
    self.quiet = quiet
  }

  func text(_ p: RunProgress) -> String {
    let mb = Double(p.bytes) / 1e6
    let rate = p.seconds > 0 ? mb / p.seconds : 0
    var line = "tasks \(p.tasksDone)/\(p.tasksTotal) done, \(p.tasksRunning) running, \(p.tasksFailed) failed"
    line += "  \(group(p.documents)) docs  \(fixed(mb, 1)) MB  \(fixed(rate, 1)) MB/s"
    let done = Double(p.tasksDone) / Double(max(p.tasksTotal, 1))
    if done > 0 && done < 1 { line += "  ETA \(clockText(p.seconds / done - p.seconds))" }
    return line
  }

  func update(_ p: RunProgress) {
    if quiet { return }
    if live {
      writeStderr("\r\u{1B}[K" + text(p))
    } else if p.seconds - lastLog >= 5 {
      lastLog = p.seconds
      writeStderr("[\(fixed(p.seconds, 0))s] " + text(p) + "\n")
    }
  }

  func log(_ line: String) {
    if live { writeStderr("\r\u{1B}[K") }
    writeStderr("winnow: " + line + "\n")
  }

  func finish() {
    if live && !quiet { writeStderr("\r\u{1B}[K") }
  }
}

func clockText(_ s: Double) -> String {
  let t = Int(max(0, s))
  let (h, m, sec) = (t / 3600, t / 60 % 60, t % 60)
  let pad = { (v: Int) in v < 10 ? "0\(v)" : "\(v)" }
  return h > 0 ? "\(h):\(pad(m)):\(pad(sec))" : "\(m):\(pad(sec))"
}
