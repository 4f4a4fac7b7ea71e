/**
 * Decodes the generic API's webhooks: verifies `X-Webhook-Signature: sha256=<hex>` (HMAC-SHA256
 * of the raw body, constant-time), then turns `lead.created` / `lead.updated` deliveries into
 * sync confirmations (echoes of our own writes, recognised by `metadata.leadstate`) or inbound
 * lead events (a status someone changed at the vendor).
 *
 * @since 0.1.0
 */
import { CrmWebhooks, InputLimits, type Metadata, type StateMap } from "@leadstate/core"
import { Effect, Either, type Redacted, Schema } from "effect"
import { WebhookPayload } from "./GenericSchema.js"

const VENDOR = "generic"

/** What leadstate writes into `metadata.leadstate` on every state change. */
export interface LeadstateBlock {
  readonly leadId: string | undefined
  readonly state: string | undefined
  readonly disposition: string | undefined
}

const s = (r: Record<string, unknown>, k: string) => (typeof r[k] === "string" ? (r[k] as string) : undefined)

/** Reads `metadata.leadstate`, if present. */
export const leadstateBlock = (metadata: Metadata.Metadata): LeadstateBlock | undefined => {
  const block = metadata.leadstate
  if (typeof block !== "object" || block === null || Array.isArray(block)) return undefined
  const r = block as Record<string, unknown>
  return { leadId: s(r, "leadId"), state: s(r, "state"), disposition: s(r, "disposition") }
}

const decodePayload = Schema.decodeUnknownEither(WebhookPayload)

/** Options of the webhook decoder. */
export interface GenericWebhooksOptions {
  readonly secret: Redacted.Redacted<string> | undefined
  readonly map: StateMap.StateMap
}

/** Builds the decoder. Without a secret every delivery is refused: unsigned webhooks are not trusted. */
export const make = (options: GenericWebhooksOptions): CrmWebhooks.CrmWebhooksService => {
  const reject = (reason: CrmWebhooks.WebhookError["reason"], detail: string) =>
    Effect.fail(new CrmWebhooks.WebhookError({ vendor: VENDOR, reason, detail }))
  return {
    vendor: VENDOR,
    decode: (raw) => {
      if (options.secret === undefined) {
        return reject("InvalidSignature", "no webhook secret is configured for the generic adapter (webhookSecret)")
      }
      const signature = CrmWebhooks.header(raw, "x-webhook-signature")
      if (!CrmWebhooks.verifyHmacSha256(options.secret, raw.body, signature)) {
        return reject(
          "InvalidSignature",
          signature === undefined
            ? "the X-Webhook-Signature header is missing"
            : "the X-Webhook-Signature does not match the body",
        )
      }
      // Size, depth and plain-JSON limits first: the payload schema's metadata is a JSON tree.
      const json = CrmWebhooks.parseJsonBody(VENDOR, raw)
      if (Either.isLeft(json)) return Effect.fail(json.left)
      const decoded = decodePayload(json.right)
      if (Either.isLeft(decoded))
        return reject("Malformed", "the body is not a lead event ({ id, event, createdAt, data: { lead } })")
      const payload = decoded.right
      const at = Date.parse(payload.createdAt)
      if (!InputLimits.isTime(at)) {
        return reject("Malformed", `createdAt "${payload.createdAt.slice(0, 40)}" is not a timestamp from 1970 on`)
      }
      if (payload.event !== "lead.created" && payload.event !== "lead.updated") {
        return reject("Unsupported", `event "${payload.event}" does not change a lead's lifecycle`)
      }
      const lead = payload.data.lead
      const metadata = lead.metadata ?? {}
      const block = leadstateBlock(metadata)
      const external = metadata.external_id
      const leadId = block?.leadId ?? (typeof external === "string" ? external : undefined)
      if (leadId === undefined) {
        return reject("Unsupported", `lead ${lead.id} is not managed by leadstate (no metadata.external_id)`)
      }
      const ref = { leadId, vendorLeadId: lead.id }
      if (block?.state !== undefined && options.map.toVendor(block.state) === lead.status) {
        const confirmed: CrmWebhooks.SyncConfirmed = {
          _tag: "SyncConfirmed",
          vendorEventId: payload.id,
          ref,
          state: block.state,
          at,
        }
        return Effect.succeed([confirmed])
      }
      const state = options.map.fromVendor(lead.status)
      if (state === undefined) return reject("Unsupported", `status "${lead.status}" maps to no lifecycle state`)
      const changed: CrmWebhooks.LeadChanged = {
        _tag: "LeadChanged",
        vendorEventId: payload.id,
        ref,
        fromState: block?.state,
        event: { type: "transition", to: state, at, actor: `${VENDOR}:webhook` },
        at,
      }
      return Effect.succeed([changed])
    },
  }
}
