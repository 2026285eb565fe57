import Foundation
import Testing

/// The word-vector and k-means commands on the command line: outputs that would replace an
/// input are refused before any work (exit 2, nothing written), bad files are errors naming
/// them (exit 1), and the happy paths write what they say.
@Suite("winnow CLI: word vectors and k-means", .enabled(if: CLI.available, CLI.missingMessage), .serialized)
struct VectorCLITests {
  @Test("skipgram refuses an output that would replace its input; trains otherwise; nn and print-sentence-vectors read the model")
  func skipgram() throws {
    let tmp = try TempDir()
    let text = String(repeating: "the cat sat on the mat\nthe dog sat on the log\n", count: 20)
    _ = try tmp.write("v.vec", text)
    let refused = try CLI.run(["fasttext", "skipgram", "-input", "v.vec", "-output", "v", "-thread", "1", "-verbose", "0"], in: tmp.url)
    #expect(refused.status == 2, "\(refused.err)")
    #expect(try String(contentsOf: tmp.url.appendingPathComponent("v.vec"), encoding: .utf8) == text)
    _ = try tmp.write("t.txt", text)
    let ok = try CLI.run(
      ["fasttext", "skipgram", "-input", "t.txt", "-output", "m", "-dim", "4", "-bucket", "100", "-minCount", "1", "-thread", "1", "-verbose", "0"],
      in: tmp.url)
    #expect(ok.status == 0, "\(ok.err)")
    let nn = try CLI.run(["fasttext", "nn", "m.bin", "2"], stdin: Data("cat\n".utf8), in: tmp.url)
    #expect(nn.status == 0 && nn.out.hasPrefix("Query word? ") && nn.out.split(separator: "\n").count == 3, "\(nn.out)")
    let psv = try CLI.run(["fasttext", "print-sentence-vectors", "m.bin"], stdin: Data("the cat\n\n".utf8), in: tmp.url)
    #expect(psv.status == 0 && psv.out.split(separator: "\n", omittingEmptySubsequences: false).count == 3)
    let missing = try CLI.run(["fasttext", "print-word-vectors", "nowhere.bin"], stdin: Data("cat\n".utf8), in: tmp.url)
    #expect(missing.status == 1 && missing.err.contains("nowhere.bin"))
  }

  @Test("kmeans refuses --save over its input and names a bad .npy; clusters a good one")
  func kmeans() throws {
    let tmp = try TempDir()
    var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (6, 2), }"
    header += String(repeating: " ", count: (64 - (10 + header.utf8.count + 1) % 64) % 64) + "\n"
    var npy: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]
    npy += Array(header.utf8)
    for v: Float in [0, 0, 0, 1, 1, 0, 10, 10, 10, 11, 11, 10] { withUnsafeBytes(of: v.bitPattern.littleEndian) { npy += $0 } }
    try Data(npy).write(to: tmp.url.appendingPathComponent("x.npy"))
    let refused = try CLI.run(["kmeans", "x.npy", "--k", "2", "--save", "x.npy"], in: tmp.url)
    #expect(refused.status == 2, "\(refused.err)")
    #expect(Array(try Data(contentsOf: tmp.url.appendingPathComponent("x.npy"))) == npy)
    let ok = try CLI.run(["kmeans", "x.npy", "--k", "2", "--save", "c.npy"], in: tmp.url)
    #expect(ok.status == 0 && ok.out.contains("\"vectors\":6"), "\(ok.err)")
    #expect(FileManager.default.fileExists(atPath: tmp.url.appendingPathComponent("c.npy").path))
    try Data(npy.prefix(70)).write(to: tmp.url.appendingPathComponent("bad.npy"))
    let bad = try CLI.run(["kmeans", "bad.npy", "--k", "2"], in: tmp.url)
    #expect(bad.status == 1 && bad.err.contains("bad.npy"), "\(bad.err)")
  }
}
