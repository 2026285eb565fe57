import Glibc
import WinnowCore
import WinnowText

/// `c4_paragraph`: mC4's paragraph rule (Xue et al. 2021, from the TFDS `c4_utils`
/// `paragraph_filter`), as datatrove 0.10.1's `C4ParagraphFilter` implements it: a page needs
/// at least `min_paragraphs` lines (split on "\n" only) and its `min_paragraphs` longest lines
/// must each have at least `min_paragraph_len` characters, else it is dropped as
/// `< <min_paragraphs> paragraphs` (datatrove's reason, `< 3 paragraphs` by default).
///
/// datatrove fixes both numbers at 3 and 200 and always looks at the 3 longest lines; here they
/// are parameters and the number of longest lines looked at is `min_paragraphs`, as in the TFDS
/// original. The defaults give datatrove's decisions.
public final class C4ParagraphFilter: DocumentStage {
  public static let descriptor = StageDescriptor(
    name: "c4_paragraph",
    summary: "mC4 paragraph rule: keep pages with at least 3 lines of 200 or more characters",
    parameters: [
      ParameterSpec(
        "min_paragraphs", .int(min: 1, max: nil), default: .int(3),
        help: "fewest lines (split on \\n), and how many of the longest must be long enough → < N paragraphs"),
      ParameterSpec(
        "min_paragraph_len", .int(min: 0, max: nil), default: .int(200),
        help: "fewest characters in each of the min_paragraphs longest lines"),
    ],
    make: { (p, _) throws(WinnowError) in C4ParagraphFilter(p) })

  let minParagraphs: Int
  let minParagraphLength: Int
  let reason: String

  init(_ p: StageParameters) {
    minParagraphs = p.int("min_paragraphs") ?? 3
    minParagraphLength = p.int("min_paragraph_len") ?? 200
    reason = "< \(minParagraphs) paragraphs"
  }

  public func process(_ doc: Document) -> Verdict {
    let text = doc.text
    // min(nlargest(k, lengths)) >= L exactly when at least k lines have L characters or more.
    let lines = TextCounts.newlines(text) + 1  // len(text.split("\n"))
    if lines < minParagraphs { return .drop(reason) }
    guard let base = text.baseAddress else { return minParagraphLength > 0 ? .drop(reason) : .keep }
    var long = 0
    var start = 0
    let end = text.count
    while true {
      let stop: Int
      if let hit = memchr(base + start, 0x0A, end - start) {
        stop = UnsafePointer<UInt8>(hit.assumingMemoryBound(to: UInt8.self)) - base
      } else {
        stop = end
      }
      // len(line) >= min_paragraph_len
      if PyText.longer(base, start..<stop, than: minParagraphLength - 1) {
        long += 1
        if long >= minParagraphs { return .keep }
      }
      if stop == end { break }
      start = stop + 1
    }
    return .drop(reason)
  }
}
