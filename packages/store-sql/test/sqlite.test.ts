import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { assert, describe, it } from "@effect/vitest"
import { type LeadSnapshot, LeadStore } from "@leadstate/core"
import { Migrations, StoreTables } from "@leadstate/store-sql"
import * as SqliteLeadStore from "@leadstate/store-sql/sqlite"
import { storeModelSuite } from "@leadstate/testkit/storeModel"
import { storeSuite } from "@leadstate/testkit/storeSuite"
import { Cause, Context, Effect, Either, ExecutionStrategy, Exit, Layer, Option, Redacted, Scope } from "effect"

/** A temporary directory, removed with the scope. */
const tempDir = Effect.acquireRelease(
  Effect.promise(() => mkdtemp(join(tmpdir(), "leadstate-sqlite-"))),
  (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true })),
)

/** A store on a new file in a new temporary directory, per layer build. */
const fileLayer = Layer.unwrapScoped(
  Effect.map(tempDir, (dir) => SqliteLeadStore.layer({ filename: join(dir, "leads.db") })),
)

storeSuite("sqlite :memory:", SqliteLeadStore.layer({ filename: ":memory:" }))
storeSuite("sqlite file", fileLayer)

const snapshot = (leadId: string, version: number): LeadSnapshot.LeadSnapshot => ({
  schemaVersion: 2,
  leadId,
  state: "new",
  enteredAt: 0,
  updatedAt: 0,
  version,
  metadata: {},
  recent: [],
})

const pending = (leadId: string, version: number, index: number, availableAt = 0): LeadStore.OutboxEntry => ({
  id: LeadStore.entryId(leadId, version, index),
  leadId,
  intent: { _tag: "CreateLead", leadId, state: "new", metadata: { name: "Ann" }, at: 1 },
  status: "pending",
  attempts: 0,
  availableAt,
})

const withStore = <A, E>(
  layer: Layer.Layer<LeadStore.LeadStore, LeadStore.StoreError>,
  f: (store: LeadStore.LeadStoreService) => Effect.Effect<A, E>,
) => Effect.flatMap(LeadStore.LeadStore, f).pipe(Effect.provide(layer))

/** A store and a raw client on one in-memory database, through `SqliteLeadStore.make`. */
const withStoreAndClient = <A, E>(
  f: (store: LeadStore.LeadStoreService, sql: SqlClient.SqlClient) => Effect.Effect<A, E, SqlClient.SqlClient>,
) =>
  Effect.gen(function* () {
    const store = yield* SqliteLeadStore.make()
    const sql = yield* SqlClient.SqlClient
    return yield* f(store, sql)
  }).pipe(Effect.provide(SqliteClient.layer({ filename: ":memory:" })))

