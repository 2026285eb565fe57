import WinnowCore
import WinnowFeed
import Yams

/// A parsed, validated recipe: where documents come from, which stages they go through,
/// where they go.
public struct Recipe: Sendable {
  /// The `input:` section: paths (files, directories, globs), field names, strictness.
  public struct Input: Sendable {
    public var paths: [String]
    public var fields = DocumentFields()
    public var strict = false
    /// Lines longer than this are quarantined as `document_too_large` instead of being read.
    public var maxDocumentBytes = PipelineOptions.defaultMaxDocumentBytes
    /// The top-level columns read from Parquet inputs (`input.columns`; nil: all of them).
    public var columns: [String]?
  }

  /// The `output:` section: where kept documents go, how they are compressed and sharded,
  /// the side outputs (rejects, quarantine) and routing by a field.
  public struct Output: Sendable {
    public var path: String
    public var compression: Compression = .zstd
    public var compressionLevel: Int?
    public var maxShardBytes: Int?
    public var maxShardDocs: Int?
    public var rejects: String?
    public var quarantine: String?
    /// The sink format of the output (`output.format`): `jsonl` (the default), `megatron`
    /// (Megatron-LM indexed datasets) or `tokens` (flat token files).
    public var format = "jsonl"
    /// Split the output by this field's value into `OUT/FIELD=VALUE/` (`output.route_by`).
    public var routeBy: String?
    /// For the token formats: the tokenizer and how the datasets are written.
    public var export: TokenExportOptions?
    /// For `output.format: parquet`: codec, row group size and schema.
    public var parquet: ParquetWriteOptions?

    /// The sink formats `output.format` may name.
    public static let formats = ["jsonl", "parquet"] + TokenExportOptions.Format.allCases.map(\.rawValue)

    /// Where documents whose `field` routes to `route` go, under the output directory.
    public static func routeDirectory(field: String, route: String) -> String {
      RoutingSink.routeName(field) + "=" + route
    }
  }

  /// Options of the Slurm executor (the `slurm:` section).
  public struct Slurm: Sendable, Equatable {
    public var partition: String?
    public var account: String?
    /// Time limit per task, in sbatch's syntax (`01:00:00`).
    public var time: String?
    /// Memory per task, in sbatch's syntax (`4G`).
    public var mem: String?
    public var cpusPerTask = 1
    /// At most this many tasks of an array run at once (sbatch's `%` throttle).
    public var maxParallel: Int?
    /// Further sbatch arguments, passed as they are.
    public var extraArgs: [String] = []
    /// Seconds between two looks at the queue.
    public var pollSeconds = 2.0

    public init() {}
  }

  /// One entry of `stages:`: a stage name and its parameters as written.
  public struct Step: Sendable {
    public var stage: String
    public var parameters: [String: RawParameter]
    /// `file:line:column` of the step, for errors.
    public var location: String
  }

  public var name: String
  public var seed: UInt64 = 0
  public var executor = "inline"
  /// Worker processes of the local executor (default: the machine's cores).
  public var workers: Int?
  /// How often a failed task is tried again before the run fails.
  public var maxRetries = 2
  /// Input files per task (a task's output shards are named after it).
  public var filesPerTask = 1
  /// Split Parquet inputs into parts of this many row groups, each read by a task of its own
  /// (`row_groups_per_task`; nil: one task per file), so that one huge file still spreads over
  /// workers.
  public var rowGroupsPerTask: Int?
  /// Split uncompressed JSON Lines inputs larger than this many MiB into parts of about this
  /// size, at line ends, each read by a task of its own (`mb_per_task`; nil: one task per
  /// file). Compressed files cannot be entered in the middle and stay whole.
  public var mbPerTask: Int?
  public var slurm = Slurm()
  public var input: Input
  public var output: Output
  public var stages: [Step]
  /// The file it was read from (for messages), or `<string>`.
  public var source: String
  /// The YAML it was parsed from; workers parse the same text.
  public var text = ""

  /// Executors a recipe may name. Only `inline` runs in this version.
  public static let executors = ["inline", "local", "slurm"]
}

