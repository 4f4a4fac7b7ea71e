import { FetchHttpClient } from "@effect/platform"
import { GenericAdapter } from "@leadstate/adapter-generic"
import { startFakeGenericServer } from "@leadstate/adapter-generic/testing"
import { autoDealer, CrmAdapter, CrmWebhooks, Lifecycle, start, transition, WebhookInbox } from "@leadstate/core"
import { Effect, Layer, Redacted } from "effect"

const lifecycle = Lifecycle.unsafeMake(autoDealer)

// Every lifecycle state needs a vendor status; several states may share one if a reverse says
// which state that status means when it comes back (webhooks, read-back).
const stateMap = {
  states: {
    new: "new",
    contacted: "contacted",
    followup_1: "follow_up",
    followup_2: "follow_up",
    followup_3: "follow_up",
    snoozed: "follow_up",
    interested: "qualified",
    test_drive_booked: "qualified",
    converted: "converted",
    lost: "lost",
  },
  reverse: { follow_up: "followup_1", qualified: "interested" },
}

export const program = Effect.gen(function* () {
  // A fake PollyBot-style server on 127.0.0.1; in production, your tenant's base URL.
  const vendor = yield* startFakeGenericServer({ apiKey: "sk-workspace_example" })
  const options: GenericAdapter.GenericOptions = {
    lifecycle,
    stateMap,
    baseUrl: vendor.url,
    apiKey: Redacted.make("sk-workspace_example"), // e.g. yield* Config.redacted("GENERIC_API_KEY")
    chatbotId: "bot_1",
    webhookSecret: Redacted.make("whsec_example"),
  }
  const CrmLive = GenericAdapter.layer(options).pipe(Layer.provide(FetchHttpClient.layer))

  return yield* Effect.gen(function* () {
    const crm = yield* CrmAdapter.CrmAdapter // the vendor-neutral service; GenericCrm adds list/get/remove
    const lead = start(lifecycle, {
      leadId: "L-7",
      at: Date.now(),
      metadata: { name: "Ana", email: "ana@example.org" },
    })
    const [create] = lead.intents // start() always yields one CreateLead intent
    if (create === undefined) return yield* Effect.dieMessage("start gives a CreateLead intent")
    const created = yield* crm.send(create, { leadId: "L-7" })
    const ref = { leadId: "L-7", vendorLeadId: created.vendorLeadId }

    const contacted = yield* transition(lifecycle, lead.snapshot, { type: "transition", to: "contacted" })
    const [setState] = contacted.intents
    if (setState === undefined) return yield* Effect.dieMessage("a transition always has an intent")
    const plan = yield* crm.plan(setState, ref) // the dry run: method, URL, body; the key is redacted
    yield* crm.send(setState, ref)
    const atVendor = yield* crm.readBack(ref)

    // Webhooks: mount inbox.handler (Request -> Response) on any server.
    const inbox = WebhookInbox.make({
      webhooks: yield* CrmWebhooks.CrmWebhooks,
      onEvent: (event) => Effect.log(`webhook: ${event._tag} for ${event.ref.leadId}`),
    })
    const body = JSON.stringify({
      id: "evt_1",
      event: "lead.updated",
      createdAt: new Date().toISOString(),
      data: { lead: { id: ref.vendorLeadId, status: "lost", metadata: { external_id: "L-7" } } },
    })
    const signature = CrmWebhooks.hmacSha256Hex(Redacted.make("whsec_example"), new TextEncoder().encode(body))
    const response = yield* Effect.promise(() =>
      inbox.handler(
        new Request("http://localhost/webhooks/generic", {
          method: "POST",
          body,
          headers: { "x-webhook-signature": `sha256=${signature}` },
        }),
      ),
    )
    return { plan, vendorState: atVendor.vendorState, state: atVendor.state, webhookStatus: response.status }
  }).pipe(Effect.provide(CrmLive))
}).pipe(Effect.scoped)

if (import.meta.url === `file://${process.argv[1]}`)
  Effect.runPromise(program).then((r) => console.log(JSON.stringify(r, null, 2)))