describe("SqliteLeadStore", () => {
  it.scoped("data survives closing and reopening the file: a pending entry is claimed after a restart", () =>
    Effect.gen(function* () {
      const layer = SqliteLeadStore.layer({ filename: join(yield* tempDir, "leads.db") })
      yield* withStore(layer, (store) =>
        Effect.gen(function* () {
          yield* store.save(snapshot("A", 0), undefined, [pending("A", 0, 0)])
          yield* store.setVendorLeadId("A", "v-A")
          assert.isTrue(yield* store.rememberEvent("evt-1"))
        }),
      )
      yield* withStore(layer, (store) =>
        Effect.gen(function* () {
          assert.deepStrictEqual(Option.getOrUndefined(yield* store.load("A")), {
            snapshot: snapshot("A", 0),
            vendorLeadId: "v-A",
          })
          assert.deepStrictEqual(yield* store.claim(10, 10, 100), [{ ...pending("A", 0, 0), availableAt: 110 }])
          assert.isFalse(yield* store.rememberEvent("evt-1"))
        }),
      )
    }),
  )

  it.effect("migrations run twice are harmless; the second applies nothing", () =>
    withStoreAndClient((store) =>
      Effect.gen(function* () {
        yield* store.save(snapshot("A", 0), undefined, [pending("A", 0, 0)])
        assert.deepStrictEqual(yield* Migrations.run(), [])
        assert.deepStrictEqual(yield* Migrations.run(), [])
        assert.strictEqual((yield* store.outbox("A")).length, 1)
        assert.isTrue(Option.isSome(yield* store.load("A")))
      }),
    ),
  )

  it.effect("migrations apply once per table prefix; stores with different prefixes are separate", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(yield* Migrations.run({ tablePrefix: "one_" }), [
        [1, "create_tables"],
        [2, "unsettled_lead_index"],
        [3, "history_log"],
      ])
      assert.deepStrictEqual(yield* Migrations.run({ tablePrefix: "one_" }), [])
      const one = yield* SqliteLeadStore.make({ tablePrefix: "one_" })
      const two = yield* SqliteLeadStore.make({ tablePrefix: "two_" })
      yield* one.save(snapshot("A", 0), undefined, [])
      assert.isTrue(Option.isNone(yield* two.load("A")))
      const bad = yield* Effect.either(SqliteLeadStore.make({ tablePrefix: "x; DROP TABLE y" }))
      assert.isTrue(Either.isLeft(bad) && bad.left._tag === "StoreError" && bad.left.operation === "configure")
    }).pipe(Effect.provide(SqliteClient.layer({ filename: ":memory:" }))),
  )

  it.effect("a database of the first release is upgraded in place: the index on unsettled entries is added", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const tables = yield* StoreTables.fromPrefix()
      const first = { "1_create_tables": Migrations.forTables(tables)["1_create_tables"] ?? Effect.void }
      yield* Migrator.make({})({ loader: Migrator.fromRecord(first), table: tables.migrations })
      const indexes = sql`SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'leadstate_outbox_lead_unsettled'`
      assert.deepStrictEqual(yield* indexes, [])
      const v1 = { schemaVersion: 1, leadId: "A", state: "new", enteredAt: 0, updatedAt: 0, version: 0 }
      yield* sql`INSERT INTO leadstate_leads (lead_id, version, snapshot) VALUES ('A', 0, ${JSON.stringify(v1)})`
      yield* sql`INSERT INTO leadstate_outbox (id, lead_id, intent, status, attempts, available_at)
        VALUES ('A/0/0', 'A', '{}', 'pending', 0, 0)`
      assert.deepStrictEqual(yield* Migrations.run(), [
        [2, "unsettled_lead_index"],
        [3, "history_log"],
      ])
      assert.deepStrictEqual(yield* indexes, [{ name: "leadstate_outbox_lead_unsettled" }])
      const [row] = yield* sql`SELECT count(*) AS n FROM leadstate_outbox INDEXED BY leadstate_outbox_lead_unsettled
        WHERE lead_id = 'A' AND status IN ('pending', 'accepted')`
      assert.strictEqual(row?.n, 1, "the rows written before the upgrade are in the index")
    }).pipe(Effect.provide(SqliteClient.layer({ filename: ":memory:" }))),
  )

  it.effect("a corrupt snapshot or outbox row is a StoreError naming the lead or entry, not a defect", () =>
    withStoreAndClient((store, sql) =>
      Effect.gen(function* () {
        yield* store.save(snapshot("A", 0), undefined, [pending("A", 0, 0)])
        yield* store.save(snapshot("B", 0), undefined, [])
        yield* sql`UPDATE leadstate_leads SET snapshot = 'not json' WHERE lead_id = 'A'`
        yield* sql`UPDATE leadstate_leads SET snapshot = '{"schemaVersion":1,"leadId":"B"}' WHERE lead_id = 'B'`
        yield* sql`UPDATE leadstate_outbox SET intent = '{"_tag":"Nope"}' WHERE id = 'A/0/0'`
        const load = yield* Effect.flip(store.load("A"))
        assert.strictEqual(load._tag, "StoreError")
        assert.strictEqual(load.operation, "load")
        assert.include(load.message, `lead "A"`)
        const shape = yield* Effect.flip(store.load("B"))
        assert.include(shape.message, `lead "B" has a corrupt snapshot`)
        const outbox = yield* Effect.flip(store.outbox("A"))
        assert.include(outbox.message, `outbox entry "A/0/0" is corrupt`)
      }),
    ),
  )

  it.effect("claim skips (and keeps leased) a row it cannot decode; other leads are still delivered", () =>
    withStoreAndClient((store, sql) =>
      Effect.gen(function* () {
        yield* store.save(snapshot("A", 0), undefined, [pending("A", 0, 0)])
        yield* store.save(snapshot("A", 1), 0, [pending("A", 1, 0)])
        yield* store.save(snapshot("B", 0), undefined, [pending("B", 0, 0)])
        yield* sql`UPDATE leadstate_outbox SET intent = '{"_tag":"FromANewerRelease"}' WHERE id = 'A/0/0'`
        assert.deepStrictEqual(
          (yield* store.claim(0, 10, 100)).map((e) => e.id),
          ["B/0/0"],
          "A's later entry waits behind the bad one",
        )
        const [row] = yield* sql`SELECT available_at FROM leadstate_outbox WHERE id = 'A/0/0'`
        assert.strictEqual(Number(row?.available_at), 100, "the bad row is leased, not claimed again at once")
        assert.deepStrictEqual(yield* store.claim(50, 10, 100), [])
      }),
    ),
  )

  it.effect("save rejects a duplicate or foreign outbox entry and then writes nothing", () =>
    withStoreAndClient((store) =>
      Effect.gen(function* () {
        yield* store.save(snapshot("A", 0), undefined, [pending("A", 0, 0)])
        const duplicate = yield* Effect.flip(store.save(snapshot("A", 1), 0, [pending("A", 1, 0), pending("A", 0, 0)]))
        assert.include(duplicate.message, `outbox entry "A/0/0" exists`)
        const twice = yield* Effect.flip(store.save(snapshot("A", 1), 0, [pending("A", 1, 0), pending("A", 1, 0)]))
        assert.include(twice.message, `outbox entry "A/1/0" exists`)
        const foreign = yield* Effect.flip(store.save(snapshot("A", 1), 0, [pending("B", 1, 0)]))
        assert.include(foreign.message, `belongs to lead "B"`)
        assert.strictEqual(Option.getOrUndefined(yield* store.load("A"))?.snapshot.version, 0)
        assert.deepStrictEqual(
          (yield* store.outbox("A")).map((e) => e.id),
          ["A/0/0"],
        )
        const missing = yield* Effect.flip(store.setVendorLeadId("Z", "v"))
        assert.include(missing.message, `no lead "Z"`)
      }),
    ),
  )

  // Regression: @effect/sql turns a failed COMMIT into a defect and leaves SQLite's transaction
  // open (SQLITE_BUSY keeps it active), so later statements ran inside it and were lost.
  it.scoped("a COMMIT refused by another connection's lock is a StoreError and leaves no transaction open", () =>
    Effect.gen(function* () {
      const filename = join(yield* tempDir, "leads.db")
      const client = (scope: Scope.Scope) =>
        Effect.map(Layer.buildWithScope(SqliteClient.layer({ filename, disableWAL: true }), scope), (context) =>
          Context.get(context, SqliteClient.SqliteClient),
        )
      const scope = yield* Effect.scope
      const mine = yield* client(scope)
      yield* mine`PRAGMA busy_timeout = 100`
      const store = yield* SqliteLeadStore.make().pipe(Effect.provideService(SqliteClient.SqliteClient, mine))
      yield* store.save(snapshot("A", 0), undefined, [])
      // Another connection reads in a transaction: it holds a SHARED lock, so COMMIT cannot write.
      const readerScope = yield* Scope.fork(scope, ExecutionStrategy.sequential)
      const reader = yield* Effect.flatMap(client(readerScope), (other) => Scope.extend(other.reserve, readerScope))
      yield* reader.executeRaw("BEGIN", [])
      yield* reader.executeRaw("SELECT count(*) FROM leadstate_leads", [])

      const exit = yield* Effect.exit(store.save(snapshot("A", 1), 0, [pending("A", 1, 0)]))
      assert.isTrue(Exit.isFailure(exit) && Option.isNone(Cause.dieOption(exit.cause)), `not a defect: ${exit}`)
      const error = yield* Effect.flip(exit)
      assert.strictEqual(error._tag, "StoreError")
      assert.include(error.message, "Lead store save failed")
      assert.strictEqual(Option.getOrUndefined(yield* store.load("A"))?.snapshot.version, 0, "nothing was written")

      yield* reader.executeRaw("ROLLBACK", [])
      yield* Scope.close(readerScope, Exit.void)
      // No transaction was left open: these commit, and another connection sees them.
      yield* store.save(snapshot("A", 1), 0, [pending("A", 1, 0)])
      assert.isTrue(yield* store.rememberEvent("evt-1"))
      const other = yield* client(scope)
      const rows = yield* other`SELECT (SELECT version FROM leadstate_leads WHERE lead_id = 'A') AS version,
        (SELECT count(*) FROM leadstate_events) AS events`
      assert.deepStrictEqual(rows, [{ version: 1, events: 1 }])
    }),
  )

  it.effect("store errors never contain a redacted secret", () =>
    Effect.gen(function* () {
      const secret = "hunter2-s3cret"
      const layer = SqliteLeadStore.layer({
        filename: `/nonexistent-${secret}/leads.db`,
        redact: [Redacted.make(secret)],
      })
      const error = yield* Effect.flip(withStore(layer, () => Effect.void))
      assert.strictEqual(error.operation, "open")
      assert.notInclude(error.message, secret)
      assert.include(error.message, "<redacted>")
    }),
  )
})

storeModelSuite(
  "sqlite :memory:",
  Effect.map(Layer.build(SqliteLeadStore.layer({ filename: ":memory:" })), (context) =>
    Context.get(context, LeadStore.LeadStore),
  ),
  { numRuns: 300 },
)
