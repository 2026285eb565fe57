import Foundation
import Testing

@_exported import WinnowTestSupport
@testable import WinnowCore
@testable import WinnowDedup

// The dedup tests' own oracle script; the shared helpers are in WinnowTestSupport.

extension Python {
  /// The documented dedup key: `" ".join(unicodedata.normalize("NFKC", s).lower().split())`.
  static func dedupKeys(_ texts: [String]) throws -> [String] {
    let script = """
      import json, sys, unicodedata
      print(json.dumps([" ".join(unicodedata.normalize("NFKC", s).lower().split()) for s in json.load(sys.stdin)]))
      """
    return try run(script, input: texts) as! [String]
  }
}
