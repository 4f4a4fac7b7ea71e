/**
 * The lifecycle definition format: plain JSON-compatible data, decoded with Schema.
 *
 * A definition names the states of a lead, the moves between them, the dispositions each
 * target takes, and optional ordering, snooze, follow-up and reopen rules. Shape is checked
 * by this schema; meaning (unknown targets, unreachable states, ...) by `Lifecycle.make`.
 *
 * @since 0.1.0
 */
import { JSONSchema, Schema } from "effect"
import { DurationMs } from "./InputLimits.js"

const Name = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z][A-Za-z0-9_.-]*$/),
  Schema.annotations({
    title: "Name",
    description: "A state or disposition name: a letter, then letters, digits, '_', '.' or '-'.",
  }),
)

/** One state of the lifecycle. */
export const StateDefinition = Schema.Struct({
  name: Name,
  description: Schema.optional(Schema.String),
  final: Schema.optional(Schema.Boolean).annotations({
    description: "A final state absorbs every event except a declared reopen.",
  }),
  rank: Schema.optional(Schema.Int).annotations({
    description: "Position for forward-only ordering; states without a rank may be entered from anywhere.",
  }),
})
export type StateDefinition = typeof StateDefinition.Type

/** Allowed moves: `from` is a state, a list of states, or "*" for every non-final state. */
export const TransitionDefinition = Schema.Struct({
  from: Schema.Union(Schema.Literal("*"), Name, Schema.Array(Name)).annotations({
    description: '"*" means every non-final state (except the target itself).',
  }),
  to: Name,
})
export type TransitionDefinition = typeof TransitionDefinition.Type

/** The dispositions a target state takes. */
export const DispositionRule = Schema.Struct({
  required: Schema.Boolean,
  allowed: Schema.Array(Name),
})
export type DispositionRule = typeof DispositionRule.Type

/** Snooze: a state that remembers where the lead was and wakes back to it. */
export const SnoozeDefinition = Schema.Struct({
  state: Name,
  from: Schema.optional(Schema.Array(Name)).annotations({
    description: "States that may be snoozed; default every non-final state.",
  }),
  defaultMs: Schema.optional(DurationMs).annotations({
    description: "Wake-up delay when a snooze event names no time (whole milliseconds, at most 100 years).",
  }),
})
export type SnoozeDefinition = typeof SnoozeDefinition.Type

/** A follow-up sequence: each `followUpDue` moves one step on; after the last, `exhausted`. */
export const FollowUpDefinition = Schema.Struct({
  states: Schema.NonEmptyArray(Name),
  startFrom: Schema.Array(Name).annotations({
    description: "States whose follow-up deadline leads into the first follow-up state.",
  }),
  intervalMs: DurationMs.annotations({
    description: "Delay between follow-up steps (whole milliseconds, at most 100 years).",
  }),
  exhausted: Schema.Struct({ to: Name, disposition: Schema.optional(Name) }),
})
export type FollowUpDefinition = typeof FollowUpDefinition.Type

/** A way out of a final state. */
export const ReopenRule = Schema.Struct({
  from: Name,
  to: Name,
  reasons: Schema.optional(Schema.Array(Name)).annotations({
    description: "When given, a reopen must name one of these reasons.",
  }),
})
export type ReopenRule = typeof ReopenRule.Type

/** A whole lifecycle definition, as it is written in JSON. */
export const LifecycleDefinition = Schema.Struct({
  $schema: Schema.optional(Schema.String).annotations({
    description: "The JSON Schema of this format, for editors (ignored by leadstate).",
  }),
  name: Schema.String,
  description: Schema.optional(Schema.String),
  initial: Name,
  states: Schema.Array(StateDefinition),
  transitions: Schema.Array(TransitionDefinition),
  dispositions: Schema.optional(Schema.Record({ key: Schema.String, value: DispositionRule })),
  ordering: Schema.optional(Schema.Literal("free", "forward-only")),
  snooze: Schema.optional(SnoozeDefinition),
  followUps: Schema.optional(FollowUpDefinition),
  reopen: Schema.optional(Schema.Array(ReopenRule)),
}).annotations({
  identifier: "LifecycleDefinition",
  title: "leadstate lifecycle definition",
})
export type LifecycleDefinition = typeof LifecycleDefinition.Type

/**
 * The definition format as JSON Schema (draft-07), for editors and other languages.
 *
 * @example
 * import { writeFileSync } from "node:fs"
 * writeFileSync("lifecycle.schema.json", JSON.stringify(jsonSchema(), null, 2))
 */
export const jsonSchema = (): JSONSchema.JsonSchema7Root => JSONSchema.make(LifecycleDefinition)
