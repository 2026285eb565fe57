import Foundation
import WinnowCore

/// A table of numbers with named columns and one row per mixture, as RegMix keeps its proxy
/// runs: `index,<name>,<name>,…` then one line per row. The mixture file's columns are domain
/// weights, the loss file's are per-domain validation losses; both are joined on `index`.
///
/// Every value is checked (a number, finite) and a bad line is an error naming the file and
/// the line, never a skipped row: a missing row would silently change a fitted model.
public struct MixtureTable: Sendable, Equatable {
  /// The column names after `index`.
  public var columns: [String]
  /// Each row's `index` value (unique).
  public var index: [Int]
  /// `rows[r][c]` is column `c` of row `r`.
  public var rows: [[Double]]

  /// A table from its parts (`index` and `rows` of one length, each row as wide as `columns`).
  public init(columns: [String], index: [Int], rows: [[Double]]) {
    self.columns = columns
    self.index = index
    self.rows = rows
  }

  /// The largest table file read (these are summaries of runs, not corpora).
  public static let maxFileBytes = 256 << 20

  /// Reads a table from `path` (see the type's description). A file without an `index` column
  /// numbers its rows from 1.
  public static func read(path: String) throws(WinnowError) -> MixtureTable {
    let text = try MixtureFiles.text(path, limit: maxFileBytes)
    return try parse(text, source: path)
  }

  /// Parses the text of a table; `source` names it in errors.
  public static func parse(_ text: String, source: String) throws(WinnowError) -> MixtureTable {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> Substring in
      line.hasSuffix("\r") ? line.dropLast() : line
    }
    while let last = lines.last, last.allSatisfy({ $0 == " " }) { lines.removeLast() }
    guard let header = lines.first else {
      throw .io("\(source): empty file (a header line `index,<column>,…` was expected)")
    }
    let names = header.split(separator: ",", omittingEmptySubsequences: false).map {
      $0.trimmingCharacters(in: .whitespaces)
    }
    let hasIndex = names.first == "index" || names.first == ""
    let columns = Array(hasIndex ? names.dropFirst() : names[...])
    if columns.isEmpty {
      throw .io("\(source):1: the header names no columns")
    }
    var seen = Set<String>()
    for name in columns {
      if name.isEmpty { throw .io("\(source):1: a column without a name") }
      if !seen.insert(name).inserted { throw .io("\(source):1: column '\(name)' appears twice") }
    }
    var index: [Int] = []
    var rows: [[Double]] = []
    var indexSeen = Set<Int>()
    for (k, line) in lines.enumerated().dropFirst() {
      let lineNumber = k + 1
      let fields = line.split(separator: ",", omittingEmptySubsequences: false)
      if fields.count != names.count {
        throw .io("\(source):\(lineNumber): \(fields.count) fields, the header has \(names.count)")
      }
      let id: Int
      if hasIndex {
        guard let value = Int(fields[0].trimmingCharacters(in: .whitespaces)) else {
          throw .io("\(source):\(lineNumber): index '\(fields[0].prefix(40))' is not an integer")
        }
        id = value
      } else {
        id = rows.count + 1
      }
      if !indexSeen.insert(id).inserted {
        throw .io("\(source):\(lineNumber): index \(id) appears twice")
      }
      var row: [Double] = []
      row.reserveCapacity(columns.count)
      for (c, field) in fields.dropFirst(hasIndex ? 1 : 0).enumerated() {
        let trimmed = field.trimmingCharacters(in: .whitespaces)
        guard let value = Double(trimmed), value.isFinite else {
          throw .io("\(source):\(lineNumber): column '\(columns[c])': '\(trimmed.prefix(40))' is not a finite number")
        }
        row.append(value)
      }
      index.append(id)
      rows.append(row)
    }
    if rows.isEmpty {
      throw .io("\(source): no rows after the header")
    }
    return MixtureTable(columns: columns, index: index, rows: rows)
  }

  /// The table as CSV text (`index` first; values with enough digits to read back exactly).
  public func csv() -> String {
    var out = "index," + columns.joined(separator: ",") + "\n"
    for (r, row) in rows.enumerated() {
      out += String(index[r])
      for v in row { out += "," + Self.format(v) }
      out += "\n"
    }
    return out
  }

  /// The shortest decimal that reads back as `v` (Swift's description), without a trailing ".0".
  static func format(_ v: Double) -> String {
    let s = v.description
    return s.hasSuffix(".0") ? String(s.dropLast(2)) : s
  }

  /// The column named `name`, or an error listing the names there are.
  public func column(named name: String, source: String) throws(WinnowError) -> Int {
    if let c = columns.firstIndex(of: name) { return c }
    let similar = columns.filter { $0.contains(name) }
    let hint = similar.isEmpty ? "columns: \(columns.joined(separator: ", "))" : "did you mean \(similar.map { "'\($0)'" }.joined(separator: " or "))?"
    throw .usage("\(source): no column '\(name)'; \(hint)")
  }
}

/// Mixture weights joined with one target loss: the rows a regression learns from.
public struct MixtureObservations: Sendable {
  /// The domains (the mixture table's columns).
  public var domains: [String]
  /// One weight vector per observed run.
  public var weights: [[Double]]
  /// The target loss of each run.
  public var loss: [Double]

  /// Observations from parallel arrays: `weights[r]` scored `loss[r]`.
  public init(domains: [String], weights: [[Double]], loss: [Double]) {
    self.domains = domains
    self.weights = weights
    self.loss = loss
  }

  /// Joins `mixtures` and `losses` on `index`, taking the loss column `target`. A mixture
  /// without a loss row (or the reverse) is an error: a run that did not finish must not pass
  /// unnoticed.
  /// `target` `mean` is the mean of every loss column (a mixture good for all domains at once).
  public static func join(mixtures: MixtureTable, mixtureSource: String, losses: MixtureTable, lossSource: String,
                          target: String) throws(WinnowError) -> MixtureObservations {
    var lossOf: [Int: Double] = [:]
    if target == "mean" && !losses.columns.contains("mean") {
      for (r, id) in losses.index.enumerated() { lossOf[id] = losses.rows[r].reduce(0, +) / Double(losses.columns.count) }
    } else {
      let t = try losses.column(named: target, source: lossSource)
      for (r, id) in losses.index.enumerated() { lossOf[id] = losses.rows[r][t] }
    }
    var weights: [[Double]] = []
    var loss: [Double] = []
    for (r, id) in mixtures.index.enumerated() {
      guard let value = lossOf.removeValue(forKey: id) else {
        throw .io("\(lossSource): no row for mixture \(id) of \(mixtureSource)")
      }
      weights.append(mixtures.rows[r])
      loss.append(value)
    }
    if let extra = lossOf.keys.min() {
      throw .io("\(lossSource): row \(extra) has no mixture in \(mixtureSource)")
    }
    return MixtureObservations(domains: mixtures.columns, weights: weights, loss: loss)
  }
}
