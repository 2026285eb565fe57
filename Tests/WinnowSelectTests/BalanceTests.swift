import Foundation
import Testing
import WinnowTestSupport

@testable import WinnowCore
@testable import WinnowSelect

/// balance through its three passes, against a plain computation of MetaCLIP's method (a
/// naive substring search per entry, counts, p_e, the documented draws), across task splits;
/// the Aho–Corasick matcher against a naive search on random entries and texts.
@Suite struct BalanceTests {
  static let words = ["river", "stone", "River", "Fluß", "東京", "data", "set", "data set", "the", "a", "Ωμέγα", "x"]

  /// A small deterministic generator (PCG-like).
  struct Generator {
    var state: UInt64
    mutating func next(_ n: Int) -> Int {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Int((state >> 33) % UInt64(n))
    }
  }

  static let separators = [" ", " ", " ", ", ", ". ", "\t", "\n", "; ", "!", "  ", "-", "`"]

  static func text(_ g: inout Generator, words count: Int) -> String {
    var out = ""
    for k in 0..<count {
      if k > 0 { out += separators[g.next(separators.count)] }
      // Skewed: the first words are far more frequent.
      out += words[min(g.next(words.count), g.next(words.count))]
    }
    return out
  }

  static let corpus: [[UInt8]] = {
    var g = Generator(state: 99)
    return (0..<300).map { k in docLine("d\(k)", text(&g, words: 1 + g.next(12))) }
  }()

  static let entryList = ["river", "River", "stone", "data set", "Fluß", "東京", "Ωμέγα", "set", "river stone", "x", "a b", "data,"]

  func entries(_ list: [String] = Self.entryList) -> MetadataEntries {
    MetadataEntries(entries: list.map { Array($0.utf8) })
  }

  /// MetaCLIP's spacing and `" e " in text`, on Swift strings.
  static func naiveMatches(_ text: String, _ list: [String]) -> [Int] {
    var spaced = " "
    for ch in text.unicodeScalars {
      switch ch {
      case ",", ".", ";", ":", "?", "!", "`": spaced += " \(ch) "
      case "\t", "\n", "\r": spaced += " "
      default: spaced.unicodeScalars.append(ch)
      }
    }
    spaced += " "
    let hay = Array(spaced.utf8)
    return list.indices.filter { e in
      let needle = Array(" \(list[e]) ".utf8)
      guard needle.count <= hay.count else { return false }
      return (0...(hay.count - needle.count)).contains { i in hay[i..<(i + needle.count)].elementsEqual(needle) }
    }
  }

  /// The kept ids and drop reasons, computed on the whole corpus in memory.
  func expected(_ lines: [[UInt8]], list: [String], t: Int, seed: UInt64, keepUnmatched: Bool = false)
    -> (kept: [String], reasons: [String: String])
  {
    let docs = lines.map(parseObject)
    let matches = docs.map { Self.naiveMatches($0["text"] as! String, list) }
    var counts = [UInt64](repeating: 0, count: list.count)
    for m in matches { for e in m { counts[e] += 1 } }
    var kept: [String] = []
    var reasons: [String: String] = [:]
    for (d, m) in zip(docs, matches) {
      let id = d["id"] as! String
      guard !m.isEmpty else {
        if keepUnmatched { kept.append(id) } else { reasons[id] = Balance.unmatchedReason }
        continue
      }
      let key = XXH3.hash64(id, seed: seed)
      if m.contains(where: { Balance.uniform(key: key, entry: $0) < Double(t) / Double(max(counts[$0], UInt64(t))) }) {
        kept.append(id)
      } else {
        reasons[id] = Balance.notSampled
      }
    }
    return (kept, reasons)
  }

  @Test func matcherEqualsNaiveSearch() {
    var g = Generator(state: 5)
    let alphabet = ["a", "b", "ab", " ", "é", "東", ".", ",", "\t", "ba", "aa"]
    for round in 0..<40 {
      var list: [String] = []
      while list.count < 1 + round % 9 {
        var e = ""
        for _ in 0..<(1 + g.next(4)) { e += alphabet[g.next(alphabet.count)] }
        if !list.contains(e) && !e.isEmpty { list.append(e) }
      }
      let matcher = MetadataMatcher(entries(list))
      var scratch = MetadataMatchScratch(matcher)
      for _ in 0..<30 {
        var text = ""
        for _ in 0..<g.next(30) { text += alphabet[g.next(alphabet.count)] }
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBufferPointer { scratch.match(UnsafeBufferPointer($0), with: matcher) }
        #expect(scratch.matched == Self.naiveMatches(text, list), "entries \(list) text \(text.debugDescription)")
      }
    }
  }

