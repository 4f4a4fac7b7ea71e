import { FetchHttpClient } from "@effect/platform"
import { VoxysAdapter, VoxysReconciler } from "@leadstate/adapter-voxys"
import { startFakeVoxysServer } from "@leadstate/adapter-voxys/testing"
import { autoDealer, CrmAdapter, Lifecycle, start, transition } from "@leadstate/core"
import { Effect, Layer, Redacted } from "effect"

const lifecycle = Lifecycle.unsafeMake(autoDealer)

// Voxys has four statuses, so most states share "open"; the reverse names the state an "open"
// lead found by the poller stands for. (leadstate's own writes carry the exact state in a tag.)
const stateMap = {
  states: {
    new: "open",
    contacted: "open",
    followup_1: "open",
    followup_2: "open",
    followup_3: "open",
    interested: "open",
    test_drive_booked: "open",
    converted: "won",
    lost: "lost",
    snoozed: "snoozed",
  },
  reverse: { open: "contacted" },
}

export const program = Effect.gen(function* () {
  // A fake Voxys Connect on 127.0.0.1; in production, leave baseUrl out (https://connect.voxys.ai).
  const vendor = yield* startFakeVoxysServer({ apiAccessToken: "vx_example_token", accountId: 7 })
  const options: VoxysAdapter.VoxysOptions = {
    lifecycle,
    stateMap,
    baseUrl: vendor.url,
    accountId: 7,
    apiAccessToken: Redacted.make("vx_example_token"), // e.g. yield* Config.redacted("VOXYS_API_ACCESS_TOKEN")
    convert: { state: "converted", funnelId: 3 }, // a sale becomes a deal in the "Sales Pipeline" funnel
  }
  const CrmLive = VoxysAdapter.layer(options).pipe(Layer.provide(FetchHttpClient.layer))
  const Live = VoxysReconciler.layer.pipe(Layer.provideMerge(CrmLive)) // the poller, on the same adapter

  return yield* Effect.gen(function* () {
    const crm = yield* CrmAdapter.CrmAdapter // VoxysAdapter.VoxysCrm adds get/list/remove/addNote/bulkSetStatus
    const lead = start(lifecycle, { leadId: "L-7", at: Date.now(), metadata: { name: "Ana", source: "web" } })
    const [create] = lead.intents // start() always yields one CreateLead intent
    if (create === undefined) return yield* Effect.dieMessage("start gives a CreateLead intent")
    const created = yield* crm.send(create, { leadId: "L-7" })
    const ref = { leadId: "L-7", vendorLeadId: created.vendorLeadId }

    let snapshot = lead.snapshot
    for (const to of ["contacted", "interested"]) {
      const step = yield* transition(lifecycle, snapshot, { type: "transition", to })
      for (const intent of step.intents) yield* crm.send(intent, ref)
      snapshot = step.snapshot
    }
    const [next] = (yield* transition(lifecycle, snapshot, {
      type: "transition",
      to: "lost",
      disposition: "do_not_call",
    })).intents
    if (next === undefined) return yield* Effect.dieMessage("a transition always has an intent")
    const plan = yield* crm.plan(next, ref) // the dry run: method, URL, body; the token is redacted
    const atVendor = yield* crm.readBack(ref) // "open" at Voxys, "interested" to leadstate

    // Voxys sends no webhooks: a salesperson marks the lead won in the Voxys UI, and the poller
    // finds it (run it with reconciler.runEvery("1 minute", apply) in production).
    vendor.setStatusAtVendor(Number(ref.vendorLeadId), "won", "Signed at the showroom")
    const reconciler = yield* VoxysReconciler.VoxysReconciler
    const { events, cursor } = yield* reconciler.poll({ since: undefined }) // save cursor for the next poll
    for (const changed of events) {
      const step = yield* transition(lifecycle, snapshot, changed.event)
      for (const intent of step.intents) yield* crm.send(intent, ref) // entering "converted" converts to a deal
      snapshot = step.snapshot
    }
    return {
      plan,
      vendorState: atVendor.vendorState,
      state: atVendor.state,
      polled: events.map((e) => e.event),
      cursor,
      finalState: snapshot.state,
      deals: vendor.cards().length,
    }
  }).pipe(Effect.provide(Live))
}).pipe(Effect.scoped)

if (import.meta.url === `file://${process.argv[1]}`)
  Effect.runPromise(program).then((r) => console.log(JSON.stringify(r, null, 2)))
