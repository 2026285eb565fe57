import Foundation
import Testing

@testable import WinnowCore
@testable import WinnowFilters

@Suite("normalize stage")
struct NormalizeStageTests {
  let d = NormalizeStage.descriptor

  func normalize(_ params: [String: RawParameter] = [:]) throws -> NamedStage { try build(d, params) }

  /// The text after the stage, and whether it was rewritten.
  func apply(_ params: [String: RawParameter], _ text: String) throws -> (String, Bool) {
    let (verdict, doc) = try processOne(try normalize(params), text)
    #expect(verdict == .keep)
    return (doc.textString, doc.isModified)
  }

  @Test(
    "the defaults: NFC, line breaks, Unicode spaces, controls, collapsed runs, trimmed lines, two blank lines, strip")
  func defaults() throws {
    let cases: [(String, String)] = [
      ("  Hello\u{A0}\u{A0}world  \r\n\r\n\r\n\r\nnext", "Hello world\n\n\nnext"),
      ("cafe\u{301}", "caf\u{E9}"),
      ("a\u{7}b\u{0}c\u{7F}d\u{85}e\u{9F}f", "abcd\nef"),
      ("tab\there\t\tand  \t two", "tab\there and two"),
      ("line  \nline\t\n", "line\nline"),
      ("a\rb\u{B}c\u{C}d\u{2028}e\u{2029}f\u{1C}g", "a\nb\nc\nd\ne\nf\ng"),
      ("\n\n  \n\t lead and trail \n \n", "lead and trail"),
      ("a\n \n\t\n  \n\nb", "a\n\n\nb"),  // whitespace-only lines are blank lines
      ("x \u{7} y", "x y"),  // a removed control does not split a run of spaces
      ("\u{3000}全角\u{3000}スペース", "全角 スペース"),
      ("no\u{202F}break\u{2009}thin\u{205F}math\u{1680}ogham", "no break thin math ogham"),
    ]
    for (input, expected) in cases {
      let (out, modified) = try apply([:], input)
      #expect(out == expected, "\(input.debugDescription) → \(out.debugDescription)")
      #expect(modified)
    }
  }

  @Test("clean text is not rewritten: the line passes through byte for byte, escapes and all")
  func unchangedPassesThrough() throws {
    let lines: [[UInt8]] = [
      docLine(id: "en", text: "Already clean.\nTwo lines."),
      docLine(id: "de", text: "Grüße aus München – schön!", asciiOnly: true),  // \u escapes stay escapes
      docLine(id: "ru", text: "Привет, мир!\n\nВторой абзац."),
      docLine(id: "zh", text: "中文文本，没有问题。"),
      docLine(id: "ja", text: "日本語のテキストです。", asciiOnly: true),
      docLine(id: "empty", text: ""),
    ]
    let r = try runPipeline([try normalize()], lines: lines)
    #expect(r.outputLines == lines)
    #expect(r.stats.stages[0].modified == 0)
  }

