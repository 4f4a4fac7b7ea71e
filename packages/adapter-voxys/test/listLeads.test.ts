import { assert, describe, it } from "@effect/vitest"
import { startFakeVoxysServer } from "@leadstate/adapter-voxys/testing"
import { Chunk, Effect, FastCheck as fc, Stream } from "effect"
import { ACCOUNT, adapterFor, TOKEN } from "./fixtures.js"

describe("voxys listLeads", () => {
  it.scopedLive(
    "walks the pages: for any leads and page size, each lead once, oldest first (created_at, then id)",
    () =>
      Effect.gen(function* () {
        const fake = yield* startFakeVoxysServer({ apiAccessToken: TOKEN, accountId: ACCOUNT })
        const crm = yield* adapterFor(fake.url)
        const listLeads = crm.listLeads
        assert.isDefined(listLeads)
        if (listLeads === undefined) return
        const base = Date.parse("2026-01-01T00:00:00.000Z")
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(
              // Creation times with ties (a few distinct seconds), so the id breaks them.
              fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 23 }),
              fc.integer({ min: 1, max: 8 }),
              async (seconds, pageSize) => {
                fake.reset()
                for (const s of seconds) fake.putLead({ created_at: new Date(base + s * 1000).toISOString() })
                const listed = Chunk.toReadonlyArray(
                  await Effect.runPromise(Stream.runCollect(listLeads({ pageSize }))),
                )
                const expected = [...fake.leads()]
                  .sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || a.id - b.id)
                  .map((lead) => String(lead.id))
                assert.deepStrictEqual(
                  listed.map((lead) => lead.vendorLeadId),
                  expected,
                )
                const pages = fake.requests()
                assert.strictEqual(pages.length, Math.max(1, Math.ceil(seconds.length / pageSize)))
                assert.isTrue(pages.every((r) => r.query.per_page === String(pageSize)))
              },
            ),
            { numRuns: 15 },
          ),
        )
      }),
  )
})
