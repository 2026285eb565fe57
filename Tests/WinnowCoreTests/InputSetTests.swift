import Foundation
import Testing

@testable import WinnowCore

@Suite struct InputSetTests {
  /// A directory with document files, non-document files, a hidden file and a subdirectory.
  func makeTree() throws -> TempDir {
    let dir = try TempDir()
    for name in ["b.jsonl", "a.jsonl.zst", "B.jsonl", "c.json.gz", "d.ndjson", ".hidden.jsonl", "notes.txt", "x.jsonl.bak"] {
      try dir.write(name, "{\"text\":\"\(name)\"}\n")
    }
    try FileManager.default.createDirectory(atPath: dir.file("sub"), withIntermediateDirectories: false)
    try dir.write("sub/inner.jsonl", "{\"text\":\"inner\"}\n")
    // A directory whose name looks like a document file is still not a file.
    try FileManager.default.createDirectory(atPath: dir.file("looks-like.jsonl"), withIntermediateDirectories: false)
    return dir
  }

  @Test func noSpecsMeansStandardInput() throws {
    #expect(try InputSet.expand([]) == [.stdin])
    #expect(try InputSet.expand(["-"]).map(\.isStdin) == [true])
    #expect(InputFile.stdin.displayName == "<stdin>")
  }

  @Test func directoryListsDocumentFilesSortedByBytesNonRecursive() throws {
    let dir = try makeTree()
    let files = try InputSet.expand([dir.path]).map(\.path)
    // Byte order puts upper case first; hidden files, other suffixes, subdirectories (and
    // their contents) are skipped.
    let expected = ["B.jsonl", "a.jsonl.zst", "b.jsonl", "c.json.gz", "d.ndjson"].map { dir.path + "/" + $0 }
    #expect(files == expected)
    // A trailing slash gives the same files, without a doubled slash.
    #expect(try InputSet.expand([dir.path + "/"]).map(\.path) == expected)
  }

  @Test func explicitFilesKeepTheirOrderAndAnyName() throws {
    let dir = try makeTree()
    let files = try InputSet.expand([dir.file("notes.txt"), dir.file("b.jsonl"), dir.file(".hidden.jsonl"), "-"])
    // Named files are taken as given, even when the name does not look like JSONL.
    #expect(files.map(\.path) == [dir.file("notes.txt"), dir.file("b.jsonl"), dir.file(".hidden.jsonl"), "-"])
  }

  @Test func globsAreExpandedAndSorted() throws {
    let dir = try makeTree()
    #expect(try InputSet.expand([dir.path + "/*.jsonl"]).map(\.path) == [dir.file("B.jsonl"), dir.file("b.jsonl")])
    #expect(try InputSet.expand([dir.path + "/[ab].json*"]).map(\.path) == [dir.file("a.jsonl.zst"), dir.file("b.jsonl")])
    #expect(try InputSet.expand([dir.path + "/?.ndjson"]).map(\.path) == [dir.file("d.ndjson")])
    // A glob that matches a directory walks it.
    #expect(try InputSet.expand([dir.path + "/su*"]).map(\.path) == [dir.file("sub/inner.jsonl")])
  }

  @Test func anExistingFileWithGlobCharactersIsTakenLiterally() throws {
    let dir = try TempDir()
    let odd = try dir.write("odd[1].jsonl", "{\"text\":\"x\"}\n")
    try dir.write("odd1.jsonl", "{\"text\":\"y\"}\n")
    #expect(try InputSet.expand([odd]).map(\.path) == [odd])
  }

  @Test func missingInputsAreUsageErrorsNamingThePath() throws {
    let dir = try TempDir()
    let missing = dir.file("nope.jsonl")
    let e1 = winnowError { _ = try InputSet.expand([missing]) }
    #expect(e1?.isUsage == true)
    #expect(e1?.message.contains(missing) == true)

    let pattern = dir.path + "/*.zzz"
    let e2 = winnowError { _ = try InputSet.expand([pattern]) }
    #expect(e2?.isUsage == true)
    #expect(e2?.message.contains(pattern) == true)

    // A directory with nothing to read is an error too: an empty run is almost always a typo.
    try dir.write("readme.md", "x")
    let e3 = winnowError { _ = try InputSet.expand([dir.path]) }
    #expect(e3?.isUsage == true)
    #expect(e3?.message.contains(dir.path) == true)
  }

  @Test func inputFileSize() throws {
    let dir = try TempDir()
    let path = try dir.write("f.jsonl", [UInt8](repeating: 0x41, count: 1234))
    #expect(InputFile(path: path).size == 1234)
    #expect(InputFile(path: dir.path).size == nil)
    #expect(InputFile.stdin.size == nil)
  }
}
