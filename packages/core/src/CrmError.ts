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

const transportAdvice: { readonly [K in typeof Transport.Type.kind]: string } = {
  Refused: "Check the vendor's base URL (host and port) and that the service is up.",
  Timeout: "Try again later, or raise the request timeout if the vendor is this slow.",
  Reset: "Try again later; if it persists, check proxies between here and the vendor.",
  Other: "Check the network and the vendor's base URL.",
}

/** What to do about a reason: one sentence, never repeating the detail. */
const advice = (reason: CrmErrorReason): string => {
  switch (reason._tag) {
    case "Unauthorized":
      return "Check the API credentials configured for this vendor."
    case "NotFound":
      return "Check the lead reference; the lead may have been deleted at the vendor."
    case "Conflict":
      return "Read the lead back and apply the change to its current state."
    case "DuplicateLead":
      return reason.existingId === undefined
        ? "Use the existing lead instead of creating another."
        : `Use the existing lead (vendor id "${reason.existingId}") instead of creating another.`
    case "InvalidRequest":
      return reason.fields.length > 0
        ? "Fix the named fields (or the state map) and send again."
        : "Fix the request's content (or the state map) and send again."
    case "CallInProgress":
      return "Try again after the call ends."
    case "RateLimited":
      if (reason.blocked === true) return "The vendor blocks these requests for a while; do not resend before it lifts."
      return reason.retryAfterMs === undefined
        ? "Slow down and try again later."
        : `Slow down: the vendor asks to wait ${Math.ceil(reason.retryAfterMs / 1000)} s.`
    case "VendorUnavailable":
      return "The vendor is failing; try again later."
    case "Transport":
      return transportAdvice[reason.kind]
    case "MalformedResponse":
      return "Report it to the vendor, or update the adapter if the vendor changed its API."
    case "Unsupported":
      return "Check the adapter's capabilities before asking for it."
    case "VendorIgnoredWrite":
      return "Check the vendor's logs for why it did not apply the change."
  }
}

/** Whether retries happened and stopped: empty when `attempts` is unknown. */
const retries = (reason: CrmErrorReason, attempts: number | undefined): string => {
  if (attempts === undefined) return ""
  const n = `${attempts} attempt${attempts === 1 ? "" : "s"}`
  if (isRetryable(reason)) return ` Gave up after ${n}: the retry policy allows no more.`
  return attempts > 1 ? ` Stopped after ${n}: this failure is not retried.` : ""
}

/**
 * A vendor call failed. `attempts` is set by the retry policy on the error it gives up with:
 * how many attempts were made before the policy allowed no more.
 */
export class CrmError extends Schema.TaggedError<CrmError>()("CrmError", {
  vendor: Schema.String,
  operation: Schema.String,
  leadId: Schema.optional(Schema.String),
  reason: CrmErrorReason,
  attempts: Schema.optional(Schema.Int),
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
    return `${this.vendor} ${this.operation}${lead} failed: ${this.reason._tag}: ${this.reason.detail}${fields}.${retries(this.reason, this.attempts)} ${advice(this.reason)}`
  }
}

/** The same error, marked as the last of `attempts` attempts. */
export const withAttempts = (error: CrmError, attempts: number): CrmError =>
  new CrmError({
    vendor: error.vendor,
    operation: error.operation,
    ...(error.leadId === undefined ? {} : { leadId: error.leadId }),
    reason: error.reason,
    attempts,
  })
