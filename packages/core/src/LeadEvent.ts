/**
 * Inbound events: what can happen to a lead. A Schema union on `type` (XState's contract).
 * `at` is epoch milliseconds (a whole number within `Date`'s range, see `InputLimits.Time`); an
 * event without it takes the lead's last update time.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { Time } from "./InputLimits.js"
import { Metadata } from "./Metadata.js"

const At = Schema.optional(Time).annotations({ description: "Epoch milliseconds (see InputLimits.Time)." })
const Actor = Schema.optional(Schema.String).annotations({ description: "Who caused the event (a user or agent id)." })

/** Move the lead to `to`, with a disposition where the target takes one. */
export const TransitionEvent = Schema.Struct({
  type: Schema.Literal("transition"),
  to: Schema.String,
  disposition: Schema.optional(Schema.String),
  note: Schema.optional(Schema.String),
  metadata: Schema.optional(Metadata),
  actor: Actor,
  at: At,
})
export type TransitionEvent = typeof TransitionEvent.Type

/** Merge metadata into the lead without moving it. */
export const UpdateMetadataEvent = Schema.Struct({
  type: Schema.Literal("updateMetadata"),
  metadata: Metadata,
  actor: Actor,
  at: At,
})
export type UpdateMetadataEvent = typeof UpdateMetadataEvent.Type

/** Park the lead in the snooze state until `until` (or the lifecycle's default delay). */
export const SnoozeEvent = Schema.Struct({
  type: Schema.Literal("snooze"),
  until: Schema.optional(Time),
  note: Schema.optional(Schema.String),
  actor: Actor,
  at: At,
})
export type SnoozeEvent = typeof SnoozeEvent.Type

/** Wake a snoozed lead back to the state it was snoozed from. */
export const WakeEvent = Schema.Struct({ type: Schema.Literal("wake"), actor: Actor, at: At })
export type WakeEvent = typeof WakeEvent.Type

/** A follow-up deadline passed: move one step along the follow-up sequence. */
export const FollowUpDueEvent = Schema.Struct({ type: Schema.Literal("followUpDue"), actor: Actor, at: At })
export type FollowUpDueEvent = typeof FollowUpDueEvent.Type

/** Reopen a final lead into `to`, as a declared reopen rule allows. */
export const ReopenEvent = Schema.Struct({
  type: Schema.Literal("reopen"),
  to: Schema.String,
  reason: Schema.optional(Schema.String),
  note: Schema.optional(Schema.String),
  actor: Actor,
  at: At,
})
export type ReopenEvent = typeof ReopenEvent.Type

/** Every event a lead accepts. */
export const LeadEvent = Schema.Union(
  TransitionEvent,
  UpdateMetadataEvent,
  SnoozeEvent,
  WakeEvent,
  FollowUpDueEvent,
  ReopenEvent,
).annotations({ identifier: "LeadEvent" })
export type LeadEvent = typeof LeadEvent.Type

/** The `type`s of {@link LeadEvent}. */
export const eventTypes: ReadonlyArray<LeadEvent["type"]> = [
  "transition",
  "updateMetadata",
  "snooze",
  "wake",
  "followUpDue",
  "reopen",
]
