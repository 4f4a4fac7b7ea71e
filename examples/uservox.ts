import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { FetchHttpClient } from "@effect/platform"
import { UservoxAdapter } from "@leadstate/adapter-uservox"
import { startFakeUservoxServer } from "@leadstate/adapter-uservox/testing"
import { autoDealer, Lifecycle, start, transition, WebhookInbox } from "@leadstate/core"
import { Effect, Redacted } from "effect"

// 1. The lifecycle, and how its states are named in your uservox process.
const lifecycle = Lifecycle.unsafeMake(autoDealer)
const stateMap = {
  states: {
    new: "new_lead",
    contacted: "make_first_call",
    followup_1: "schedule_second_call",
    followup_2: "followup_2",
    followup_3: "followup_3",
    interested: "interested",
    test_drive_booked: "test_drive",
    converted: "retail",
    lost: "lost",
    snoozed: "callback_later",
  },
  dispositions: { bought_elsewhere: "Lost to Co-dealer", wrong_number: "Wrong Number" },
}

export const program = Effect.gen(function* () {
  // 2. Your webhook endpoint: a plain Request -> Response handler, here on node:http.
  let handle: (request: Request) => Promise<Response> = async () => new Response(null, { status: 503 })
  const server = createServer(WebhookInbox.nodeListener((request) => handle(request)))
  yield* Effect.acquireRelease(
    Effect.async<void>((resume) => {
      server.listen(0, "127.0.0.1", () => resume(Effect.void))
    }),
    () => Effect.sync(() => server.close()),
  )
  const callbackUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/uservox`

  // A fake uservox on 127.0.0.1 whose process posts its Lead Update Callbacks to that endpoint.
  const vendor = yield* startFakeUservoxServer({
    apiToken: "uvx_token",
    projectId: "6650aa11bb22cc33dd44ee55",
    processes: [
      {
        processId: "6650aa11bb22cc33dd44ee66",
        states: Object.values(stateMap.states),
        callback: { url: callbackUrl, auth: { bearer: "callback-secret" } },
      },
    ],
  })

  // 3. The adapter (in production: baseUrl defaults to https://crm.uservox.ai/api/v1).
  const options: UservoxAdapter.UservoxOptions = {
    lifecycle,
    stateMap,
    baseUrl: vendor.baseUrl,
    apiToken: Redacted.make("uvx_token"),
    projectId: "6650aa11bb22cc33dd44ee55",
    processId: "6650aa11bb22cc33dd44ee66",
    webhookAuth: { bearer: Redacted.make("callback-secret") },
  }
  const crm = yield* UservoxAdapter.make(options)
  const webhooks = yield* UservoxAdapter.makeWebhooks(options)
  const inbox = UservoxAdapter.makeInbox(crm, webhooks, (change) => Effect.log(`uservox moved ${change.ref.leadId}`))
  handle = inbox.handler

  // 4. Create the lead, apply a transition: accepted now, confirmed when the webhook arrives.
  const lead = start(lifecycle, { leadId: "L-9", at: Date.now(), metadata: { name: "Priya", phone: "+919800000001" } })
  for (const intent of lead.intents) yield* crm.send(intent, { leadId: "L-9" })
  const lost = yield* transition(lifecycle, lead.snapshot, {
    type: "transition",
    to: "lost",
    disposition: "bought_elsewhere",
  })
  const receipts = []
  for (const intent of lost.intents) {
    const receipt = yield* crm.send(intent, { leadId: "L-9" })
    receipts.push(receipt._tag)
    if (receipt._tag === "Accepted") yield* crm.awaitConfirmation(receipt, { leadId: "L-9" })
  }
  const atVendor = vendor.leadByReference("L-9", "6650aa11bb22cc33dd44ee66")
  return {
    receipts,
    state: atVendor?.currentState,
    disposition: atVendor?.lastDisposition,
    pending: yield* crm.pendingCount,
  }
}).pipe(Effect.scoped, Effect.provide(FetchHttpClient.layer))

if (import.meta.url === `file://${process.argv[1]}`) Effect.runPromise(program).then(console.log) // { receipts: ['Accepted'], state: 'lost', disposition: 'Lost to Co-dealer', pending: 0 }
