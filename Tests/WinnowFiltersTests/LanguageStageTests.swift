import Testing
import WinnowTestSupport

@testable import WinnowCore
@testable import WinnowFilters

@Suite("language stage")
struct LanguageStageTests {
  static let texts: [(id: String, lang: String, text: String)] = [
    ("en", "en", "The package manager downloads the requested files and installs them on the system. Use this option to change the directory."),
    ("de", "de", "Dieses Programm liest die angegebene Datei und schreibt das Ergebnis auf die Standardausgabe. Die Optionen werden unten beschrieben."),
    ("fr", "fr", "Cette commande affiche la liste des fichiers contenus dans le répertoire indiqué. Les options suivantes sont disponibles."),
    ("ru", "ru", "Эта программа читает указанный файл и выводит результат на стандартный вывод. Параметры описаны ниже."),
    ("ja", "ja", "このプログラムは指定されたファイルを読み込み、結果を標準出力に書き出します。オプションについては以下で説明します。"),
  ]
  var lines: [[UInt8]] { Self.texts.map { docLine(id: $0.id, text: $0.text) } }

  @Test("the built-in model names the language of plain prose and keeps listed languages")
  func builtIn() throws {
    let r = try runPipeline([try build(LanguageStage.descriptor, ["mode": v("annotate")])], lines: lines)
    for (doc, t) in zip(r.kept, Self.texts) {
      #expect(doc["language"] as? String == t.lang, "\(t.id)")
      let score = doc["language_score"] as! Double
      #expect(score > 0.5 && score <= 1, "\(t.id): \(score)")
    }
    let keep = try runPipeline([try build(LanguageStage.descriptor, ["languages": list(["de", "ja"]), "threshold": v("0.5")])], lines: lines)
    #expect(keep.keptIDs == ["de", "ja"])
    #expect(keep.reasons == ["en": "language_not_listed", "fr": "language_not_listed", "ru": "language_not_listed"])
  }

  @Test("without a list, the best language must score above the threshold; languages the model lacks are errors")
  func threshold() throws {
    let all = try runPipeline([try build(LanguageStage.descriptor, ["threshold": v("0.99999")])], lines: lines)
    // Only a probability of 1 (fastText's p + 1e-5, capped) is above 0.99999.
    for doc in all.rejects { #expect(doc["reject_reason"] as? String == "language_below_threshold") }
    #expect(all.stats.isBalanced)
    expectUsageError(["does not know", "xx"]) { _ = try build(LanguageStage.descriptor, ["languages": list(["en", "xx"])]) }
  }

  @Test("any fastText model via model:, with its own labels and custom field names")
  func customModel() throws {
    let dir = try TempDir()
    let model = try writeTinyModel(dir)
    let r = try runPipeline(
      [
        try build(
          LanguageStage.descriptor,
          ["model": quoted(model), "languages": list(["__label__hq"]), "threshold": v("0.6"), "language_field": v("q"), "score_field": v("qs")])
      ],
      lines: [docLine(id: "a", text: "good good"), docLine(id: "b", text: "bad")])
    #expect(r.keptIDs == ["a"])
    #expect(r.kept[0]["q"] as? String == "hq")
    #expect(r.reasons == ["b": "language_not_listed"])
    let missing = winnowError { _ = try build(LanguageStage.descriptor, ["model": quoted(dir.path + "/none.bin")]) }
    #expect(missing?.message.contains("none.bin") == true)
  }

  @Test("empty input, empty text, malformed JSON, invalid UTF-8 and a huge document")
  func edgeCases() throws {
    let stage = try build(LanguageStage.descriptor, ["mode": v("annotate")])
    let empty = try runPipeline([stage], files: [[]])
    #expect(empty.stats.documentsRead == 0 && empty.outputLines.isEmpty)
    let (bad, numbers) = interleaveBad(lines)
    let r = try runPipeline([try build(LanguageStage.descriptor, ["mode": v("annotate")])], lines: bad + [docLine(id: "blank", text: "")])
    expectQuarantined(r, lineNumbers: numbers, goodDocuments: Self.texts.count + 1)
    // An empty text is the line "</s>": it still gets a language, with a low score.
    #expect(r.kept.last?["language"] is String)
    let huge = try runPipeline([try build(LanguageStage.descriptor, ["mode": v("annotate")])], lines: [HugeText.jsonLine(id: "big")])
    #expect(huge.kept.count == 1 && huge.kept[0]["language"] is String)
  }
}
