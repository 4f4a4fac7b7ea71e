/**
 * Wire schemas of the generic (PollyBot-style) lead API, named after the vendor's own nouns.
 * Only what the adapter reads is required; list items "may omit some fields for performance".
 *
 * @since 0.1.0
 */
import { Metadata } from "@leadstate/core"
import { Schema } from "effect"

/** A lead as the vendor returns it. */
export const GenericLead = Schema.Struct({
  id: Schema.String,
  name: Schema.optional(Schema.NullOr(Schema.String)),
  email: Schema.optional(Schema.NullOr(Schema.String)),
  phone: Schema.optional(Schema.NullOr(Schema.String)),
  source: Schema.optional(Schema.NullOr(Schema.String)),
  status: Schema.String,
  metadata: Schema.optional(Schema.NullOr(Metadata.Metadata)),
  createdAt: Schema.optional(Schema.String),
  updatedAt: Schema.optional(Schema.String),
  workspaceId: Schema.optional(Schema.String),
})
export type GenericLead = typeof GenericLead.Type

/** `{ success: true, data: A }`. */
export const Success = <A, I>(data: Schema.Schema<A, I>) => Schema.Struct({ success: Schema.Literal(true), data })

/** A list item: the docs say list items "may omit some fields for performance" (use Get for all). */
export const GenericLeadSummary = Schema.Struct({ ...GenericLead.fields, status: Schema.optional(Schema.String) })
export type GenericLeadSummary = typeof GenericLeadSummary.Type

/** The list endpoint's `data`. */
export const LeadPage = Schema.Struct({
  leads: Schema.Array(GenericLeadSummary),
  pagination: Schema.Struct({
    page: Schema.Number,
    limit: Schema.Number,
    total: Schema.Number,
    totalPages: Schema.Number,
    hasNext: Schema.Boolean,
    hasPrev: Schema.Boolean,
  }),
})
export type LeadPage = typeof LeadPage.Type

/** The delete endpoint's answer. */
export const Deleted = Schema.Struct({
  success: Schema.Literal(true),
  data: Schema.Struct({ id: Schema.String, deletedAt: Schema.optional(Schema.String) }),
})

/** `{ success: false, error, code, details? , retryAfter? }`. */
export const ErrorBody = Schema.Struct({
  success: Schema.Literal(false),
  error: Schema.optional(Schema.String),
  code: Schema.optional(Schema.String),
  details: Schema.optional(Schema.Unknown),
  retryAfter: Schema.optional(Schema.Number),
})
export type ErrorBody = typeof ErrorBody.Type

/**
 * A webhook delivery. The docs do not publish the event payload (generic.md §6, "not
 * retrieved"); this is the shape leadstate assumes and its fake server sends:
 * `{ id, event: "lead.created" | "lead.updated" | "lead.deleted", createdAt, data: { lead } }`.
 */
export const WebhookPayload = Schema.Struct({
  id: Schema.String,
  event: Schema.String,
  createdAt: Schema.String,
  data: Schema.Struct({ lead: GenericLead }),
})
export type WebhookPayload = typeof WebhookPayload.Type
