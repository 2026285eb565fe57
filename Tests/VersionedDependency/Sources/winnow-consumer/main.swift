// A program that depends on Winnow by version and brings a stage of its own: it runs a recipe
// that uses it inline and on worker processes (this same program, see runWorkerIfRequested),
// checks that both write the same bytes, and runs a Pipeline directly. Exits 1 on any
// difference. Built and run by scripts/check-versioned-dependency.sh.
import Foundation
import Winnow

/// `shouting`: upper-cases the text; drops documents with fewer than `min_letters` letters.
final class ShoutingStage: DocumentStage {
  static let descriptor = StageDescriptor(
    name: "shouting",
    summary: "Upper-case the text; drop documents with too few letters",
    parameters: [ParameterSpec("min_letters", .int(min: 0, max: nil), default: .int(1), help: "fewest letters")],
    make: { (p, _) throws(WinnowError) in ShoutingStage(minLetters: p.int("min_letters")!) })

  let minLetters: Int
  init(minLetters: Int) { self.minLetters = minLetters }

  func process(_ doc: Document) -> Verdict {
    let text = doc.textString
    if text.unicodeScalars.lazy.filter(\.properties.isAlphabetic).count < minLetters { return .drop("too_few_letters") }
    let loud = text.uppercased()
    if loud != text { doc.setText(loud) }
    return .keep
  }
}

var registry = StageCatalog.standard
registry.register(ShoutingStage.descriptor)
// A worker started by the local executor runs its task here and exits.
Winnow.runWorkerIfRequested(registry: registry)

var failures = 0
@MainActor func check(_ ok: Bool, _ what: String) {
  print("\(ok ? "ok  " : "FAIL") \(what)")
  if !ok { failures += 1 }
}

/// `body`'s value; an error ends the program as a failed check.
@MainActor func orFail<T>(_ what: String, _ body: () throws -> T) -> T {
  do { return try body() } catch {
    print("FAIL \(what): \((error as? WinnowError)?.message ?? "\(error)")")
    exit(1)
  }
}

let fm = FileManager.default
let work =
  CommandLine.arguments.dropFirst().first ?? fm.temporaryDirectory.appendingPathComponent("winnow-consumer-\(getpid())").path
try? fm.removeItem(atPath: work)
try fm.createDirectory(atPath: work + "/in", withIntermediateDirectories: true)

// Three input files (three tasks). "Hello there, world" becomes a duplicate of the shouted
// "HELLO THERE, WORLD" only after `shouting`, so exact_dedup sees the custom stage's output.
let inputs: [[String]] = [
  [
    #"{"id":"a1","text":"Hello there, world","n":1}"#,
    #"{"id":"a2","text":"123 456 789"}"#,
    #"{"id":"a3","text":"too short"}"#,
  ],
  [
    #"{"id":"b1","text":"HELLO THERE, WORLD","meta":{"k":[1,2.50]}}"#,
    #"{"id":"b2","text":"ein zwei drei vier"}"#,
  ],
  [
    #"{"id":"c1","text":"über straße café"}"#,
    #"{"id":"c2","text":"... --- ..."}"#,
    #"{"id":"c3","text":"the quick brown fox"}"#,
  ],
]
for (k, lines) in inputs.enumerated() {
  try (lines.joined(separator: "\n") + "\n").write(toFile: "\(work)/in/\(k).jsonl", atomically: true, encoding: .utf8)
}

@MainActor func recipe(_ out: String) -> String {
  """
  name: versioned-dependency
  seed: 7
  input:
    paths: ["\(work)/in"]
  output:
    path: \(work)/\(out)
    compression: none
    rejects: \(work)/\(out)/rejects
  stages:
    - length: {min_words: 3}
    - shouting: {min_letters: 1}
    - exact_dedup: {}
  """
}

/// Every file a run wrote under `dir` (run state and stats.json, which holds timings, left out).
@MainActor func outputs(_ dir: String) -> [String: Data] {
  var files: [String: Data] = [:]
  for rel in fm.enumerator(atPath: dir)?.allObjects as? [String] ?? [] {
    var isDir: ObjCBool = false
    guard !rel.hasPrefix(".winnow"), (rel as NSString).lastPathComponent != "stats.json",
      fm.fileExists(atPath: dir + "/" + rel, isDirectory: &isDir), !isDir.boolValue
    else { continue }
    files[rel] = fm.contents(atPath: dir + "/" + rel)
  }
  return files
}

@MainActor func keptTexts(_ files: [String: Data]) -> [String] {
  files.filter { $0.key.hasPrefix("part-") }.sorted { $0.key < $1.key }.flatMap { _, data in
    String(decoding: data, as: UTF8.self).split(separator: "\n").map { line in
      let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
      return object?["text"] as? String ?? "?"
    }
  }
}

let expected = ["HELLO THERE, WORLD", "EIN ZWEI DREI VIER", "ÜBER STRASSE CAFÉ", "THE QUICK BROWN FOX"]

// 1. The recipe inline, in this process.
var inline = RecipeRunner.Options()
inline.registry = registry
inline.executor = "inline"
let r1 = orFail("inline run") { try RecipeRunner.run(try RecipeParser.parse(recipe("inline"), source: "inline.yaml"), options: inline) }
let shouting = r1.stats.stages.first { $0.name == "shouting" }
check(
  r1.executor == "inline" && r1.stats.isBalanced,
  "inline run: \(r1.stats.documentsRead) read, \(r1.stats.documentsWritten) written, balanced")
check(
  shouting?.dropped == 2 && shouting?.modified == 4,
  "inline run: shouting dropped 2 documents and rewrote 4 (got \(shouting.map { "\($0.dropped), \($0.modified)" } ?? "no stage"))")
let inlineFiles = outputs(work + "/inline")
check(keptTexts(inlineFiles) == expected, "inline run: kept texts are \(keptTexts(inlineFiles))")

// 2. The same recipe on two worker processes: this program, started again by the executor.
var local = RecipeRunner.Options()
local.registry = registry
local.executor = "local"
local.workers = 2
let r2 = orFail("local run") { try RecipeRunner.run(try RecipeParser.parse(recipe("local"), source: "local.yaml"), options: local) }
check(r2.executor == "local" && r2.tasksRun > 3, "local run: \(r2.tasksRun) tasks on 2 workers")
let localFiles = outputs(work + "/local")
check(
  !inlineFiles.isEmpty && inlineFiles == localFiles,
  "local run wrote the same \(inlineFiles.count) files, byte for byte: \(inlineFiles.keys.sorted().joined(separator: ", "))")

// 3. A Pipeline in this process, pulling the kept documents.
let texts = orFail("pipeline") {
  let pipeline = Pipeline(stages: [
    try registry.stage("length", ["min_words": 3]),
    try registry.stage("shouting"),
    try registry.stage("exact_dedup"),
  ])
  let kept = pipeline.documents(from: try InputSet.expand([work + "/in"]))
  var texts: [String] = []
  while let doc = try kept.next() { texts.append(doc.textString) }
  return texts
}
check(texts == expected, "pipeline: kept texts are \(texts)")

if failures == 0 { try? fm.removeItem(atPath: work) }
print(
  failures == 0
    ? "versioned dependency: all checks passed" : "versioned dependency: \(failures) check(s) failed (files in \(work))")
exit(failures == 0 ? 0 : 1)
