import Winnow

/// One input is a recipe's text. Parsing and validating every stage's parameters must end in a
/// recipe or an error, never a crash or a hang. (Stages are not built: that opens the files a
/// recipe names.)
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecipe(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
  guard let recipe = try? RecipeParser.parse(text, source: "fuzz.yaml") else { return 0 }
  for step in recipe.stages {
    guard let d = StageCatalog.standard.descriptor(named: step.stage) else { continue }
    _ = try? StageParameters.validate(step.parameters, against: d.parameters, stage: d.name)
  }
  return 0
}
