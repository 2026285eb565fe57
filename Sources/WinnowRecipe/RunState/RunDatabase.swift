import CSQLite
import Foundation
import WinnowCore

/// The run database (SQLite, in the run's state directory), written only by the coordinator:
/// the plan's tasks, their states and attempts, and per-stage counts and timings of every
/// finished task. `winnow status` reads it.
///
/// Write-ahead log with `synchronous = NORMAL`: a commit is not flushed to disk by itself (the
/// log is, at checkpoints), so the coordinator does not wait on the disk twice per task. The
/// database cannot be corrupted that way; after a power loss or system crash its last commits
/// may be missing. Which tasks are done is decided from the task records (written atomically,
/// checked against their files), never from this database, so a lost commit changes no output:
/// at worst `winnow status` lags until the next run, or work is done again.
final class RunDatabase {
  let db: SQLiteDatabase

  init(path: String) throws(WinnowError) {
    do {
      db = try SQLiteDatabase(path: path)
      try db.execute(
        """
        PRAGMA journal_mode = WAL;
        PRAGMA synchronous = NORMAL;
        CREATE TABLE IF NOT EXISTS runs (
          id INTEGER PRIMARY KEY, started REAL, finished REAL, executor TEXT, workers INTEGER,
          fingerprint TEXT, outcome TEXT);
        CREATE TABLE IF NOT EXISTS tasks (
          pass INTEGER, task INTEGER, inputs TEXT, state TEXT, attempts INTEGER DEFAULT 0,
          started REAL, finished REAL, documents_read INTEGER, documents_written INTEGER,
          documents_dropped INTEGER, documents_quarantined INTEGER, bytes_read INTEGER, seconds REAL,
          error TEXT, PRIMARY KEY (pass, task));
        CREATE TABLE IF NOT EXISTS attempts (
          pass INTEGER, task INTEGER, attempt INTEGER, run INTEGER, started REAL, finished REAL,
          exit_code INTEGER, log TEXT);
        CREATE TABLE IF NOT EXISTS stage_counts (
          pass INTEGER, task INTEGER, position INTEGER, stage TEXT, documents_in INTEGER, kept INTEGER,
          dropped INTEGER, modified INTEGER, text_bytes_in INTEGER, text_bytes_out INTEGER, seconds REAL,
          PRIMARY KEY (pass, task, position));
        CREATE TABLE IF NOT EXISTS slurm_jobs (job TEXT PRIMARY KEY, pass INTEGER, task_offset INTEGER, run INTEGER, submitted REAL);
        CREATE TABLE IF NOT EXISTS drop_reasons (
          pass INTEGER, task INTEGER, position INTEGER, reason TEXT, count INTEGER,
          PRIMARY KEY (pass, task, position, reason));
        """)
    } catch {
      throw .io(error.message)
    }
  }

  func wrap<T>(_ body: () throws(WinnowSQLiteError) -> T) throws(WinnowError) -> T {
    do { return try body() } catch { throw .io(error.message) }
  }

  static var now: Double { Date().timeIntervalSince1970 }

  func startRun(executor: String, workers: Int, fingerprint: String) throws(WinnowError) -> Int {
    try wrap { () throws(WinnowSQLiteError) -> Int in
      try db.run(
        "INSERT INTO runs (started, executor, workers, fingerprint) VALUES (?, ?, ?, ?)",
        [.double(Self.now), .text(executor), .int(workers), .text(fingerprint)])
      return Int(sqlite3LastInsertRowID(db))
    }
  }

  func finishRun(_ id: Int, outcome: String) throws(WinnowError) {
    try wrap { () throws(WinnowSQLiteError) in
      try db.run("UPDATE runs SET finished = ?, outcome = ? WHERE id = ?", [.double(Self.now), .text(outcome), .int(id)])
    }
  }

  /// Records the plan's tasks (once; later runs keep their history).
  func addTasks(pass: Int, tasks: [[Int]], inputs: [String]) throws(WinnowError) {
    try wrap { () throws(WinnowSQLiteError) in
      try db.transaction { () throws(WinnowSQLiteError) in
        for (t, files) in tasks.enumerated() {
          try db.run(
            "INSERT OR IGNORE INTO tasks (pass, task, inputs, state) VALUES (?, ?, ?, 'pending')",
            [.int(pass), .int(t), .text(files.map { inputs[$0] }.joined(separator: "\n"))])
        }
      }
    }
  }

  func taskStarted(pass: Int, task: Int, attempt: Int, run: Int, log: String) throws(WinnowError) {
    try wrap { () throws(WinnowSQLiteError) in
      try db.transaction { () throws(WinnowSQLiteError) in
        try db.run(
          "UPDATE tasks SET state = 'running', attempts = attempts + 1, started = ?, error = NULL WHERE pass = ? AND task = ?",
          [.double(Self.now), .int(pass), .int(task)])
        try db.run(
          "INSERT INTO attempts (pass, task, attempt, run, started, log) VALUES (?, ?, ?, ?, ?, ?)",
          [.int(pass), .int(task), .int(attempt), .int(run), .double(Self.now), .text(log)])
      }
    }
  }

