/**
 * The error `Lifecycle.make` returns for a definition that cannot run: every problem at
 * once, each with the path of the offending value and a sentence a person can act on.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * What kind of defect a {@link LifecycleProblem} is. `Shape`: a field has the wrong type or is
 * not plain JSON; `TooLarge`: the definition breaks `InputLimits.maxDepth` or
 * `InputLimits.maxDefinitionSize`; the others are defects of meaning.
 */
export const ProblemCode = Schema.Literal(
  "Shape",
  "TooLarge",
  "NoStates",
  "DuplicateState",
  "UnknownInitial",
  "UnknownState",
  "UnreachableState",
  "FinalHasTransitions",
  "BackwardTransition",
  "DispositionsOnStateWithoutEntry",
  "EmptyRequiredDispositions",
  "DuplicateDisposition",
  "SnoozeMisconfigured",
  "FollowUpMisconfigured",
  "ReopenMisconfigured",
)
export type ProblemCode = typeof ProblemCode.Type

/** One defect in a lifecycle definition. `path` is like `transitions[3].to`. */
export const LifecycleProblem = Schema.Struct({
  code: ProblemCode,
  path: Schema.String,
  message: Schema.String,
})
export type LifecycleProblem = typeof LifecycleProblem.Type

/** The definition is not a valid lifecycle; `problems` lists every defect found. */
export class InvalidLifecycle extends Schema.TaggedError<InvalidLifecycle>()("InvalidLifecycle", {
  name: Schema.String,
  problems: Schema.NonEmptyArray(LifecycleProblem),
}) {
  override get message(): string {
    const n = this.problems.length
    const lines = this.problems.map((p) => `  - ${p.path === "" ? "(root)" : p.path}: ${p.message}`)
    return [`Lifecycle "${this.name}" has ${n} problem${n === 1 ? "" : "s"}:`, ...lines].join("\n")
  }
}