  @Test func spacingAsMetaCLIP() {
    var out: [UInt8] = []
    var text = Array("a,b.\tc\r\nd?!`e".utf8)
    text.withUnsafeMutableBufferPointer { MetadataMatcher.space(UnsafeBufferPointer($0), into: &out) }
    #expect(String(decoding: out, as: UTF8.self) == " a , b .  c  d ?  !  ` e ")
    // Nested and overlapping entries, entries that can never match (they hold a period).
    let list = ["GNU", "GNU General Public License", "General Public", "Public License", "St. Louis", "e.g."]
    let matcher = MetadataMatcher(entries(list))
    var scratch = MetadataMatchScratch(matcher)
    var doc = Array("the GNU General Public License, St. Louis e.g.".utf8)
    doc.withUnsafeMutableBufferPointer { scratch.match(UnsafeBufferPointer($0), with: matcher) }
    #expect(scratch.matched == [0, 1, 2, 3])
  }

  @Test(arguments: [1, 3, 7])
  func balanceMatchesInMemory(tasks: Int) throws {
    let stage = Balance(entries: entries(), t: 12, seed: 4)
    let run = try GlobalRun.run(stage, split(Self.corpus, into: tasks))
    let want = expected(Self.corpus, list: Self.entryList, t: 12, seed: 4)
    #expect(run.keptIDs == want.kept)
    #expect(run.reasons == want.reasons)
    // Balancing bites: some documents are drawn out, some never matched.
    #expect(Set(run.reasons.values) == [Balance.notSampled, Balance.unmatchedReason])
    #expect(run.keptIDs.count > 20)
  }

  @Test func unmatchedKeepAndAnnotate() throws {
    let keep = try GlobalRun.run(Balance(entries: entries(), t: 12, keepUnmatched: true, seed: 4), split(Self.corpus, into: 2))
    #expect(keep.keptIDs == expected(Self.corpus, list: Self.entryList, t: 12, seed: 4, keepUnmatched: true).kept)
    #expect(Set(keep.reasons.values) == [Balance.notSampled])

    let annotated = try GlobalRun.run(Balance(entries: entries(), t: 12, seed: 4, annotate: true), split(Self.corpus, into: 3))
    #expect(annotated.keptIDs.count == Self.corpus.count)
    let selected = Set(expected(Self.corpus, list: Self.entryList, t: 12, seed: 4).kept)
    for d in annotated.kept {
      let text = d["text"] as! String
      let names = Self.naiveMatches(text, Self.entryList).map { Self.entryList[$0] }
      #expect(d["balance_entries"] as? [String] == names)
      let p = d["balance_keep_probability"] as! Double
      #expect(names.isEmpty ? p == 0 : (p > 0 && p <= 1))
      #expect(d["balance_keep"] as? Bool == selected.contains(d["id"] as! String))
    }
  }

  /// One entry in every document: about t of them are kept, whatever the corpus size.
  @Test func capsAnEntryAtAboutT() throws {
    let lines = (0..<3000).map { docLine("c\($0)", "common words and item\($0 % 500)") }
    let run = try GlobalRun.run(Balance(entries: entries(["common", "item7"]), t: 100, seed: 1), split(lines, into: 4))
    // Binomial(3000, 1/30) plus item7's 6 documents kept whole: the mean is 106, sd ≈ 10.
    #expect(run.keptIDs.count > 60 && run.keptIDs.count < 150)
    #expect(Set(["c7", "c507", "c1007", "c1507", "c2007", "c2507"]).isSubset(of: Set(run.keptIDs)))
  }