  func attemptEnded(pass: Int, task: Int, attempt: Int, run: Int, exitCode: Int) throws(WinnowError) {
    try wrap { () throws(WinnowSQLiteError) in
      try db.run(
        "UPDATE attempts SET finished = ?, exit_code = ? WHERE pass = ? AND task = ? AND attempt = ? AND run = ?",
        [.double(Self.now), .int(exitCode), .int(pass), .int(task), .int(attempt), .int(run)])
    }
  }

  func taskFailed(pass: Int, task: Int, error: String) throws(WinnowError) {
    try wrap { () throws(WinnowSQLiteError) in
      try db.run(
        "UPDATE tasks SET state = 'failed', finished = ?, error = ? WHERE pass = ? AND task = ?",
        [.double(Self.now), .text(error), .int(pass), .int(task)])
    }
  }

  /// Stores a finished task's counts, replacing what an earlier attempt may have stored.
  func taskDone(_ r: TaskRecord) throws(WinnowError) {
    let s = r.stats
    try wrap { () throws(WinnowSQLiteError) in
      try db.transaction { () throws(WinnowSQLiteError) in
        try db.run(
          """
          UPDATE tasks SET state = 'done', finished = ?, documents_read = ?, documents_written = ?,
            documents_dropped = ?, documents_quarantined = ?, bytes_read = ?, seconds = ?, error = NULL
          WHERE pass = ? AND task = ?
          """,
          [
            .double(r.finishedAt), .int(s.documentsRead), .int(s.documentsWritten), .int(s.dropped),
            .int(s.quarantined), .int(s.bytesRead), .double(s.seconds), .int(r.pass), .int(r.task),
          ])
        try db.run("DELETE FROM stage_counts WHERE pass = ? AND task = ?", [.int(r.pass), .int(r.task)])
        try db.run("DELETE FROM drop_reasons WHERE pass = ? AND task = ?", [.int(r.pass), .int(r.task)])
        for (k, st) in s.stages.enumerated() {
          try db.run(
            "INSERT INTO stage_counts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
              .int(r.pass), .int(r.task), .int(k), .text(st.name), .int(st.documentsIn), .int(st.kept),
              .int(st.dropped), .int(st.modified), .int(st.textBytesIn), .int(st.textBytesOut),
              .double(Double(st.nanoseconds) / 1e9),
            ])
          for (reason, n) in st.droppedByReason {
            try db.run(
              "INSERT INTO drop_reasons VALUES (?, ?, ?, ?, ?)",
              [.int(r.pass), .int(r.task), .int(k), .text(reason), .int(n)])
          }
        }
      }
    }
  }

  func addSlurmJob(_ job: String, pass: Int, offset: Int, run: Int) throws(WinnowError) {
    try wrap { () throws(WinnowSQLiteError) in
      try db.run(
        "INSERT OR REPLACE INTO slurm_jobs VALUES (?, ?, ?, ?, ?)",
        [.text(job), .int(pass), .int(offset), .int(run), .double(Self.now)])
    }
  }

  func slurmJobs() throws(WinnowError) -> [(job: String, pass: Int, offset: Int)] {
    try wrap { () throws(WinnowSQLiteError) -> [(job: String, pass: Int, offset: Int)] in
      try db.rows("SELECT job, pass, task_offset FROM slurm_jobs ORDER BY submitted").map {
        ($0[0].text ?? "", $0[1].int ?? 0, $0[2].int ?? 0)
      }
    }
  }

  /// Per pass: task counts by state, and documents read so far.
  func summary() throws(WinnowError) -> [(pass: Int, states: [String: Int], documents: Int)] {
    try wrap { () throws(WinnowSQLiteError) -> [(pass: Int, states: [String: Int], documents: Int)] in
      var out: [Int: (states: [String: Int], documents: Int)] = [:]
      for row in try db.rows("SELECT pass, state, COUNT(*), COALESCE(SUM(documents_read), 0) FROM tasks GROUP BY pass, state") {
        let p = row[0].int ?? 0
        var e = out[p] ?? ([:], 0)
        e.states[row[1].text ?? "?"] = row[2].int ?? 0
        e.documents += row[3].int ?? 0
        out[p] = e
      }
      return out.keys.sorted().map { ($0, out[$0]!.states, out[$0]!.documents) }
    }
  }

  func failedTasks() throws(WinnowError) -> [(pass: Int, task: Int, error: String)] {
    try wrap { () throws(WinnowSQLiteError) -> [(pass: Int, task: Int, error: String)] in
      try db.rows("SELECT pass, task, error FROM tasks WHERE state = 'failed' ORDER BY pass, task").map {
        ($0[0].int ?? 0, $0[1].int ?? 0, $0[2].text ?? "")
      }
    }
  }

  func lastRun() throws(WinnowError) -> (started: Double, finished: Double?, executor: String, outcome: String?)? {
    try wrap { () throws(WinnowSQLiteError) -> (started: Double, finished: Double?, executor: String, outcome: String?)? in
      guard let r = try db.rows("SELECT started, finished, executor, outcome FROM runs ORDER BY id DESC LIMIT 1").first else {
        return nil
      }
      return (r[0].double ?? 0, r[1].double, r[2].text ?? "", r[3].text)
    }
  }
}

private func sqlite3LastInsertRowID(_ db: SQLiteDatabase) -> Int64 { sqlite3_last_insert_rowid(db.handle) }