/// Reads recipe YAML into a `Recipe`, checking every key and value. Errors name the file,
/// line and column, the key, and what is allowed.
public enum RecipeParser {
  static let topKeys = [
    "name", "seed", "executor", "workers", "max_retries", "files_per_task", "row_groups_per_task", "mb_per_task", "slurm", "input", "output", "stages",
  ]
  static let slurmKeys = ["partition", "account", "time", "mem", "cpus_per_task", "max_parallel", "extra_args", "poll_seconds"]
  static let inputKeys = ["paths", "text_field", "id_field", "strict", "max_document_bytes", "columns"]
  static let outputKeys = [
    "path", "compression", "compression_level", "max_shard_bytes", "max_shard_docs", "rejects", "quarantine", "format", "route_by",
    "row_group_bytes", "parquet_schema", "tokenizer", "pattern", "add_special_tokens", "append_eod", "eod_id", "name", "merge",
  ]
  /// The output keys only the token formats use.
  static let exportKeys = ["tokenizer", "pattern", "add_special_tokens", "append_eod", "eod_id", "name", "merge"]

  /// Recipes are small; anything larger than this is not one (and reading `/dev/zero` must end).
  public static let maxRecipeBytes = 4_000_000

  public static func parse(file path: String) throws(WinnowError) -> Recipe {
    let text: String
    switch readSmallTextFile(path, limit: maxRecipeBytes) {
    case .success(let t): text = t
    case .failure(let why): throw .usage("\(path): cannot read the recipe: \(why)")
    }
    return try parse(text, source: path)
  }

