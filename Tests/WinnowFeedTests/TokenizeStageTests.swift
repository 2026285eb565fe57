import Testing
@testable import WinnowFeed
import WinnowCore

@Suite struct TokenizeStageTests {
  @Test func jsonIDs() {
    var out: [UInt8] = []
    TokenIDs.appendJSON([0, 7, 4_294_967_295, 120], to: &out)
    #expect(String(decoding: out, as: UTF8.self) == "[0,7,4294967295,120]")
  }
}
