/**
 * THE inbound contract: a vendor's webhook request, as raw headers and body bytes, decoded
 * into sync outcomes (our pending writes confirmed or failed) and inbound lead events (the
 * vendor changed a lead), or a typed `WebhookError`.
 *
 * @since 0.1.0
 */
import { createHmac, timingSafeEqual } from "node:crypto"
import { Context, type Effect, Either, Redacted, Schema } from "effect"
import type { LeadRef } from "./CrmAdapter.js"
import type { CrmErrorReason } from "./CrmError.js"
import * as InputLimits from "./InputLimits.js"
import type { LeadEvent } from "./LeadEvent.js"

/** A webhook request as it arrived. Header names are matched case-insensitively. */
export interface RawWebhook {
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly body: Uint8Array
}

/** A write we sent was applied by the vendor. */
export interface SyncConfirmed {
  readonly _tag: "SyncConfirmed"
  readonly vendorEventId: string
  readonly ref: LeadRef
  /** The lifecycle state the vendor now reports, when the payload says. */
  readonly state: string | undefined
  readonly at: number
}

/** A write we sent was refused by the vendor after it was accepted. */
export interface SyncFailed {
  readonly _tag: "SyncFailed"
  readonly vendorEventId: string
  readonly ref: LeadRef
  readonly reason: CrmErrorReason
  readonly at: number
}

/** The vendor changed the lead itself (a call outcome, an agent's action): apply `event`. */
export interface LeadChanged {
  readonly _tag: "LeadChanged"
  readonly vendorEventId: string
  readonly ref: LeadRef
  /** The state the vendor says the lead came from, for staleness checks. */
  readonly fromState: string | undefined
  readonly event: LeadEvent
  readonly at: number
}

/** One thing a webhook tells us. */
export type WebhookEvent = SyncConfirmed | SyncFailed | LeadChanged

/** The webhook cannot be used: bad signature, malformed body, unknown kind, or too old. */
export class WebhookError extends Schema.TaggedError<WebhookError>()("WebhookError", {
  vendor: Schema.String,
  reason: Schema.Literal("InvalidSignature", "Malformed", "Unsupported", "Stale", "ClockSkew"),
  detail: Schema.String,
}) {
  override get message(): string {
    const advice = {
      InvalidSignature: "Check the webhook secret or token configured on both sides.",
      Malformed: "The payload does not match the vendor's documented shape.",
      Unsupported: "This kind of webhook is not handled by the adapter; it can be ignored.",
      Stale: "The event is older than the lead's current state and was ignored.",
      ClockSkew: "Check the sender's and this server's clocks; the event was not applied.",
    }[this.reason]
    return `${this.vendor} webhook rejected (${this.reason}): ${this.detail}. ${advice}`
  }
}

/** A vendor's webhook decoder, as the engine uses it. */
export interface CrmWebhooksService {
  readonly vendor: string
  readonly decode: (raw: RawWebhook) => Effect.Effect<ReadonlyArray<WebhookEvent>, WebhookError>
}

/** The webhook decoder tag; adapters with webhooks provide it. */
export class CrmWebhooks extends Context.Tag("@leadstate/core/CrmWebhooks")<CrmWebhooks, CrmWebhooksService>() {}

/** A header's value, matching the name case-insensitively. */
export const header = (raw: RawWebhook, name: string): string | undefined => {
  const lower = name.toLowerCase()
  for (const [key, value] of Object.entries(raw.headers)) if (key.toLowerCase() === lower) return value
  return undefined
}

/** Compares two strings in time independent of where they differ. */
export const constantTimeEqual = (a: string, b: string): boolean => {
  // UTF-16 code units, not UTF-8: UTF-8 turns every lone surrogate into U+FFFD, so two
  // different strings would compare equal.
  const x = Buffer.from(a, "utf16le")
  const y = Buffer.from(b, "utf16le")
  if (x.length !== y.length) {
    // Still compare something of the same size, so timing does not reveal where they differ.
    timingSafeEqual(x, x)
    return false
  }
  return timingSafeEqual(x, y)
}

/** HMAC-SHA256 of `body` with `secret`, as lowercase hex. */
export const hmacSha256Hex = (secret: Redacted.Redacted<string>, body: Uint8Array): string =>
  createHmac("sha256", Redacted.value(secret)).update(body).digest("hex")

/** Checks a `sha256=<hex>` signature header over the raw body, in constant time. */
export const verifyHmacSha256 = (
  secret: Redacted.Redacted<string>,
  body: Uint8Array,
  signature: string | undefined,
): boolean => {
  if (signature === undefined || !signature.startsWith("sha256=")) return false
  const given = signature.slice("sha256=".length)
  if (!/^[0-9a-fA-F]{64}$/.test(given)) return false
  const want = Buffer.from(hmacSha256Hex(secret, body), "hex")
  return timingSafeEqual(Buffer.from(given, "hex"), want)
}

/**
 * Reads a webhook body as JSON within the input limits, for decoders to use before any Schema
 * decode: at most `InputLimits.maxWebhookBodySize` bytes, UTF-8, JSON, plain data nested at
 * most `InputLimits.maxDepth` levels, no "__proto__" key. Anything else is a `Malformed`
 * `WebhookError` (never a throw, whatever the body).
 */
export const parseJsonBody = (vendor: string, raw: RawWebhook): Either.Either<unknown, WebhookError> => {
  const malformed = (detail: string) => Either.left(new WebhookError({ vendor, reason: "Malformed", detail }))
  if (raw.body.byteLength > InputLimits.maxWebhookBodySize) {
    return malformed(
      `the body is ${raw.body.byteLength} bytes, over the ${InputLimits.maxWebhookBodySize}-byte limit for webhook bodies`,
    )
  }
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(raw.body))
  } catch {
    return malformed("the body is not JSON (UTF-8)")
  }
  const problem = InputLimits.checkJson(json, { path: "body", name: "the body" })
  if (problem !== undefined) return malformed(problem.message.replace(/\.$/, ""))
  return Either.right(json)
}
