/**
 * Decodes uservox "Lead Update Callbacks". Both payload kinds use `action_type: "update"`, so
 * they are told apart structurally: an `updateId` is the result of an update we sent (§4.2);
 * an `activityId` with an `activity` is a call that moved the lead at the vendor (§4.3).
 * Uservox signs nothing: a webhook is authenticated by the static bearer token or custom
 * header configured on the process, compared in constant time.
 *
 * @since 0.1.0
 */
import { CrmWebhooks, InputLimits, type StateMap } from "@leadstate/core"
import { Effect, Either, Redacted, Schema } from "effect"
import { ActivityPayload, UpdateResultPayload, WRITE_ID_KEY } from "./UservoxSchema.js"

const VENDOR = "uservox"

/** How the process's callback authenticates itself. */
export type WebhookAuth =
  | { readonly bearer: Redacted.Redacted<string> }
  | { readonly header: string; readonly value: Redacted.Redacted<string> }

/** Options of the decoder. */
export interface UservoxWebhooksOptions {
  readonly auth: WebhookAuth
  readonly map: StateMap.StateMap
}

const decodeUpdate = Schema.decodeUnknownEither(UpdateResultPayload)
const decodeActivity = Schema.decodeUnknownEither(ActivityPayload)

const badTimestamp = (timestamp: number) =>
  `timestamp ${timestamp} is not epoch milliseconds (a whole number from ${InputLimits.minTime} to ${InputLimits.maxTime})`

/** The failure message uservox sends when a call is running on the lead. */
export const isCallInProgress = (error: string): boolean => /call is in progress/i.test(error)

/** Builds the decoder. */
export const make = (options: UservoxWebhooksOptions): CrmWebhooks.CrmWebhooksService => {
  const reject = (reason: CrmWebhooks.WebhookError["reason"], detail: string) =>
    Effect.fail(new CrmWebhooks.WebhookError({ vendor: VENDOR, reason, detail }))
  const authenticate = (raw: CrmWebhooks.RawWebhook): string | undefined => {
    if ("bearer" in options.auth) {
      const given = CrmWebhooks.header(raw, "authorization")
      if (given === undefined) return "the Authorization header is missing"
      return CrmWebhooks.constantTimeEqual(given, `Bearer ${Redacted.value(options.auth.bearer)}`)
        ? undefined
        : "the bearer token does not match the configured one"
    }
    const given = CrmWebhooks.header(raw, options.auth.header)
    if (given === undefined) return `the ${options.auth.header} header is missing`
    return CrmWebhooks.constantTimeEqual(given, Redacted.value(options.auth.value))
      ? undefined
      : `the ${options.auth.header} header does not match the configured value`
  }
  return {
    vendor: VENDOR,
    decode: (raw) => {
      const denied = authenticate(raw)
      if (denied !== undefined) return reject("InvalidSignature", denied)
      // Size, depth and plain-JSON limits first, before any Schema decode.
      const parsed = CrmWebhooks.parseJsonBody(VENDOR, raw)
      if (Either.isLeft(parsed)) return Effect.fail(parsed.left)
      const json = parsed.right
      if (typeof json !== "object" || json === null || Array.isArray(json)) {
        return reject("Malformed", "the body is not a JSON object")
      }
      if ("updateId" in json) {
        const decoded = decodeUpdate(json)
        if (Either.isLeft(decoded)) return reject("Malformed", "an update result without the documented fields")
        const p = decoded.right
        if (!InputLimits.isTime(p.timestamp)) return reject("Malformed", badTimestamp(p.timestamp))
        if (p.referenceId === undefined || p.referenceId === null) {
          return reject("Unsupported", `lead ${p.leadId} has no referenceId, so it was not created by leadstate`)
        }
        const ref = { leadId: p.referenceId, vendorLeadId: p.leadId }
        if (p.success) {
          // `data` is the lead's metadata after the update: the write id our update carried
          // (absent when the update carried none), so the engine settles exactly that write.
          const data = p.data
          const writeId =
            typeof data === "object" && data !== null && !Array.isArray(data)
              ? (data as Record<string, unknown>)[WRITE_ID_KEY]
              : undefined
          const confirmed: CrmWebhooks.SyncConfirmed = {
            _tag: "SyncConfirmed",
            vendorEventId: p.updateId,
            ref: typeof writeId === "string" ? { ...ref, writeId } : ref,
            state: undefined,
            at: p.timestamp,
          }
          return Effect.succeed([confirmed])
        }
        const error = p.error ?? "the update failed without a reason"
        const failed: CrmWebhooks.SyncFailed = {
          _tag: "SyncFailed",
          vendorEventId: p.updateId,
          ref,
          // Anything but a running call is a rejection of the update's content (bad state, bad data).
          reason: isCallInProgress(error)
            ? { _tag: "CallInProgress", detail: error }
            : { _tag: "InvalidRequest", detail: error, fields: [] },
          at: p.timestamp,
        }
        return Effect.succeed([failed])
      }
      if ("activityId" in json || "activity" in json) {
        const decoded = decodeActivity(json)
        if (Either.isLeft(decoded)) return reject("Malformed", "an activity without the documented fields")
        const p = decoded.right
        if (!InputLimits.isTime(p.timestamp)) return reject("Malformed", badTimestamp(p.timestamp))
        if (p.referenceId === undefined || p.referenceId === null) {
          return reject("Unsupported", `lead ${p.leadId} has no referenceId, so it was not created by leadstate`)
        }
        const ref = { leadId: p.referenceId, vendorLeadId: p.leadId }
        const analysis = p.activity.result?.analysis ?? undefined
        const vendorDisposition = analysis?.disposition ?? undefined
        const fromState = p.activity.fromState ?? undefined
        const toState = p.activity.toState ?? undefined
        if (toState === undefined || toState === fromState) {
          // A call that did not move the lead: record its outcome as metadata.
          const changed: CrmWebhooks.LeadChanged = {
            _tag: "LeadChanged",
            vendorEventId: p.activityId,
            ref,
            fromState: fromState === undefined ? undefined : options.map.fromVendor(fromState),
            event: {
              type: "updateMetadata",
              metadata: {
                uservoxLastActivity: {
                  type: p.activity.type,
                  disposition: vendorDisposition ?? null,
                  dispositionType: analysis?.dispositionType ?? null,
                  summary: analysis?.summary ?? null,
                  at: p.timestamp,
                },
              },
              actor: `${VENDOR}:${p.activity.type}`,
              at: p.timestamp,
            },
            at: p.timestamp,
          }
          return Effect.succeed([changed])
        }
        const to = options.map.fromVendor(toState)
        if (to === undefined) {
          return reject(
            "Unsupported",
            `uservox state "${toState}" maps to no lifecycle state; add it to the state map's reverse`,
          )
        }
        const summary = analysis?.summary ?? undefined
        const changed: CrmWebhooks.LeadChanged = {
          _tag: "LeadChanged",
          vendorEventId: p.activityId,
          ref,
          fromState: fromState === undefined ? undefined : options.map.fromVendor(fromState),
          event: {
            type: "transition",
            to,
            ...(vendorDisposition === undefined
              ? {}
              : { disposition: options.map.dispositionFromVendor(vendorDisposition) }),
            ...(summary === undefined ? {} : { note: summary }),
            actor: `${VENDOR}:${p.activity.type}`,
            at: p.timestamp,
          },
          at: p.timestamp,
        }
        return Effect.succeed([changed])
      }
      return reject("Unsupported", "neither an update result (updateId) nor an activity (activityId)")
    },
  }
}
