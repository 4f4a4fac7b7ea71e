import { autoDealer, b2b, CrmWebhooks, Lifecycle, type StateMap } from "@leadstate/core"
import { Redacted } from "effect"

export const dealer = Lifecycle.unsafeMake(autoDealer)
export const b2bLifecycle = Lifecycle.unsafeMake(b2b)

export const API_KEY = "sk-workspace_0123456789abcdef0123456789abcdef0123456789abcdef012345"
export const WEBHOOK_SECRET = "whsec_generic_test_secret_value"

/** Auto-dealer states onto the generic vocabulary; the shared values need a reverse. */
export const dealerMap: StateMap.StateMapConfig = {
  states: {
    new: "new",
    contacted: "contacted",
    followup_1: "follow_up",
    followup_2: "follow_up",
    followup_3: "follow_up",
    interested: "qualified",
    test_drive_booked: "qualified",
    converted: "converted",
    lost: "lost",
    snoozed: "follow_up",
  },
  reverse: { follow_up: "followup_1", qualified: "interested" },
}

export const b2bMap: StateMap.StateMapConfig = {
  states: { new: "new", qualified: "qualified", proposal_sent: "qualified", won: "converted", lost: "lost" },
  reverse: { qualified: "qualified" },
}

export const mapFor = (lifecycle: Lifecycle.Lifecycle): StateMap.StateMapConfig =>
  lifecycle.name === b2bLifecycle.name ? b2bMap : dealerMap

/** A webhook delivery signed as the vendor signs it. */
export const signed = (body: unknown | Uint8Array): CrmWebhooks.RawWebhook => {
  const bytes = body instanceof Uint8Array ? body : new TextEncoder().encode(JSON.stringify(body))
  return {
    headers: {
      "content-type": "application/json",
      "x-webhook-signature": `sha256=${CrmWebhooks.hmacSha256Hex(Redacted.make(WEBHOOK_SECRET), bytes)}`,
    },
    body: bytes,
  }
}