  public static func parse(_ yaml: String, source: String = "<string>") throws(WinnowError) -> Recipe {
    let root: Node
    do {
      // The basic resolver: values are read as the strings they are written as (the checks
      // below parse numbers and booleans themselves), and the default one's regular
      // expressions are not compiled in every worker process.
      guard let node = try Yams.compose(yaml: yaml, .basic) else { throw WinnowError.usage("\(source): recipe is empty") }
      root = node
    } catch let e as WinnowError {
      throw e
    } catch let e as YamlError {
      throw .usage(describe(e, source: source))
    } catch {
      throw .usage("\(source): not valid YAML: \(error)")
    }
    let p = Parser(source: source)
    let top = try p.mapping(root, what: "the recipe", allowed: topKeys)
    guard let nameNode = top["name"] else { throw p.error(root, "recipe needs a 'name'") }
    let name = try p.string(nameNode, key: "name")
    guard let inputNode = top["input"] else { throw p.error(root, "recipe needs an 'input' section with 'paths'") }
    guard let outputNode = top["output"] else { throw p.error(root, "recipe needs an 'output' section with 'path'") }
    guard let stagesNode = top["stages"] else { throw p.error(root, "recipe needs a 'stages' list (it may be empty: [])") }

    let inMap = try p.mapping(inputNode, what: "'input'", allowed: inputKeys)
    guard let pathsNode = inMap["paths"] else { throw p.error(inputNode, "'input' needs 'paths' (a list of files, directories or globs)") }
    var input = Recipe.Input(paths: try p.stringList(pathsNode, key: "input.paths"))
    if input.paths.isEmpty { throw p.error(pathsNode, "'input.paths' is empty") }
    if let n = inMap["text_field"] { input.fields.text = try p.string(n, key: "input.text_field") }
    if let n = inMap["id_field"] { input.fields.id = try p.string(n, key: "input.id_field") }
    if let n = inMap["strict"] { input.strict = try p.bool(n, key: "input.strict") }
    if let n = inMap["max_document_bytes"] {
      input.maxDocumentBytes = try p.int(n, key: "input.max_document_bytes", range: 1...Int.max)
    }
    if let n = inMap["columns"] {
      let columns = try p.stringList(n, key: "input.columns")
      if columns.isEmpty { throw p.error(n, "'input.columns' is empty (leave it out to read every column)") }
      input.columns = columns
    }

    let outMap = try p.mapping(outputNode, what: "'output'", allowed: outputKeys)
    guard let outPath = outMap["path"] else { throw p.error(outputNode, "'output' needs 'path' (a directory for the shards)") }
    var output = Recipe.Output(path: try p.string(outPath, key: "output.path"))
    let wantsParquet = try outMap["format"].map { (n) throws(WinnowError) in try p.string(n, key: "output.format") } == "parquet"
    if wantsParquet {
      var options = ParquetWriteOptions()
      if let n = outMap["compression"] {
        let c = try p.string(n, key: "output.compression")
        guard let codec = ParquetWriteOptions.Codec(rawValue: c) else {
          throw p.error(n, "'output.compression' for Parquet must be one of zstd|snappy|gzip|none, got '\(c)'")
        }
        options.codec = codec
      }
      if let n = outMap["row_group_bytes"] {
        options.rowGroupBytes = try p.int(n, key: "output.row_group_bytes", range: 1...Int.max)
      }
      if let n = outMap["parquet_schema"] {
        do { options.schema = try ParquetWriteOptions.parseSchema(try p.string(n, key: "output.parquet_schema")) } catch {
          throw p.error(n, "'output.parquet_schema': \(error.message)")
        }
      }
      if let n = outMap["compression_level"] {
        options.level = try p.int(n, key: "output.compression_level", range: options.codec == .gzip ? 0...9 : -7...22)
      }
      output.parquet = options
    } else {
      for key in ["row_group_bytes", "parquet_schema"] where outMap[key] != nil {
        throw p.error(outMap[key]!, "'output.\(key)' is for Parquet output (output.format: parquet)")
      }
    }
    if let n = outMap["compression"], !wantsParquet {
      let c = try p.string(n, key: "output.compression")
      guard let comp = Compression(rawValue: c) else {
        throw p.error(n, "'output.compression' must be one of zstd|gzip|none, got '\(c)'")
      }
      output.compression = comp
    }
    if let n = outMap["compression_level"], !wantsParquet {
      output.compressionLevel = try p.int(n, key: "output.compression_level", range: output.compression == .gzip ? 0...9 : -7...22)
    }
    if let n = outMap["max_shard_bytes"] { output.maxShardBytes = try p.int(n, key: "output.max_shard_bytes", range: 1...Int.max) }
    if let n = outMap["max_shard_docs"] { output.maxShardDocs = try p.int(n, key: "output.max_shard_docs", range: 1...Int.max) }
    if let n = outMap["rejects"] { output.rejects = try p.string(n, key: "output.rejects") }
    if let n = outMap["quarantine"] { output.quarantine = try p.string(n, key: "output.quarantine") }
    if let n = outMap["format"] {
      let f = try p.string(n, key: "output.format")
      guard Recipe.Output.formats.contains(f) else {
        throw p.error(n, "'output.format' must be one of \(Recipe.Output.formats.joined(separator: "|")), got '\(f)'")
      }
      output.format = f
    }
    if let n = outMap["route_by"] {
      let f = try p.string(n, key: "output.route_by")
      guard !f.isEmpty else { throw p.error(n, "'output.route_by' names a field, got an empty string") }
      output.routeBy = f
    }

    for key in exportKeys where outMap[key] != nil && TokenExportOptions.Format(rawValue: output.format) == nil {
      throw p.error(outMap[key]!, "'output.\(key)' is for the token formats (output.format: megatron or tokens)")
    }

    var recipe = Recipe(name: name, input: input, output: output, stages: [], source: source)
    if let n = top["seed"] { recipe.seed = UInt64(try p.int(n, key: "seed", range: 0...Int.max)) }
    if let n = top["executor"] {
      let e = try p.string(n, key: "executor")
      guard Recipe.executors.contains(e) else {
        throw p.error(n, "'executor' must be one of \(Recipe.executors.joined(separator: "|")), got '\(e)'")
      }
      recipe.executor = e
    }
    if let n = top["workers"] { recipe.workers = try p.int(n, key: "workers", range: 1...4096) }
    if let n = top["max_retries"] { recipe.maxRetries = try p.int(n, key: "max_retries", range: 0...100) }
    if let n = top["files_per_task"] { recipe.filesPerTask = try p.int(n, key: "files_per_task", range: 1...Int.max) }
    if let n = top["row_groups_per_task"] {
      recipe.rowGroupsPerTask = try p.int(n, key: "row_groups_per_task", range: 1...Int.max)
    }
    if let n = top["mb_per_task"] {
      recipe.mbPerTask = try p.int(n, key: "mb_per_task", range: 1...(1 << 30))
    }
    if let n = top["slurm"] {
      let m = try p.mapping(n, what: "'slurm'", allowed: slurmKeys)
      var sl = Recipe.Slurm()
      if let v = m["partition"] { sl.partition = try p.string(v, key: "slurm.partition") }
      if let v = m["account"] { sl.account = try p.string(v, key: "slurm.account") }
      if let v = m["time"] { sl.time = try p.string(v, key: "slurm.time") }
      if let v = m["mem"] { sl.mem = try p.string(v, key: "slurm.mem") }
      if let v = m["cpus_per_task"] { sl.cpusPerTask = try p.int(v, key: "slurm.cpus_per_task", range: 1...4096) }
      if let v = m["max_parallel"] { sl.maxParallel = try p.int(v, key: "slurm.max_parallel", range: 1...1_000_000) }
      if let v = m["extra_args"] { sl.extraArgs = try p.stringList(v, key: "slurm.extra_args") }
      if let v = m["poll_seconds"] {
        guard let d = Double(try p.string(v, key: "slurm.poll_seconds")), d > 0 else {
          throw p.error(v, "'slurm.poll_seconds' must be a positive number")
        }
        sl.pollSeconds = d
      }
      recipe.slurm = sl
    }
    recipe.text = yaml
    guard case .sequence(let seq) = stagesNode else {
      throw p.error(stagesNode, "'stages' must be a list of `- stage_name: {parameters}` entries")
    }
    for item in seq {
      guard case .mapping(let m) = item, m.count == 1, let (k, v) = m.first else {
        throw p.error(item, "each entry of 'stages' must be one `stage_name: {parameters}` mapping")
      }
      let stage = try p.string(k, key: "stage name")
      var params: [String: RawParameter] = [:]
      switch v {
      case .scalar(let s) where s.string.isEmpty || s.string == "~" || s.string == "null":
        break
      case .mapping(let pm):
        for (pk, pv) in pm {
          let key = try p.string(pk, key: "parameter name of '\(stage)'")
          if params[key] != nil { throw p.error(pk, "parameter '\(key)' of stage '\(stage)' is given twice") }
          var raw = p.raw(pv)
          raw.keyLocation = p.location(pk)
          params[key] = raw
        }
      default:
        throw p.error(v, "parameters of stage '\(stage)' must be a mapping such as {min_words: 50}, or {}")
      }
      recipe.stages.append(Recipe.Step(stage: stage, parameters: params, location: p.location(k)))
    }
    if let format = TokenExportOptions.Format(rawValue: recipe.output.format) {
      recipe.output.export = try exportOptions(format, outMap, stages: recipe.stages, p: p, outputNode: outputNode)
    }
    return recipe
  }

