/**
 * Wire schemas of the uservox CRM API, named after the vendor's own nouns. Fields the adapter
 * does not read are optional and extra fields are tolerated (the docs show two shapes for
 * some answers: `name` vs `firstName`/`lastName`, and an older synchronous update answer).
 *
 * @since 0.1.0
 */
import { Metadata } from "@leadstate/core"
import { Schema } from "effect"

const OptionalString = Schema.optional(Schema.NullOr(Schema.String))

/** A lead as uservox returns it (`_id` is a 24-hex ObjectId). */
export const UservoxLead = Schema.Struct({
  _id: Schema.String,
  name: OptionalString,
  firstName: OptionalString,
  lastName: OptionalString,
  phone: OptionalString,
  email: OptionalString,
  projectId: OptionalString,
  processId: OptionalString,
  referenceId: OptionalString,
  currentState: OptionalString,
  lastDisposition: OptionalString,
  metadata: Schema.optional(Schema.NullOr(Metadata.Metadata)),
  createdAt: OptionalString,
  updatedAt: OptionalString,
})
export type UservoxLead = typeof UservoxLead.Type

/** `POST /leads/initiate`: the lead's fields at the top level next to `success`. */
export const InitiateResponse = Schema.Struct({ ...UservoxLead.fields, success: Schema.optional(Schema.Boolean) })

/** `POST /leads/bulk/initiate`: partial success in two arrays. */
export const BulkInitiateResponse = Schema.Struct({
  success: Schema.Array(UservoxLead),
  errors: Schema.Array(
    Schema.Struct({
      referenceId: OptionalString,
      leadId: OptionalString,
      error: Schema.String,
      data: Schema.optional(Schema.Unknown),
    }),
  ),
})

/** `POST /leads/update`: accepted only; the outcome comes by webhook. */
export const UpdateAccepted = Schema.Struct({
  /** "Indicates if the update request was successfully accepted": false is a refusal. */
  success: Schema.Boolean,
  message: Schema.optional(Schema.String),
})

/** `GET /leads/get`. */
export const GetLeadResponse = Schema.Struct({ success: Schema.Literal(true), data: UservoxLead })

/** The update-job result webhook (§4.2): tells an update we sent succeeded or failed. */
export const UpdateResultPayload = Schema.Struct({
  action_type: Schema.Literal("update"),
  updateId: Schema.String,
  success: Schema.Boolean,
  error: Schema.optional(Schema.NullOr(Schema.String)),
  leadId: Schema.String,
  referenceId: OptionalString,
  timestamp: Schema.Number,
  data: Schema.optional(Schema.NullOr(Schema.Unknown)),
})
export type UpdateResultPayload = typeof UpdateResultPayload.Type

/**
 * The metadata key holding the id of the write that sent it (`LeadRef.writeId`). Choice: uservox
 * documents no idempotency key or write id; its metadata is merged and kept, so the id lives there.
 */
export const WRITE_ID_KEY = "leadstate_write_id"

/** The activity webhook (§4.3): a call completed and moved the lead. */
export const ActivityPayload = Schema.Struct({
  action_type: Schema.Literal("update"),
  activityId: Schema.String,
  lastActivityId: OptionalString,
  leadId: Schema.String,
  processId: OptionalString,
  referenceId: OptionalString,
  timestamp: Schema.Number,
  activity: Schema.Struct({
    type: Schema.String,
    status: Schema.optional(Schema.String),
    fromState: OptionalString,
    toState: OptionalString,
    scheduledAt: Schema.optional(Schema.NullOr(Schema.Number)),
    result: Schema.optional(
      Schema.NullOr(
        Schema.Struct({
          analysis: Schema.optional(
            Schema.NullOr(
              Schema.Struct({
                success: Schema.optional(Schema.Boolean),
                disposition: OptionalString,
                // Lowercase in the documented payload; the UI spells them Success/Failure/Neutral,
                // so any string is read rather than losing the move it came with.
                dispositionType: Schema.optional(Schema.NullOr(Schema.String)),
                summary: OptionalString,
              }),
            ),
          ),
        }),
      ),
    ),
  }),
})
export type ActivityPayload = typeof ActivityPayload.Type
