/// Puts one nested top-level field (lists, maps, structs, at any depth) together as JSON from
/// the triplets of its leaf columns, the record assembly of the Dremel paper: a group is a JSON
/// object of its children, a LIST a JSON array of its elements, a MAP a JSON array of
/// `[key, value]` pairs (as pyarrow's `to_pylist` gives them), a repeated field without an
/// annotation a JSON array, and an optional node whose definition level stops short of it null.
/// Levels that do not add up are an error naming the file, row group and column.
final class ParquetNestedField {
  let schema: ParquetSchema
  let root: Int
  /// The field's leaves, `schema.leaves[firstLeaf...]`, each with its reader and triplets.
  let firstLeaf: Int
  let readers: [ParquetColumnReader]
  var triplets: [[ParquetColumnReader.Triplet]]
  let scratch: [ByteBuffer]
  /// `"name":` of every node.
  let keys: [Int: [UInt8]]

  init(schema: ParquetSchema, field: ParquetSchema.Field, readers: [ParquetColumnReader]) {
    self.schema = schema
    root = field.node
    firstLeaf = field.leaves.lowerBound
    self.readers = readers
    triplets = Array(repeating: [], count: readers.count)
    scratch = readers.map { _ in ByteBuffer(capacity: 256) }
    var keys: [Int: [UInt8]] = [:]
    for (k, n) in schema.nodes.enumerated() {
      var key: [UInt8] = []
      JSONString.appendQuoted(n.name, to: &key)
      key.append(UInt8(ascii: ":"))
      keys[k] = key
    }
    self.keys = keys
  }

  func fail(_ leaf: Int, _ what: String) -> WinnowError { readers[leaf - firstLeaf].fail(what) }

  /// Appends the next row's value of the field.
  func appendNext(to out: ByteBuffer) throws(WinnowError) {
    for k in readers.indices {
      scratch[k].removeAll()
      try readers[k].readRecord(into: &triplets[k], scratch: scratch[k])
    }
    var ranges = triplets.map { 0..<$0.count }
    let node = schema.nodes[root]
    if node.repetitionType == 2 {
      try appendElements(of: root, ranges: &ranges, to: out) { (ranges: inout [Range<Int>]) throws(WinnowError) in
        try appendValue(root, ranges: &ranges, to: out)
      }
    } else {
      try appendValue(root, ranges: &ranges, to: out)
    }
  }

  /// The first triplet of `node`'s first leaf in `ranges`.
  private func first(_ node: Int, _ ranges: [Range<Int>]) throws(WinnowError) -> ParquetColumnReader.Triplet {
    let leaf = schema.nodes[node].leaves.lowerBound
    let r = ranges[leaf - firstLeaf]
    guard !r.isEmpty else { throw fail(leaf, "levels that do not add up (a value without its triplet)") }
    return triplets[leaf - firstLeaf][r.lowerBound]
  }

  /// One instance of `node` (a repeated node's element, or a node that does not repeat).
  private func appendValue(_ node: Int, ranges: inout [Range<Int>], to out: ByteBuffer) throws(WinnowError) {
    let n = schema.nodes[node]
    if n.repetitionType == 1, try first(node, ranges).definition < UInt32(n.definition) {
      out.append(ParquetRendering.null)
      return
    }
    switch n.kind {
    case .leaf(let l):
      let t = try first(node, ranges)
      if t.definition == UInt32(schema.leaves[l].maxDefinition) {
        out.append(UnsafeBufferPointer(rebasing: scratch[l - firstLeaf].bytes[t.start..<t.end]))
      } else {
        out.append(ParquetRendering.null)
      }
    case .group:
      out.append(UInt8(ascii: "{"))
      for (k, c) in n.children.enumerated() {
        if k > 0 { out.append(UInt8(ascii: ",")) }
        keys[c]!.withUnsafeBufferPointer { out.append($0) }
        try appendChild(c, ranges: &ranges, to: out)
      }
      out.append(UInt8(ascii: "}"))
    case .list(let element):
      let repeated = n.children[0]
      try appendElements(of: repeated, ranges: &ranges, to: out) { (sub: inout [Range<Int>]) throws(WinnowError) in
        try appendValue(element, ranges: &sub, to: out)
      }
    case .map(let keyValue):
      let kv = schema.nodes[keyValue]
      try appendElements(of: keyValue, ranges: &ranges, to: out) { (sub: inout [Range<Int>]) throws(WinnowError) in
        out.append(UInt8(ascii: "["))
        try appendChild(kv.children[0], ranges: &sub, to: out)
        out.append(UInt8(ascii: ","))
        if kv.children.count > 1 { try appendChild(kv.children[1], ranges: &sub, to: out) } else { out.append(ParquetRendering.null) }
        out.append(UInt8(ascii: "]"))
      }
    }
  }

  /// A child of a group: an array when it repeats.
  private func appendChild(_ node: Int, ranges: inout [Range<Int>], to out: ByteBuffer) throws(WinnowError) {
    if schema.nodes[node].repetitionType == 2 {
      try appendElements(of: node, ranges: &ranges, to: out) { (sub: inout [Range<Int>]) throws(WinnowError) in
        try appendValue(node, ranges: &sub, to: out)
      }
    } else {
      try appendValue(node, ranges: &ranges, to: out)
    }
  }

  /// A JSON array of the instances of the repeated `node` within `ranges`: empty when its
  /// definition level stops short of it; else split where a leaf's repetition level is at most
  /// the node's.
  private func appendElements(
    of node: Int, ranges: inout [Range<Int>], to out: ByteBuffer,
    _ element: (inout [Range<Int>]) throws(WinnowError) -> Void
  ) throws(WinnowError) {
    let n = schema.nodes[node]
    out.append(UInt8(ascii: "["))
    defer { out.append(UInt8(ascii: "]")) }
    if try first(node, ranges).definition < UInt32(n.definition) { return }
    var starts: [[Int]] = []
    var count = -1
    for leaf in n.leaves {
      let r = ranges[leaf - firstLeaf]
      var s: [Int] = []
      for i in r where i == r.lowerBound || triplets[leaf - firstLeaf][i].repetition <= UInt32(n.repetition) { s.append(i) }
      if count >= 0 && s.count != count { throw fail(leaf, "levels that do not add up (its lists differ in length from its siblings')") }
      count = s.count
      starts.append(s)
    }
    var sub = ranges
    for e in 0..<max(count, 0) {
      if e > 0 { out.append(UInt8(ascii: ",")) }
      for (k, leaf) in n.leaves.enumerated() {
        let end = e + 1 < count ? starts[k][e + 1] : ranges[leaf - firstLeaf].upperBound
        sub[leaf - firstLeaf] = starts[k][e]..<end
      }
      try element(&sub)
    }
  }
}