  /// The token export's settings: from `output`, with the tokenizer (and its pattern and
  /// special-token setting) of the recipe's last `tokenize` stage where `output` names none.
  static func exportOptions(
    _ format: TokenExportOptions.Format, _ m: [String: Node], stages: [Recipe.Step], p: Parser, outputNode: Node
  ) throws(WinnowError) -> TokenExportOptions {
    let tokenizeStep = stages.last { $0.stage == "tokenize" }
    func stageValue(_ key: String) -> String? {
      if case .scalar(let v, _)? = tokenizeStep?.parameters[key]?.value { return v }
      return nil
    }
    var tokenizer: String
    var pattern: String? = nil
    var special = true
    if let n = m["tokenizer"] {
      tokenizer = try p.string(n, key: "output.tokenizer")
    } else if let t = stageValue("tokenizer") {
      tokenizer = t
      pattern = stageValue("pattern")
      if let s = stageValue("add_special_tokens") { special = s == "true" }
    } else {
      throw p.error(
        outputNode, "output.format: \(format.rawValue) needs a tokenizer: give 'output.tokenizer', or put a 'tokenize' stage in the recipe")
    }
    var o = TokenExportOptions(format: format, tokenizer: tokenizer)
    o.pattern = pattern
    o.addSpecialTokens = special
    if let n = m["pattern"] { o.pattern = try p.string(n, key: "output.pattern") }
    if let n = m["add_special_tokens"] { o.addSpecialTokens = try p.bool(n, key: "output.add_special_tokens") }
    if let n = m["append_eod"] { o.appendEOD = try p.bool(n, key: "output.append_eod") }
    if let n = m["eod_id"] { o.eodID = UInt32(try p.int(n, key: "output.eod_id", range: 0...Int(Int32.max))) }
    if let n = m["name"] {
      let name = try p.string(n, key: "output.name")
      guard !name.isEmpty, !name.hasPrefix("."), !name.contains("/") else {
        throw p.error(n, "'output.name' is a file name (no '/', not starting with '.'), got '\(name)'")
      }
      o.name = name
    }
    if let n = m["merge"] { o.mergeTasks = try p.bool(n, key: "output.merge") }
    return o
  }

