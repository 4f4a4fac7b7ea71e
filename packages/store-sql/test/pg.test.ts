import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import { assert, describe, it } from "@effect/vitest"
import { type LeadSnapshot, LeadStore } from "@leadstate/core"
import * as PgLeadStore from "@leadstate/store-sql/pg"
import { freshDatabase } from "@leadstate/testkit/postgres"
import { storeModelSuite } from "@leadstate/testkit/storeModel"
import { storeSuite } from "@leadstate/testkit/storeSuite"
import { Context, Effect, Either, Layer, Option, Redacted, Ref } from "effect"
import { inject } from "vitest"

const adminUrl = inject("pgUrl")

/** A store on a fresh database, per layer build. */
const freshLayer = Layer.unwrapScoped(
  Effect.map(freshDatabase(adminUrl), (url) => PgLeadStore.layer({ url: Redacted.make(url) })),
)

storeSuite("postgres", freshLayer)

const snapshot = (leadId: string, version: number, state = "new"): LeadSnapshot.LeadSnapshot => ({
  schemaVersion: 2,
  leadId,
  state,
  enteredAt: 0,
  updatedAt: 0,
  version,
  metadata: {},
  recent: [],
})

const pending = (leadId: string, version: number, index: number): LeadStore.OutboxEntry => ({
  id: LeadStore.entryId(leadId, version, index),
  leadId,
  intent: { _tag: "SetState", leadId, from: "new", to: "contacted", at: 1 },
  status: "pending",
  attempts: 0,
  availableAt: 0,
})

/** Two stores on one fresh database, each with its own pool (as two processes would). */
const twoStores = Effect.gen(function* () {
  const url = Redacted.make(yield* freshDatabase(adminUrl))
  const build = (layer: Layer.Layer<LeadStore.LeadStore, LeadStore.StoreError>) =>
    Effect.map(Layer.build(layer), (context) => Context.get(context, LeadStore.LeadStore))
  // Built together: their migrations race on the new database, as workers starting at once would.
  return yield* Effect.all(
    [build(PgLeadStore.layer({ url, maxConnections: 8 })), build(PgLeadStore.layer({ url, maxConnections: 8 }))],
    { concurrency: 2 },
  )
})

