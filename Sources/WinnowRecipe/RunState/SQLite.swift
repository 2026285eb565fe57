import CSQLite

/// A thin wrapper over the SQLite C API: enough for the run database, and a fraction of the
/// build time of a full SQLite library.
package final class SQLiteDatabase {
  let handle: OpaquePointer
  let path: String

  package init(path: String) throws(WinnowSQLiteError) {
    var db: OpaquePointer?
    let rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nil)
    guard rc == SQLITE_OK, let db else {
      let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "error \(rc)"
      if let db { sqlite3_close(db) }
      throw WinnowSQLiteError(message: "\(path): cannot open run database: \(message)")
    }
    handle = db
    self.path = path
    sqlite3_busy_timeout(db, 10_000)
  }

  deinit { sqlite3_close(handle) }

  func execute(_ sql: String) throws(WinnowSQLiteError) {
    var err: UnsafeMutablePointer<CChar>?
    if sqlite3_exec(handle, sql, nil, nil, &err) != SQLITE_OK {
      let message = err.map { String(cString: $0) } ?? "unknown error"
      sqlite3_free(err)
      throw WinnowSQLiteError(message: "\(path): \(message)")
    }
  }

  func prepare(_ sql: String) throws(WinnowSQLiteError) -> SQLiteStatement {
    var stmt: OpaquePointer?
    guard sqlite3_prepare_v2(handle, sql, -1, &stmt, nil) == SQLITE_OK, let stmt else {
      throw WinnowSQLiteError(message: "\(path): \(String(cString: sqlite3_errmsg(handle))) in: \(sql)")
    }
    return SQLiteStatement(stmt, db: self)
  }

  /// Runs `body` in one transaction: all or nothing, and one fsync instead of many.
  func transaction(_ body: () throws(WinnowSQLiteError) -> Void) throws(WinnowSQLiteError) {
    try execute("BEGIN IMMEDIATE")
    do {
      try body()
      try execute("COMMIT")
    } catch {
      try? execute("ROLLBACK")
      throw error
    }
  }

  /// Runs a statement with bound values.
  func run(_ sql: String, _ values: [SQLiteValue]) throws(WinnowSQLiteError) {
    let s = try prepare(sql)
    try s.bind(values)
    while try s.step() {}
  }

  /// Rows of a query, each as its column values.
  package func rows(_ sql: String, _ values: [SQLiteValue] = []) throws(WinnowSQLiteError) -> [[SQLiteValue]] {
    let s = try prepare(sql)
    try s.bind(values)
    var out: [[SQLiteValue]] = []
    while try s.step() { out.append((0..<s.columnCount).map { s.column($0) }) }
    return out
  }
}

package struct WinnowSQLiteError: Error {
  package var message: String
}

package enum SQLiteValue: Equatable {
  case int(Int)
  case double(Double)
  case text(String)
  case null

  package var int: Int? {
    switch self {
    case .int(let v): return v
    case .double(let v): return Int(v)
    default: return nil
    }
  }

  package var double: Double? {
    switch self {
    case .int(let v): return Double(v)
    case .double(let v): return v
    default: return nil
    }
  }

  package var text: String? {
    if case .text(let v) = self { return v }
    return nil
  }
}

private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

final class SQLiteStatement {
  let stmt: OpaquePointer
  let db: SQLiteDatabase

  init(_ stmt: OpaquePointer, db: SQLiteDatabase) {
    self.stmt = stmt
    self.db = db
  }

  deinit { sqlite3_finalize(stmt) }

  func bind(_ values: [SQLiteValue]) throws(WinnowSQLiteError) {
    sqlite3_reset(stmt)
    for (k, v) in values.enumerated() {
      let i = Int32(k + 1)
      let rc: Int32
      switch v {
      case .int(let x): rc = sqlite3_bind_int64(stmt, i, Int64(x))
      case .double(let x): rc = sqlite3_bind_double(stmt, i, x)
      case .text(let x): rc = sqlite3_bind_text(stmt, i, x, -1, transient)
      case .null: rc = sqlite3_bind_null(stmt, i)
      }
      if rc != SQLITE_OK { throw WinnowSQLiteError(message: "\(db.path): cannot bind value \(k + 1)") }
    }
  }

  /// Advances; true while there is a row.
  func step() throws(WinnowSQLiteError) -> Bool {
    let rc = sqlite3_step(stmt)
    if rc == SQLITE_ROW { return true }
    if rc == SQLITE_DONE { return false }
    throw WinnowSQLiteError(message: "\(db.path): \(String(cString: sqlite3_errmsg(db.handle)))")
  }

  var columnCount: Int { Int(sqlite3_column_count(stmt)) }

  func column(_ i: Int) -> SQLiteValue {
    let c = Int32(i)
    switch sqlite3_column_type(stmt, c) {
    case SQLITE_INTEGER: return .int(Int(sqlite3_column_int64(stmt, c)))
    case SQLITE_FLOAT: return .double(sqlite3_column_double(stmt, c))
    case SQLITE_NULL: return .null
    default: return .text(String(cString: sqlite3_column_text(stmt, c)))
    }
  }
}