  /// `file:line:column: not valid YAML: problem (context)`, located like every other recipe
  /// error. (Yams' `Context.description` ends in a newline, so it is not used as is.)
  static func describe(_ e: YamlError, source: String) -> String {
    switch e {
    case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _):
      let ctx = context.map { " (\($0.text) at line \($0.mark.line), column \($0.mark.column))" } ?? ""
      return "\(source):\(mark.line):\(mark.column): not valid YAML: \(problem)\(ctx)"
    default:
      return "\(source): not valid YAML: \(e)"
    }
  }

  /// Node helpers that turn shape errors into messages with a location.
  struct Parser {
    let source: String

    func location(_ n: Node) -> String {
      guard let m = n.mark else { return source }
      return "\(source):\(m.line):\(m.column)"
    }

    func error(_ n: Node, _ message: String) -> WinnowError { .usage("\(location(n)): \(message)") }

    func mapping(_ n: Node, what: String, allowed: [String]) throws(WinnowError) -> [String: Node] {
      guard case .mapping(let m) = n else { throw error(n, "\(what) must be a mapping of keys (\(allowed.joined(separator: ", ")))") }
      var out: [String: Node] = [:]
      for (k, v) in m {
        let key = try string(k, key: "key")
        guard allowed.contains(key) else {
          let hint = closestName(key, among: allowed).map { " (did you mean '\($0)'?)" } ?? ""
          throw error(k, "unknown key '\(key)' in \(what)\(hint); allowed: \(allowed.joined(separator: ", "))")
        }
        if out[key] != nil { throw error(k, "key '\(key)' is given twice in \(what)") }
        out[key] = v
      }
      return out
    }

    func string(_ n: Node, key: String) throws(WinnowError) -> String {
      guard case .scalar(let s) = n else { throw error(n, "'\(key)' must be a single value") }
      return s.string
    }

    func stringList(_ n: Node, key: String) throws(WinnowError) -> [String] {
      switch n {
      case .scalar(let s): return [s.string]
      case .sequence(let seq):
        var out: [String] = []
        for item in seq { out.append(try string(item, key: key)) }
        return out
      default: throw error(n, "'\(key)' must be a list of strings")
      }
    }

    func int(_ n: Node, key: String, range: ClosedRange<Int>) throws(WinnowError) -> Int {
      let s = try string(n, key: key)
      guard let v = StageParameters.parseInt(s), range.contains(v) else {
        let bounds = range.upperBound == Int.max ? "≥ \(range.lowerBound)" : "in [\(range.lowerBound), \(range.upperBound)]"
        throw error(n, "'\(key)' must be an integer \(bounds), got '\(s)'")
      }
      return v
    }

    func bool(_ n: Node, key: String) throws(WinnowError) -> Bool {
      let s = try string(n, key: key)
      switch s.lowercased() {
      case "true", "yes", "on", "1": return true
      case "false", "no", "off", "0": return false
      default: throw error(n, "'\(key)' must be true or false, got '\(s)'")
      }
    }

    func raw(_ n: Node) -> RawParameter {
      let loc = location(n)
      switch n {
      case .scalar(let s):
        return RawParameter(.scalar(s.string, quoted: s.style == .singleQuoted || s.style == .doubleQuoted), at: loc)
      case .sequence(let seq):
        var items: [String] = []
        for item in seq {
          guard case .scalar(let s) = item else { return RawParameter(.unsupported("a nested list or mapping"), at: loc) }
          items.append(s.string)
        }
        return RawParameter(.list(items), at: loc)
      default:
        return RawParameter(.unsupported("a mapping"), at: loc)
      }
    }
  }
}

