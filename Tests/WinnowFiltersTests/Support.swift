import Foundation
import Testing

@_exported import WinnowTestSupport
@testable import WinnowCore
@testable import WinnowFilters

// The filter tests' own oracle scripts and texts; the shared helpers are in WinnowTestSupport.

extension Python {
  struct Counts: Equatable {
    var chars: Int
    var words: Int
    var lines: Int
  }

  static func counts(_ texts: [String]) throws -> [Counts] {
    let script = """
      import json, sys
      def lines(s):
          return 0 if s == "" else len(s.split("\\n")) - (1 if s.endswith("\\n") else 0)
      print(json.dumps([[len(s), len(s.split()), lines(s)] for s in json.load(sys.stdin)]))
      """
    let out = try run(script, input: texts) as! [[Int]]
    return out.map { Counts(chars: $0[0], words: $0[1], lines: $0[2]) }
  }
}

/// Multilingual texts and Unicode whitespace, the cases where counting goes wrong.
let multilingualTexts: [String] = [
  "日本語のテキストです。これはテストです。",
  "中文\u{3000}全角空格\u{3000}分隔",
  "مرحبا بالعالم، هذا نص عربي قصير.",
  "Привет, мир! Это короткий тест.\nВторая строка.",
  "नमस्ते दुनिया, यह एक परीक्षण है।",
  "한국어 텍스트 입니다",
  "emoji 👍🏽 family 👨‍👩‍👧‍👦 flag 🇫🇷 end",
  "no\u{00A0}break\u{2003}em\u{202F}narrow\u{205F}math\u{1680}ogham",
  "zero\u{200B}width\u{FEFF}bom are not spaces",
  "info\u{1C}sep\u{1D}sep\u{1E}sep\u{1F}sep and\u{85}nel\u{2028}ls\u{2029}ps",
  "cafe\u{0301} vs caf\u{00E9}",
  "tabs\tand\u{0B}vertical\u{0C}feed\r\ncrlf",
  "line one\nline two\n",
  "\n\n\n",
  "trailing spaces   \n   \n",
  "",
  "   ",
  "x",
]
