import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { FetchHttpClient } from "@effect/platform"
import { GenericAdapter } from "@leadstate/adapter-generic"
import { startFakeGenericServer } from "@leadstate/adapter-generic/testing"
import { autoDealer, LeadEngine, LeadStore, Lifecycle } from "@leadstate/core"
import * as SqliteLeadStore from "@leadstate/store-sql/sqlite"
import { Effect, Layer, Option, Redacted } from "effect"

const lifecycle = Lifecycle.unsafeMake(autoDealer)

/** The auto-dealer lifecycle on the generic vendor's statuses (the bench and tests use it too). */
export const stateMap = {
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
  // A fake vendor on 127.0.0.1 and a fresh SQLite file; in production, your vendor and your path.
  const vendor = yield* startFakeGenericServer({ apiKey: "sk-workspace_example" })
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "leadstate-example-"))),
    (path) => Effect.sync(() => rmSync(path, { recursive: true, force: true })),
  )
  const filename = join(dir, "leads.db")

  const CrmLive = GenericAdapter.layer({
    lifecycle,
    stateMap,
    baseUrl: vendor.url,
    apiKey: Redacted.make("sk-workspace_example"), // e.g. yield* Config.redacted("GENERIC_API_KEY")
    chatbotId: "bot_1",
  }).pipe(Layer.provide(FetchHttpClient.layer))
  // The engine over the adapter (CrmAdapter, CrmWebhooks) and a durable store; LeadStore too,
  // so the program can look at what was saved.
  const StoreLive = SqliteLeadStore.layer({ filename })
  const EngineLive = Layer.merge(LeadEngine.layer(lifecycle), StoreLive).pipe(
    Layer.provide(Layer.merge(CrmLive, StoreLive)),
  )

  const outcomes = yield* Effect.gen(function* () {
    const engine = yield* LeadEngine.LeadEngine
    // Retries, writes whose webhook never came, follow-up deadlines: every second, in the background.
    yield* Effect.forkScoped(engine.worker())
    const created = yield* engine.create("L-42", { metadata: { name: "Ana", email: "ana@example.org" } })
    const contacted = yield* engine.apply("L-42", { type: "transition", to: "contacted" })
    const interested = yield* engine.apply("L-42", {
      type: "transition",
      to: "interested",
      disposition: "price_inquiry",
    })
    // Confirmed (the vendor has it), Pending (awaiting its webhook) or Queued (delivered later).
    return [created._tag, contacted._tag, interested._tag]
  }).pipe(Effect.scoped, Effect.provide(EngineLive))

  // Another process (here: a new layer over the same file) finds the lead as it was saved.
  const stored = yield* Effect.flatMap(LeadStore.LeadStore, (store) => store.load("L-42")).pipe(
    Effect.provide(StoreLive),
  )
  const lead = Option.getOrUndefined(stored)
  return {
    outcomes,
    state: lead?.snapshot.state,
    version: lead?.snapshot.version,
    atVendor: vendor.lead(lead?.vendorLeadId ?? "")?.status,
  }
}).pipe(Effect.scoped)
