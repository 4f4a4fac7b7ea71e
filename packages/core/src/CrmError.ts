/**
 * The one error model of vendor calls: a `CrmError` names the vendor, the operation, the lead
 * and a `reason`. Each reason knows whether it is worth retrying. HTTP client and parse
 * errors are mapped to reasons at the adapter boundary and never leak.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/** Credentials missing, wrong or not allowed for this resource (401/403). */
export const Unauthorized = Schema.TaggedStruct("Unauthorized", { detail: Schema.String })
/** The vendor does not know the lead (404). */
export const NotFound = Schema.TaggedStruct("NotFound", { detail: Schema.String })
/** The write conflicts with the vendor's current state (409). */
export const Conflict = Schema.TaggedStruct("Conflict", { detail: Schema.String })
/** The vendor already has this lead; `existingId` is its id when the vendor says. */
export const DuplicateLead = Schema.TaggedStruct("DuplicateLead", {
  detail: Schema.String,
  existingId: Schema.optional(Schema.String),
})
/** The vendor rejected the request's content; `fields` names the offending fields. */
export const InvalidRequest = Schema.TaggedStruct("InvalidRequest", {
  detail: Schema.String,
  fields: Schema.Array(Schema.String),
})
/** The vendor is on a call with the lead and will not change it now; try again later. */
export const CallInProgress = Schema.TaggedStruct("CallInProgress", { detail: Schema.String })
/** Too many requests; `retryAfterMs` is the vendor's requested wait when it gave one. */
export const RateLimited = Schema.TaggedStruct("RateLimited", {
  detail: Schema.String,
  retryAfterMs: Schema.optional(Schema.NonNegative),
  /** A block the vendor applies for a long time (e.g. a duplicate submission): do not retry blindly. */
  blocked: Schema.optional(Schema.Boolean),
})
/** The vendor failed (5xx). */
export const VendorUnavailable = Schema.TaggedStruct("VendorUnavailable", {
  detail: Schema.String,
  status: Schema.Int,
})
/** The request did not complete: timeout, connection reset or refused. */
export const Transport = Schema.TaggedStruct("Transport", {
  detail: Schema.String,
  kind: Schema.Literal("Timeout", "Reset", "Refused", "Other"),
})
/** The vendor answered 2xx with a body that does not have the documented shape. */
export const MalformedResponse = Schema.TaggedStruct("MalformedResponse", {
  detail: Schema.String,
  status: Schema.Int,
})
/** The adapter does not support this operation; no request was sent. */
export const Unsupported = Schema.TaggedStruct("Unsupported", {
  detail: Schema.String,
  capability: Schema.String,
})
/** A read-back shows the vendor did not apply an accepted write. */
export const VendorIgnoredWrite = Schema.TaggedStruct("VendorIgnoredWrite", {
  detail: Schema.String,
  expected: Schema.String,
  actual: Schema.String,
})

/** Why a vendor call failed. */
export const CrmErrorReason = Schema.Union(
  Unauthorized,
  NotFound,
  Conflict,
  DuplicateLead,
  InvalidRequest,
  CallInProgress,
  RateLimited,
  VendorUnavailable,
  Transport,
  MalformedResponse,
  Unsupported,
  VendorIgnoredWrite,
)
export type CrmErrorReason = typeof CrmErrorReason.Type

/** True for reasons worth another attempt (rate limits unless blocked, 5xx, transport, call in progress). */
export const isRetryable = (reason: CrmErrorReason): boolean => {
  switch (reason._tag) {
    case "RateLimited":
      return reason.blocked !== true
    case "VendorUnavailable":
    case "Transport":
    case "CallInProgress":
      return true
    default:
      return false
  }
}

const advice: { readonly [K in CrmErrorReason["_tag"]]: string } = {
  Unauthorized: "Check the API credentials configured for this vendor.",
  NotFound: "Check the lead reference; the lead may have been deleted at the vendor.",
  Conflict: "Read the lead back and retry from its current state.",
  DuplicateLead: "Use the existing lead instead of creating a new one.",
  InvalidRequest: "Fix the named fields (or the state map) and send again.",
  CallInProgress: "Retry after the call ends.",
  RateLimited: "Slow down; it will be retried after the vendor's wait.",
  VendorUnavailable: "The vendor is failing; it will be retried.",
  Transport: "The network or the vendor did not answer; it will be retried.",
  MalformedResponse: "The vendor's answer did not match its documentation; report it to the vendor.",
  Unsupported: "This adapter cannot do that; check its capabilities.",
  VendorIgnoredWrite: "The vendor accepted the change but did not apply it; check the vendor's logs.",
}

/** A vendor call failed. */
export class CrmError extends Schema.TaggedError<CrmError>()("CrmError", {
  vendor: Schema.String,
  operation: Schema.String,
  leadId: Schema.optional(Schema.String),
  reason: CrmErrorReason,
}) {
  /** See {@link isRetryable}. */
  get retryable(): boolean {
    return isRetryable(this.reason)
  }
  override get message(): string {
    const lead = this.leadId === undefined ? "" : ` for lead "${this.leadId}"`
    const fields =
      this.reason._tag === "InvalidRequest" && this.reason.fields.length > 0
        ? ` (fields: ${this.reason.fields.join(", ")})`
        : ""
    return `${this.vendor} ${this.operation}${lead} failed: ${this.reason._tag}: ${this.reason.detail}${fields}. ${advice[this.reason._tag]}`
  }
}