  @Test("forms: nfc composes, nfkc also folds compatibility characters, none leaves them")
  func forms() throws {
    // A control between a letter and its accent: removed, and then the two compose.
    #expect(try apply([:], "e\u{7}\u{301}").0 == "\u{E9}")
    #expect(try apply(["form": v("none")], "e\u{7}\u{301}").0 == "e\u{301}")
    // café (decomposed), ﬁ, ２, ｶﾀｶﾅ, x², Å (the angstrom sign)
    let text = "cafe\u{301} \u{FB01} \u{FF12} \u{FF76}\u{FF80}\u{FF76}\u{FF85} x\u{B2} \u{212B}"
    #expect(
      try apply(["form": v("nfc")], text).0
        == "caf\u{E9} \u{FB01} \u{FF12} \u{FF76}\u{FF80}\u{FF76}\u{FF85} x\u{B2} \u{C5}")
    #expect(try apply(["form": v("nfkc")], text).0 == "caf\u{E9} fi 2 カタカナ x2 \u{C5}")
    #expect(try apply(["form": v("none")], text).0 == text)
    // Hangul jamo compose under NFC; German, Russian are already composed.
    #expect(try apply([:], "\u{1100}\u{1161}").0 == "\u{AC00}")
    #expect(try apply([:], "Straße, Ёлка") == ("Straße, Ёлка", false))
  }

  @Test("each cleanup can be turned off")
  func switches() throws {
    let off = v("false")
    #expect(try apply(["newlines": off], "a \r\nb\rc\u{2028}d").0 == "a\r\nb\rc\u{2028}d")
    #expect(try apply(["newlines": off], "a\r\n\r\n\r\n\r\nb").0 == "a\r\n\r\n\r\nb")
    #expect(try apply(["remove_controls": off], "a\u{7}b\u{9F}c").0 == "a\u{7}b\u{9F}c")
    #expect(try apply(["unicode_spaces": off], "a\u{A0}\u{A0}b \u{3000}").0 == "a\u{A0}\u{A0}b \u{3000}")
    #expect(try apply(["collapse_spaces": off], "a  b\t\tc ").0 == "a  b\t\tc")
    #expect(try apply(["trim_lines": off, "strip": off], "a  \nb \t").0 == "a \nb ")
    #expect(try apply(["trim_lines": off, "collapse_spaces": off, "strip": off], "a  \nb \t") == ("a  \nb \t", false))
    // Leading indentation is a run of spaces like any other: collapsed, not removed.
    #expect(try apply(["strip": off], "\n\n  text  \n\n\n\n").0 == "\n\n text\n\n\n")
    #expect(try apply(["max_blank_lines": v("0")], "a\n\n\nb\n\nc").0 == "a\nb\nc")
    #expect(try apply(["max_blank_lines": v("1")], "a\n\n\nb").0 == "a\n\nb")
    #expect(try apply(["max_blank_lines": v("-1")], "a\n\n\n\n\n\nb").0 == "a\n\n\n\n\n\nb")
    #expect(try apply(["newlines": off, "remove_controls": off], "a\u{B}b\u{85}c").0 == "a\u{B}b\u{85}c")
    // Everything off: nothing changes, even messy text.
    let all: [String: RawParameter] = [
      "form": v("none"), "newlines": off, "remove_controls": off, "unicode_spaces": off, "collapse_spaces": off,
      "trim_lines": off, "max_blank_lines": v("-1"), "strip": off,
    ]
    let messy = " a\u{7}\r\n\n\n\n  b\u{A0} \t"
    #expect(try apply(all, messy) == (messy, false))
  }

  @Test("lowercase_field gets a lower-cased copy of the normalised text; the text keeps its case")
  func lowercaseField() throws {
    let stage = try normalize(["lowercase_field": v("text_lower")])
    let r = try runTexts(stage, [("m", "ÉCOLE  Straße ΟΔΟΣ ПРИВЕТ 東京 ＡＢＣ\n"), ("a", "ASCII Only")])
    let m = r.keptByID["m"]!
    #expect(m["text"] as? String == "ÉCOLE Straße ΟΔΟΣ ПРИВЕТ 東京 ＡＢＣ")
    // Final sigma by context, as Python's str.lower() does.
    #expect(m["text_lower"] as? String == "école straße \u{3BF}\u{3B4}\u{3BF}\u{3C2} привет 東京 ａｂｃ")
    #expect(r.keptByID["a"]!["text_lower"] as? String == "ascii only")
    #expect(r.keptByID["a"]!["text"] as? String == "ASCII Only")
  }

  @Test("empty and whitespace-only text; a several-MB single line")
  func emptyAndHuge() throws {
    #expect(try apply([:], "") == ("", false))
    #expect(try apply([:], " \t\n\r\n\u{A0}\u{3000} ") == ("", true))
    // 400,000 × "word  \t word\u{A0}end " (18 bytes) on one line, 7.2 MB: each unit becomes
    // "word word end " (14 bytes); the final space is stripped.
    let unit = "word  \t word\u{A0}end "
    let (out, modified) = try apply([:], String(repeating: unit, count: 400_000))
    #expect(modified)
    #expect(out.utf8.count == 14 * 400_000 - 1)
    #expect(out.hasPrefix("word word end word word end"))
  }

  @Test("normalising twice changes nothing more", arguments: [false, true])
  func idempotent(nfkc: Bool) throws {
    var rng = SplitMix(seed: nfkc ? 11 : 12)
    let stage = try normalize(["form": v(nfkc ? "nfkc" : "nfc")])
    for _ in 0..<200 {
      let text = randomMessyText(&rng, length: 40)
      let (_, doc) = try processOne(stage, text)
      let once = doc.textString
      let (_, again) = try processOne(stage, once)
      #expect(again.textString == once, "\(text.debugDescription)")
      #expect(!again.isModified)
    }
  }

  @Test("random messy text matches a plain Python implementation of the same rules", .enabled(if: Python.available))
  func matchesPythonReference() throws {
    var rng = SplitMix(seed: 99)
    let texts = (0..<300).map { _ in randomMessyText(&rng, length: 60) }
    let script = """
      import json, re, sys, unicodedata
      SPACES = '\\u00a0\\u1680\\u2000\\u2001\\u2002\\u2003\\u2004\\u2005\\u2006\\u2007\\u2008\\u2009\\u200a\\u202f\\u205f\\u3000'
      def norm(s, o):
          if o['form']: s = unicodedata.normalize(o['form'], s)
          s = re.sub('\\r\\n|[\\r\\v\\f\\x1c\\x1d\\x1e\\x85\\u2028\\u2029]', '\\n', s)
          if o['controls']: s = ''.join(c for c in s if not ((ord(c) < 0x20 and c not in '\\t\\n') or 0x7f <= ord(c) <= 0x9f))
          if o['form']: s = unicodedata.normalize(o['form'], s)  # a removed control may let a mark compose
          if o['spaces']: s = ''.join(' ' if c in SPACES else c for c in s)
          parts = s.split('\\n')
          out = []
          blank = 0
          for k, line in enumerate(parts):
              if o['trim']: line = line.rstrip(' \\t')
              if o['collapse']: line = re.sub('[ \\t]{2,}', ' ', line)
              last = k == len(parts) - 1
              if not last and line.strip(' \\t') == '':
                  blank += 1
                  if o['max'] >= 0 and blank > o['max']: continue
              elif not last:
                  blank = 0
              out.append(line)
          s = '\\n'.join(out)
          return s.strip(' \\t\\n') if o['strip'] else s
      inp = json.load(sys.stdin)
      print(json.dumps([[norm(t, o) for t in inp['texts']] for o in inp['options']]))
      """
    // The reference counts blank lines before stripping, the stage strips leading blank
    // lines first; every random text starts with a letter, so the two orders agree.
    let options: [[String: Any]] = [
      ["form": "NFC", "controls": true, "spaces": true, "trim": true, "collapse": true, "max": 2, "strip": true],
      ["form": "NFKC", "controls": true, "spaces": true, "trim": true, "collapse": true, "max": 0, "strip": true],
      ["form": "", "controls": false, "spaces": false, "trim": false, "collapse": true, "max": 1, "strip": false],
      ["form": "NFC", "controls": true, "spaces": true, "trim": false, "collapse": false, "max": -1, "strip": false],
      ["form": "", "controls": true, "spaces": false, "trim": true, "collapse": false, "max": 3, "strip": true],
    ]
    let expected = try Python.run(script, input: ["texts": texts, "options": options]) as! [[String]]
    for (o, want) in zip(options, expected) {
      let form = (o["form"] as! String).lowercased()
      let stage = try normalize([
        "form": v(form.isEmpty ? "none" : form), "remove_controls": v("\(o["controls"]!)"),
        "unicode_spaces": v("\(o["spaces"]!)"), "trim_lines": v("\(o["trim"]!)"),
        "collapse_spaces": v("\(o["collapse"]!)"),
        "max_blank_lines": v("\(o["max"]!)"), "strip": v("\(o["strip"]!)"),
      ])
      for (text, w) in zip(texts, want) {
        let (_, doc) = try processOne(stage, text)
        #expect(doc.textString == w, "\(o) \(text.debugDescription)")
      }
    }
  }

  @Test("invalid parameters")
  func validation() throws {
    expectUsageError(["form", "nfc|nfkc|none", "'nfd'"]) { _ = try build(d, ["form": v("nfd")]) }
    expectUsageError(["max_blank_lines", "≥ -1", "-2"]) { _ = try build(d, ["max_blank_lines": v("-2")]) }
    expectUsageError(["strip", "boolean", "'sometimes'"]) { _ = try build(d, ["strip": v("sometimes")]) }
    expectUsageError(["lowercase_field 'text'", "separate field"]) { _ = try build(d, ["lowercase_field": v("text")]) }
    expectUsageError(["lowercase_field must not be empty"]) { _ = try build(d, ["lowercase_field": quoted("")]) }
    // The text field is whatever the run reads: another name is refused too.
    expectUsageError(["lowercase_field 'body'"]) {
      _ = try d.build(["lowercase_field": v("body")], context: StageContext(fields: DocumentFields(text: "body")))
    }
  }
}

/// Random text over a palette that exercises every cleanup rule: letters of several
/// scripts, combining marks, compatibility characters, spaces, tabs, line breaks, Unicode
/// spaces and line separators, controls. Starts with a letter.
func randomMessyText(_ rng: inout SplitMix, length: Int) -> String {
  let palette: [String] = [
    "a", "b", "Z", "ä", "ß", "ж", "Ж", "中", "日", "カ", "\u{FF76}", "\u{FB01}", "\u{FF12}", "e\u{301}", "\u{301}",
    " ", " ", " ", "  ", "\t", "\n", "\n", "\n\n", "\r\n", "\r", "\u{B}", "\u{C}", "\u{1C}", "\u{85}", "\u{2028}",
    "\u{2029}", "\u{A0}", "\u{3000}", "\u{2009}", "\u{202F}", "\u{7}", "\u{0}", "\u{1F}", "\u{7F}", "\u{9F}", ".", "-",
  ]
  var s = "x"
  for _ in 0..<Int(rng.next() % UInt64(length)) { s += palette[Int(rng.next() % UInt64(palette.count))] }
  return s
}
