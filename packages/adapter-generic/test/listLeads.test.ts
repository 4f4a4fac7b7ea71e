import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { GenericAdapter } from "@leadstate/adapter-generic"
import { startFakeGenericServer } from "@leadstate/adapter-generic/testing"
import { StateMap } from "@leadstate/core"
import { Chunk, Effect, Either, FastCheck as fc, Redacted, Stream } from "effect"
import { API_KEY, dealer, dealerMap } from "./fixtures.js"

const statuses = GenericAdapter.defaultStatuses

const setup = Effect.gen(function* () {
  const fake = yield* startFakeGenericServer({ apiKey: API_KEY })
  const crm = yield* GenericAdapter.make({
    lifecycle: dealer,
    stateMap: dealerMap,
    baseUrl: fake.url,
    apiKey: Redacted.make(API_KEY),
  }).pipe(Effect.provide(FetchHttpClient.layer))
  const listLeads = crm.listLeads
  if (listLeads === undefined) return yield* Effect.dieMessage("the generic adapter declares listLeads")
  const leads = ["a", "b", "c", "d", "e"].map((n) => fake.putLead({ name: n, email: `${n}@example.org` }))
  return { fake, listLeads, ids: leads.map((lead) => lead.id) }
})

/** A list answer as the vendor documents it (page 1 of `total` leads, `limit` 2). */
const pageBody = (leads: ReadonlyArray<unknown>, hasNext: boolean, total: number) =>
  JSON.stringify({
    success: true,
    data: {
      leads,
      pagination: { page: 1, limit: 2, total, totalPages: Math.ceil(total / 2), hasNext, hasPrev: false },
    },
  })

describe("generic listLeads", () => {
  it.scopedLive("a lead met again on a later page (the list shifted while walked) is listed once", () =>
    Effect.gen(function* () {
      const { fake, listLeads, ids } = yield* setup
      // Page 1 is read as [b, c], as if lead a was listed ahead of them only after it was read;
      // the real page 2 is then [c, d]: c comes twice.
      const [, b, c] = ids.map((id) => fake.lead(id))
      fake.inject({ fault: { _tag: "Malformed", body: pageBody([b, c], true, 5) }, method: "GET", times: 1 })
      const listed = yield* Stream.runCollect(listLeads({ pageSize: 2 }))
      assert.deepStrictEqual(
        Chunk.toReadonlyArray(listed).map((lead) => lead.vendorLeadId),
        ids.slice(1),
      )
    }),
  )

  it.scopedLive("an empty page that says more follow ends the walk", () =>
    Effect.gen(function* () {
      const { fake, listLeads } = yield* setup
      fake.inject({ fault: { _tag: "Malformed", body: pageBody([], true, 5) }, method: "GET", times: 1 })
      const listed = yield* Stream.runCollect(listLeads({ pageSize: 2 }))
      assert.strictEqual(Chunk.size(listed), 0)
      assert.strictEqual(fake.requests().length, 1)
    }),
  )

  it.scopedLive("a list item without its status or metadata is read in full", () =>
    Effect.gen(function* () {
      const { fake, listLeads, ids } = yield* setup
      const [a, b] = ids.map((id) => fake.lead(id))
      // The docs say list items may omit fields: a comes without status, b without metadata.
      const items = [
        { id: a?.id, name: a?.name, email: a?.email, metadata: a?.metadata },
        { id: b?.id, name: b?.name, email: b?.email, status: b?.status },
      ]
      fake.inject({ fault: { _tag: "Malformed", body: pageBody(items, false, 2) }, method: "GET", times: 1 })
      const listed = Chunk.toReadonlyArray(yield* Stream.runCollect(listLeads({ pageSize: 2 })))
      assert.deepStrictEqual(
        listed.map((lead) => [lead.vendorLeadId, lead.vendorState, lead.state]),
        [
          [a?.id, "new", "new"],
          [b?.id, "new", "new"],
        ],
      )
      assert.deepStrictEqual(
        fake.requests().map((r) => r.path),
        ["/api/v1/leads", `/api/v1/leads/${a?.id}`, `/api/v1/leads/${b?.id}`],
      )
    }),
  )

  it.scopedLive("walks the pages: for any number of leads and page size, each lead once, in the vendor's order", () =>
    Effect.gen(function* () {
      const fake = yield* startFakeGenericServer({ apiKey: API_KEY })
      const crm = yield* GenericAdapter.make({
        lifecycle: dealer,
        stateMap: dealerMap,
        baseUrl: fake.url,
        apiKey: Redacted.make(API_KEY),
      }).pipe(Effect.provide(FetchHttpClient.layer))
      const map = Either.getOrThrow(StateMap.make(dealer, dealerMap, { vendor: "generic", inbound: false }))
      const listLeads = crm.listLeads
      assert.isDefined(listLeads)
      if (listLeads === undefined) return
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(
            fc.array(fc.constantFrom(...statuses), { maxLength: 23 }),
            fc.integer({ min: 1, max: 8 }),
            async (leadStatuses, pageSize) => {
              fake.reset()
              for (const [i, status] of leadStatuses.entries()) {
                fake.putLead({ name: `Lead ${i}`, email: `l${i}@example.org`, status })
              }
              const listed = Chunk.toReadonlyArray(await Effect.runPromise(Stream.runCollect(listLeads({ pageSize }))))
              // The fake lists oldest first (the vendor documents no order): its store order.
              const vendorOrder = fake.leads()
              assert.deepStrictEqual(
                listed.map((lead) => lead.vendorLeadId),
                vendorOrder.map((lead) => lead.id),
              )
              listed.forEach((lead, i) => {
                assert.strictEqual(lead.vendorState, vendorOrder[i]?.status)
                assert.strictEqual(lead.state, map.fromVendor(lead.vendorState))
              })
              const pages = fake.requests().filter((r) => r.method === "GET")
              assert.strictEqual(pages.length, Math.max(1, Math.ceil(leadStatuses.length / pageSize)))
              assert.isTrue(pages.every((r) => r.query.limit === String(pageSize)))
            },
          ),
          { numRuns: 15 },
        ),
      )
    }),
  )
})