  @Test func fieldMatching() throws {
    let lines = [
      Array(#"{"id":"a","text":"river","title":"stone"}"#.utf8), Array(#"{"id":"b","text":"stone"}"#.utf8),
      Array(#"{"id":"c","text":"x","title":"River"}"#.utf8),
    ]
    let run = try GlobalRun.run(Balance(entries: entries(), field: "title", t: 5), [lines])
    #expect(run.keptIDs == ["a", "c"])
    #expect(run.reasons == ["b": Balance.unmatchedReason])
  }

  /// The draw depends on the id and seed only: documents without an id are keyed by their text.
  @Test func drawsIndependentOfOrderAndTasks() throws {
    let forward = try GlobalRun.run(Balance(entries: entries(), t: 5, seed: 8), split(Self.corpus, into: 1))
    let backward = try GlobalRun.run(Balance(entries: entries(), t: 5, seed: 8), split(Array(Self.corpus.reversed()), into: 5))
    #expect(Set(forward.keptIDs) == Set(backward.keptIDs))
    let other = try GlobalRun.run(Balance(entries: entries(), t: 5, seed: 9), split(Self.corpus, into: 1))
    #expect(Set(other.keptIDs) != Set(forward.keptIDs))
    let anonymous = [Array(#"{"text":"river stone"}"#.utf8), Array(#"{"id":null,"text":"river stone"}"#.utf8)]
    let a = try GlobalRun.run(Balance(entries: entries(), t: 1, annotate: true), [anonymous])
    #expect(a.kept.count == 2)
    #expect(a.kept[0]["balance_keep"] as? Bool == a.kept[1]["balance_keep"] as? Bool)
  }

  @Test func emptyBadHugeAndNonEnglish() throws {
    let empty = try GlobalRun.run(Balance(entries: entries()), [[], []])
    #expect(empty.keptIDs.isEmpty)
    var lines = Array(Self.corpus.prefix(30))
    lines.insert(contentsOf: badLines.map(\.bytes), at: 4)
    lines.append(docLine("huge", String(repeating: "river stone data set 東京 ", count: 200_000)))
    lines.append(docLine("greek", "Ωμέγα, Ωμέγα. ΣΟΦΙΑ"))
    lines.append(docLine("empty", ""))
    let run = try GlobalRun.run(Balance(entries: entries(), t: 3, seed: 2, annotate: true), split(lines, into: 2))
    #expect(run.applied.map(\.stats.quarantined).reduce(0, +) == badLines.count)
    let byID = Dictionary(uniqueKeysWithValues: run.kept.map { ($0["id"] as! String, $0) })
    #expect(byID["huge"]?["balance_entries"] as? [String] == ["river", "stone", "data set", "東京", "set", "river stone"])
    #expect(byID["greek"]?["balance_entries"] as? [String] == ["Ωμέγα"])
    #expect(byID["empty"]?["balance_entries"] as? [String] == [])
  }

  @Test func entryFilesThatCannotBeUsed() throws {
    let dir = try TempDir()
    #expect { _ = try MetadataEntries(path: dir.path + "/missing.txt") } throws: { "\($0)".contains("missing.txt") }
    let dup = try dir.write("dup.txt", Array("river\nstone\n\nriver\n".utf8))
    #expect { _ = try MetadataEntries(path: dup) } throws: { "\($0)".contains("\(dup):4") && "\($0)".contains("line 1") }
    let bad = try dir.write("bad.txt", [0x61, 0x0A, 0xFF, 0xFE, 0x0A])
    #expect { _ = try MetadataEntries(path: bad) } throws: { "\($0)".contains("\(bad):2") && "\($0)".contains("UTF-8") }
    let blank = try dir.write("blank.txt", Array("\n  \n".utf8))
    #expect { _ = try MetadataEntries(path: blank) } throws: { "\($0)".contains("no entries") }
    let crlf = try dir.write("crlf.txt", Array("river\r\n data set\r\n".utf8))
    #expect(try MetadataEntries(path: crlf).entries == [Array("river".utf8), Array(" data set".utf8)])
  }

  @Test func changedEntriesAndDamagedPhaseFilesAreErrors() throws {
    let stage = Balance(entries: entries(), t: 5)
    let tasks = split(Self.corpus, into: 2)
    var run = try GlobalRun()
    run.tasksPerPass = PhaseStore.tasksPerPass(stage.passes, inputTasks: 2)
    try run.run(pass: 0, stage, tasks)
    // The entries changed after the counting pass: the counts belong to another list.
    let changed = Balance(entries: entries(Self.entryList + ["new"]), t: 5)
    #expect { try run.run(pass: 1, changed, tasks) } throws: { "\($0)".contains("--fresh") }
    try run.run(pass: 1, stage, tasks)
    #expect { try run.run(pass: 2, changed, tasks) } throws: { "\($0)".contains("another list of entries") }
    // A lost total: the apply pass says so.
    let total = run.files(1, ".counts")
    #expect(total.count == 1)
    try FileManager.default.removeItem(atPath: total[0])
    #expect { try run.run(pass: 2, stage, tasks) } throws: { "\($0)".contains("counts") }
    // A counts file cut short is named.
    let counts = run.files(0, ".counts")
    #expect(counts.count == 2)
    let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: counts[1])))
    try Data(bytes.prefix(bytes.count - 20)).write(to: URL(fileURLWithPath: counts[1]))
    #expect { try run.run(pass: 1, stage, tasks) } throws: { "\($0)".contains(counts[1]) }
  }
}
