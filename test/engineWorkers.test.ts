/**
 * Several engine processes on one PostgreSQL database share the outbox: each write reaches the
 * vendor exactly once, and each lead's writes in order. Two engines with their own connection
 * pools stand in for two processes; the fake generic vendor counts what arrives.
 */
import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { GenericAdapter } from "@leadstate/adapter-generic"
import { startFakeGenericServer } from "@leadstate/adapter-generic/testing"
import {
  autoDealer,
  type CrmAdapter,
  CrmAdapter as CrmAdapterTag,
  CrmError,
  LeadEngine,
  LeadStore,
  Lifecycle,
  RetryPolicy,
} from "@leadstate/core"
import * as PgLeadStore from "@leadstate/store-sql/pg"
import { freshDatabase } from "@leadstate/testkit/postgres"
import { Context, Effect, Layer, Redacted } from "effect"
import { inject } from "vitest"
import { stateMap } from "../examples/engine.js"

const dealer = Lifecycle.unsafeMake(autoDealer)
const API_KEY = "sk-workspace_0123456789abcdef0123456789abcdef0123456789abcdef012345"
const LEADS = 60
const journey = [
  { type: "transition", to: "contacted" },
  { type: "transition", to: "interested" },
  { type: "transition", to: "test_drive_booked" },
] as const
describe("LeadEngine workers sharing a PostgreSQL store", () => {
  it.scopedLive(
    "two engines on two pools drain one outbox: every write sent once, each lead's in order",
    () =>
      Effect.gen(function* () {
        const url = yield* freshDatabase(inject("pgUrl"))
        const openStore = Effect.map(Layer.build(PgLeadStore.layer({ url: Redacted.make(url) })), (context) =>
          Context.get(context, LeadStore.LeadStore),
        )
        const fake = yield* startFakeGenericServer({
          apiKey: API_KEY,
          rateLimitPerHour: 1_000_000,
        })
        const adapter = yield* GenericAdapter.make({
          lifecycle: dealer,
          stateMap,
          baseUrl: fake.url,
          apiKey: Redacted.make(API_KEY),
          chatbotId: "bot_1",
          retry: { ...RetryPolicy.none, requestTimeoutMs: 5_000 },
        }).pipe(Effect.provide(FetchHttpClient.layer))
        // While the vendor is "down", every state write fails and waits in the outbox.
        const down: CrmAdapter.CrmAdapterService = {
          ...adapter,
          send: (intent, ref) =>
            intent._tag === "SetState"
              ? Effect.fail(
                  new CrmError.CrmError({
                    vendor: "generic",
                    operation: "SetState",
                    leadId: intent.leadId,
                    reason: { _tag: "VendorUnavailable", status: 503, detail: "down" },
                  }),
                )
              : adapter.send(intent, ref),
        }
        const engineOver = (crm: CrmAdapter.CrmAdapterService, store: LeadStore.LeadStoreService) =>
          LeadEngine.make(dealer, {
            redelivery: { ...RetryPolicy.defaults, maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 1, jitter: 0 },
            batchSize: 7,
          }).pipe(
            Effect.provideService(CrmAdapterTag.CrmAdapter, crm),
            Effect.provideService(LeadStore.LeadStore, store),
          )
        const writer = yield* engineOver(down, yield* openStore)
        const leadIds = Array.from({ length: LEADS }, (_, i) => `W-${i}`)
        for (const [i, leadId] of leadIds.entries()) {
          yield* writer.create(leadId, { metadata: { name: `Lead ${i}`, email: `w${i}@example.org` } })
          for (const event of journey) assert.strictEqual((yield* writer.apply(leadId, event))._tag, "Queued")
        }
        assert.strictEqual(fake.requests().filter((r) => r.method === "PUT").length, 0)

        const [first, second] = [
          yield* engineOver(adapter, yield* openStore),
          yield* engineOver(adapter, yield* openStore),
        ]
        yield* Effect.sleep("5 millis")
        const drain = (engine: LeadEngine.LeadEngineService) =>
          Effect.gen(function* () {
            let confirmed = 0
            for (let idle = 0; idle < 3; ) {
              const report = yield* engine.dispatchDue
              confirmed += report.confirmed
              idle = report.confirmed === 0 ? idle + 1 : 0
              yield* Effect.sleep("2 millis")
            }
            return confirmed
          })
        const [byFirst, bySecond] = yield* Effect.all([drain(first), drain(second)], { concurrency: 2 })
        assert.strictEqual(byFirst + bySecond, LEADS * journey.length, "every write confirmed once")
        assert.isAbove(byFirst, 0, "the first worker took part")
        assert.isAbove(bySecond, 0, "the second worker took part")

        const puts = fake.requests().filter((r) => r.method === "PUT")
        assert.strictEqual(puts.length, LEADS * journey.length, "no write sent twice")
        const store = yield* openStore
        for (const leadId of leadIds) {
          const lead = yield* store.load(leadId)
          const vendorLeadId = lead._tag === "Some" ? lead.value.vendorLeadId : undefined
          const statuses = puts
            .filter((r) => r.path.endsWith(`/${vendorLeadId}`))
            // The exact lifecycle state rides along in metadata.leadstate (statuses are shared).
            .map((r) => (r.body as { metadata?: { leadstate?: { state?: string } } }).metadata?.leadstate?.state)
          assert.deepStrictEqual(
            statuses,
            ["contacted", "interested", "test_drive_booked"],
            `${leadId}'s writes in order`,
          )
          assert.strictEqual(fake.lead(vendorLeadId ?? "")?.status, "qualified")
        }
      }),
    60_000,
  )
})
