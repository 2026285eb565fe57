import ArgumentParser
import Winnow

/// `winnow <stage> [--parameter value]… [INPUT…] [-o OUTPUT]`: one stage as a Unix filter.
/// Stage parameters are taken from the arguments by their `--kebab-case` names; everything
/// else is parsed as the common input/output options.
enum StageCommand {
  struct Common: ParsableCommand {
    @OptionGroup var io: IOOptions
  }

  static func run(_ d: StageDescriptor, arguments: [String]) -> Int32 {
    var params: [String: RawParameter] = [:]
    var rest: [String] = []
    var k = 0
    while k < arguments.count {
      let a = arguments[k]
      k += 1
      if a == "--" {
        rest.append(contentsOf: arguments[(k - 1)...])
        break
      }
      if a == "-h" || a == "--help" || a == "help" && k == 1 {
        print(help(d))
        return 0
      }
      guard a.hasPrefix("--") else {
        rest.append(a)
        continue
      }
      let body = a.dropFirst(2)
      let name = String(body.split(separator: "=", maxSplits: 1)[0])
      guard let spec = d.parameters.first(where: { $0.flag == "--" + name }) else {
        rest.append(a)
        continue
      }
      var value: String
      if let eq = body.firstIndex(of: "=") {
        value = String(body[body.index(after: eq)...])
      } else if spec.type == .bool {
        // `--normalize` alone means true; an explicit true/false may follow.
        value = "true"
        if k < arguments.count, ["true", "false"].contains(arguments[k].lowercased()) {
          value = arguments[k]
          k += 1
        }
      } else {
        guard k < arguments.count else {
          printError("winnow: error: \(a) needs a value (\(spec.type.displayName))")
          return 2
        }
        value = arguments[k]
        k += 1
      }
      if params[spec.name] != nil {
        printError("winnow: error: \(a) is given twice")
        return 2
      }
      params[spec.name] = .scalar(value, at: "--\(name)")
    }
    let common: Common
    do {
      common = try Common.parse(rest)
    } catch {
      var message = Common.message(for: error)
      // ArgumentParser only knows the common options; suggest the stage's own too.
      if !message.contains("Did you mean"), let bad = rest.first(where: { $0.hasPrefix("--") && message.contains("'\($0)'") }),
        let near = closestName(String(bad.split(separator: "=")[0]), among: d.parameters.map(\.flag))
      {
        message += " (did you mean '\(near)'?)"
      }
      printError("winnow \(d.cliName): error: \(message)\nUsage: winnow \(d.cliName) [--parameter value]… [INPUT…] [-o OUTPUT]; see 'winnow \(d.cliName) --help'")
      return 2
    }
    do {
      let stage = try d.build(params, context: StageContext(seed: 0, fields: DocumentFields(text: common.io.textField, id: common.io.idField)))
      var files = OutputGuard()
      files.addStageFiles(d, params, flagStyle: true)
      try common.io.runPipeline([NamedStage(name: d.name, stage: stage)], stageFiles: files.inputs, stageOutputs: files.outputs)
      return 0
    } catch {
      return report(error).rawValue
    }
  }

  static func help(_ d: StageDescriptor) -> String {
    var out = "\(d.summary).\n\nUSAGE: winnow \(d.cliName) [--parameter value]… [INPUT…] [-o OUTPUT]\n\nSTAGE PARAMETERS (recipe keys in snake_case):\n"
    out += parameterTable(d) + "\n"
    let common = Common.helpMessage(columns: 100)
    if let r = common.range(of: "ARGUMENTS:") {
      out += String(common[r.lowerBound...])
    }
    return out + "\n" + exitCodeHelp
  }

  static func parameterTable(_ d: StageDescriptor) -> String {
    if d.parameters.isEmpty { return "  (none)\n" }
    var out = ""
    for p in d.parameters {
      var line = "  \(p.flag) <\(p.type.displayName)>"
      if p.required { line += " (required)" }
      if let dv = p.defaultValue { line += " (default: \(dv))" }
      out += line + "\n        \(p.help)\n"
    }
    return out
  }

  /// The entry `winnow stages` prints for one stage.
  static func describe(_ d: StageDescriptor) -> String {
    var out = "\(d.name)  (command: winnow \(d.cliName))\n  \(d.summary)\n"
    for p in d.parameters {
      var line = "    \(p.name): \(p.type.displayName)"
      if p.required { line += ", required" }
      line += ", default: " + (p.defaultValue.map(\.description) ?? (p.required ? "none" : "unset"))
      out += line + "\n        \(p.help)\n"
    }
    if d.parameters.isEmpty { out += "    (no parameters)\n" }
    return String(out.dropLast())
  }
}
