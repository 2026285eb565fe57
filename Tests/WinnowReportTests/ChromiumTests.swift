import Foundation
import Testing

@testable import WinnowRecipe
@testable import WinnowReport

/// Headless Chromium, found on PATH or installed with apt-get (Debian's `chromium`). When it
/// is missing and cannot be installed, the rendering test is skipped, saying why.
enum Chromium {
  static let binary: String? = {
    if let b = find() { return b }
    // Not there: try to install it (needs root and a package mirror).
    let env = ["DEBIAN_FRONTEND": "noninteractive"]
    if run("/usr/bin/env", ["apt-get", "install", "-y", "-q", "chromium"], env: env, timeout: 600)?.status != 0 {
      _ = run("/usr/bin/env", ["apt-get", "update", "-q"], env: env, timeout: 300)
      _ = run("/usr/bin/env", ["apt-get", "install", "-y", "-q", "chromium"], env: env, timeout: 600)
    }
    return find()
  }()

  static func find() -> String? {
    if let b = ProcessInfo.processInfo.environment["CHROMIUM"], FileManager.default.isExecutableFile(atPath: b) {
      return b
    }
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for dir in path.split(separator: ":") + ["/usr/bin"] {
      for name in ["chromium", "chromium-browser"] where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)")
      {
        return "\(dir)/\(name)"
      }
    }
    return nil
  }

  struct Output {
    var status: Int32
    var stdout: String
  }

  /// Runs a program with its output in a file (no pipe to fill up), killing it after `timeout`.
  static func run(
    _ program: String, _ args: [String], env: [String: String] = [:], in dir: String? = nil, timeout: Double
  )
    -> Output?
  {
    let outPath = NSTemporaryDirectory() + "/winnow-report-out-\(UUID().uuidString)"
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    defer { try? FileManager.default.removeItem(atPath: outPath) }
    guard let out = FileHandle(forWritingAtPath: outPath) else { return nil }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: program)
    p.arguments = args
    p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
    if let dir { p.currentDirectoryURL = URL(fileURLWithPath: dir) }
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    p.standardInput = FileHandle.nullDevice
    do { try p.run() } catch { return nil }
    let deadline = Date().addingTimeInterval(timeout)
    while p.isRunning && Date() < deadline { usleep(50_000) }
    if p.isRunning {
      p.terminate()
      p.waitUntilExit()
    }
    try? out.close()
    let text = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    return Output(status: p.terminationStatus, stdout: text)
  }

  /// Common flags: headless, no sandbox (root in containers), and a profile of its own so that
  /// runs in parallel do not share one.
  static func flags(profile: String) -> [String] {
    ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--user-data-dir=\(profile)"]
  }
}

@Suite("winnow report in a browser")
struct ChromiumTests {
  @Test(
    "headless Chromium renders the report: a screenshot, and the DOM holds the SVG charts with their bars",
    .enabled(
      "needs headless Chromium: 'chromium' is not on PATH and 'apt-get install -y chromium' failed (it needs root and a Debian mirror)"
    ) { Chromium.binary != nil })
  func rendersInChromium() throws {
    let chromium = try #require(Chromium.binary)
    let dir = try TempDir()
    try Fixture.writeInputs(dir)
    let result = try Fixture.run(dir)
    let written = try RunReport.write(RunDirectory(result.outputDirectory), to: dir.path + "/report.html")
    let html = try String(contentsOfFile: written.htmlPath, encoding: .utf8)
    let url = URL(fileURLWithPath: written.htmlPath).absoluteString

    // The screenshot: a real image of the page's size, with more in it than a blank page.
    let png = dir.path + "/out.png"
    let shot = try #require(
      Chromium.run(
        chromium,
        Chromium.flags(profile: dir.path + "/profile-1") + ["--screenshot=\(png)", "--window-size=1200,2400", url],
        in: dir.path, timeout: 60))
    #expect(shot.status == 0)
    let data = try #require(FileManager.default.contents(atPath: png), "no screenshot written")
    let bytes = [UInt8](data)
    #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]), "not a PNG")
    func be32(_ at: Int) -> Int { bytes[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
    #expect(bytes.count > 24 && (be32(16), be32(20)) == (1200, 2400), "PNG size")
    // A blank 1200×2400 page compresses to about 6 kB; charts, tables and text take far more.
    #expect(data.count > 60_000, "screenshot is only \(data.count) bytes: is the page blank?")
    if let keep = ProcessInfo.processInfo.environment["WINNOW_REPORT_SCREENSHOT"] {
      try? FileManager.default.removeItem(atPath: keep)
      try? FileManager.default.copyItem(atPath: png, toPath: keep)
    }

    // The DOM after parsing and layout: every chart of the file is there, each with its bars.
    let dump = try #require(
      Chromium.run(
        chromium, Chromium.flags(profile: dir.path + "/profile-2") + ["--dump-dom", url], in: dir.path, timeout: 60))
    #expect(dump.status == 0)
    let dom = dump.stdout
    #expect(dom.contains("Run report: report-test"))
    let svgs = svgElements(dom)
    #expect(svgs.count == svgElements(html).count)
    #expect(svgs.count >= 8, "expected the funnel, reasons, histograms and task charts; found \(svgs.count) charts")
    for svg in svgs {
      #expect(count("<rect class=\"bar\"", in: svg) > 0, "a chart without bars in the DOM: \(svg.prefix(160))")
    }
    for id in ["funnel", "reasons", "output", "tasks"] {
      let body = try #require(section(dom, id), "no section \(id) in the DOM")
      #expect(count("<rect class=\"bar\"", in: body) > 0, "section \(id) has no bars in the DOM")
    }
  }
}
