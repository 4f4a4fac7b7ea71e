/**
 * Vendor-neutral outbound intents: what the CRM should be told after a transition.
 * A `_tag` union, so adapters handle each with `Match.tag` and a missing handler is a
 * compile error.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { Metadata } from "./Metadata.js"

/** Create the lead at the vendor, in its initial state. */
export const CreateLead = Schema.TaggedStruct("CreateLead", {
  leadId: Schema.String,
  state: Schema.String,
  metadata: Metadata,
  at: Schema.Finite,
})
export type CreateLead = typeof CreateLead.Type

/** Set the lead's state at the vendor, with the disposition and note that go with it. */
export const SetState = Schema.TaggedStruct("SetState", {
  leadId: Schema.String,
  from: Schema.String,
  to: Schema.String,
  disposition: Schema.optional(Schema.String),
  note: Schema.optional(Schema.String),
  metadata: Schema.optional(Metadata),
  actor: Schema.optional(Schema.String),
  /** For the snooze state: when the lead wakes (epoch ms). */
  snoozeUntil: Schema.optional(Schema.Finite),
  at: Schema.Finite,
})
export type SetState = typeof SetState.Type

/** Merge metadata into the vendor's lead (a `null` value removes the key). */
export const MergeMetadata = Schema.TaggedStruct("MergeMetadata", {
  leadId: Schema.String,
  metadata: Metadata,
  actor: Schema.optional(Schema.String),
  at: Schema.Finite,
})
export type MergeMetadata = typeof MergeMetadata.Type

/** Every intent. */
export const SyncIntent = Schema.Union(CreateLead, SetState, MergeMetadata).annotations({ identifier: "SyncIntent" })
export type SyncIntent = typeof SyncIntent.Type