describe("PgLeadStore", () => {
  it.scopedLive(
    "two pools claiming concurrently never hand out an entry twice, and each lead's entries go in order",
    () =>
      Effect.gen(function* () {
        const [a, b] = yield* twoStores
        const leads = Array.from({ length: 50 }, (_, i) => `L${i}`)
        // 200 entries over 50 leads, 4 per lead, saved in two versions per lead.
        yield* Effect.forEach(
          leads,
          (lead) =>
            Effect.gen(function* () {
              yield* a.save(snapshot(lead, 0), undefined, [pending(lead, 0, 0), pending(lead, 0, 1)])
              yield* b.save(snapshot(lead, 1), 0, [pending(lead, 1, 0), pending(lead, 1, 1)])
            }),
          { concurrency: 10 },
        )
        const claims = yield* Ref.make<ReadonlyArray<string>>([])
        const settled = yield* Ref.make(0)
        // A long lease: an entry handed out twice is a bug, not an expired lease.
        const worker = (store: LeadStore.LeadStoreService) =>
          Effect.gen(function* () {
            while ((yield* Ref.get(settled)) < 200) {
              const batch = yield* store.claim(1_000, 7, 1_000_000)
              yield* Ref.update(claims, (all) => [...all, ...batch.map((e) => e.id)])
              for (const entry of batch) {
                yield* store.updateOutbox({ ...entry, status: "confirmed", attempts: 1 })
                yield* Ref.update(settled, (n) => n + 1)
              }
              if (batch.length === 0) yield* Effect.sleep("2 millis")
            }
          })
        yield* Effect.all(
          Array.from({ length: 16 }, (_, i) => worker(i % 2 === 0 ? a : b)),
          { concurrency: "unbounded" },
        ).pipe(Effect.timeout("60 seconds"))
        const claimed = yield* Ref.get(claims)
        assert.strictEqual(claimed.length, 200, "each entry is claimed exactly once")
        assert.strictEqual(new Set(claimed).size, 200)
        for (const lead of leads) {
          const order = claimed.filter((id) => id.startsWith(`${lead}/`))
          assert.deepStrictEqual(order, [`${lead}/0/0`, `${lead}/0/1`, `${lead}/1/0`, `${lead}/1/1`])
        }
        assert.deepStrictEqual(yield* a.claim(2_000_000, 10, 10), [])
      }),
    { timeout: 90_000 },
  )

  it.scopedLive("concurrent saves from two pools: exactly one wins, the others get VersionConflict", () =>
    Effect.gen(function* () {
      const [a, b] = yield* twoStores
      const creates = yield* Effect.all(
        Array.from({ length: 10 }, (_, i) =>
          Effect.either((i % 2 === 0 ? a : b).save(snapshot("A", 0, `s${i}`), undefined, [pending("A", 0, i)])),
        ),
        { concurrency: "unbounded" },
      )
      assert.strictEqual(creates.filter(Either.isRight).length, 1)
      for (const lost of creates.filter(Either.isLeft)) {
        assert.deepInclude(lost.left, { _tag: "VersionConflict", leadId: "A", expected: undefined, actual: 0 })
      }
      const updates = yield* Effect.all(
        Array.from({ length: 10 }, (_, i) =>
          Effect.either((i % 2 === 0 ? a : b).save(snapshot("A", 1, `u${i}`), 0, [pending("A", 1, i)])),
        ),
        { concurrency: "unbounded" },
      )
      const won = updates.findIndex(Either.isRight)
      assert.strictEqual(updates.filter(Either.isRight).length, 1)
      for (const lost of updates.filter(Either.isLeft)) {
        assert.deepInclude(lost.left, { _tag: "VersionConflict", leadId: "A", expected: 0, actual: 1 })
      }
      const stored = Option.getOrUndefined(yield* b.load("A"))
      assert.strictEqual(stored?.snapshot.state, `u${won}`)
      // Only the winners' outbox entries were written.
      assert.strictEqual((yield* a.outbox("A")).length, 2)
      assert.strictEqual((yield* a.outbox("A"))[1]?.id, `A/1/${won}`)
    }),
  )

  it.scopedLive("epoch ms beyond 32 bits and JSON round-trip through BIGINT and jsonb", () =>
    Effect.gen(function* () {
      const [store] = yield* twoStores
      const at = 1_750_000_000_123
      const lead = { ...snapshot("A", 0), due: { event: "wake" as const, at }, metadata: { n: 0.1, s: 'é\n"' } }
      const entry = {
        ...pending("A", 0, 0),
        availableAt: at,
        failure: { reason: "Transport" as const, message: "reset" },
        correlationId: "c",
      }
      yield* store.save(lead, undefined, [entry])
      assert.deepStrictEqual(Option.getOrUndefined(yield* store.load("A"))?.snapshot, lead)
      assert.deepStrictEqual(yield* store.outbox("A"), [entry])
      assert.deepStrictEqual(yield* store.dueLeads(at - 1, 10), [])
      assert.deepStrictEqual(yield* store.dueLeads(at, 10), ["A"])
      assert.deepStrictEqual(yield* store.claim(at, 10, 5), [{ ...entry, availableAt: at + 5 }])
    }),
  )

  it.scopedLive("make works over an existing PgClient; a corrupt row is a StoreError naming the entry", () =>
    Effect.gen(function* () {
      const url = yield* freshDatabase(adminUrl)
      yield* Effect.gen(function* () {
        const store = yield* PgLeadStore.make()
        const sql = yield* SqlClient.SqlClient
        yield* store.save(snapshot("A", 0), undefined, [pending("A", 0, 0)])
        yield* sql`UPDATE leadstate_outbox SET intent = '{"_tag":"Nope"}'::jsonb WHERE id = 'A/0/0'`
        yield* sql`UPDATE leadstate_leads SET snapshot = '{"schemaVersion":2}'::jsonb WHERE lead_id = 'A'`
        const outbox = yield* Effect.flip(store.outbox("A"))
        assert.include(outbox.message, `outbox entry "A/0/0" is corrupt`)
        const load = yield* Effect.flip(store.load("A"))
        assert.include(load.message, `lead "A" has a corrupt snapshot`)
      }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(url) })))
    }),
  )

  it.effect('a refused connection is a StoreError of operation "connect" (the scrubbing is tested below)', () =>
    Effect.gen(function* () {
      const password = "pa ss/w0rd-secret"
      const url = `postgres://leaduser:${encodeURIComponent(password)}@127.0.0.1:1/leads`
      const error = yield* Effect.flip(
        Effect.provide(
          LeadStore.LeadStore,
          PgLeadStore.layer({ url: Redacted.make(url), connectTimeout: "2 seconds" }),
        ),
      )
      assert.strictEqual(error._tag, "StoreError")
      assert.strictEqual(error.operation, "connect")
      for (const secret of [url, password, encodeURIComponent(password)]) assert.notInclude(error.message, secret)
    }),
  )

  it.effect("a server error that echoes the password (here: as the database name) is scrubbed", () =>
    Effect.gen(function* () {
      const secret = "s3cret_pw_4f9a"
      const server = new URL(adminUrl)
      server.password = secret
      server.pathname = `/${secret}`
      const error = yield* Effect.flip(
        Effect.provide(LeadStore.LeadStore, PgLeadStore.layer({ url: Redacted.make(server.toString()) })),
      )
      assert.strictEqual(error._tag, "StoreError")
      assert.include(error.message, "does not exist", "the server's own words are kept")
      assert.notInclude(error.message, secret)
    }),
  )
})

/** The model property: each generated case on a fresh database. */
storeModelSuite(
  "postgres",
  Effect.flatMap(Effect.orDie(freshDatabase(adminUrl)), (url) =>
    Effect.map(Layer.build(PgLeadStore.layer({ url: Redacted.make(url) })), (context) =>
      Context.get(context, LeadStore.LeadStore),
    ),
  ),
  { numRuns: 20 },
)
