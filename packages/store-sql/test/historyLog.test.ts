/**
 * Migration 3 and the archive of settled outbox entries, on SQLite and PostgreSQL: a database
 * of schema 2 (version 1 snapshots with their history embedded, settled rows in the outbox) is
 * upgraded in place; a snapshot that does not decode stops the upgrade, naming the lead, and
 * leaves the database as it was; and `updateOutbox` moves an entry between the outbox and the
 * archive as it settles or is reopened, keeping its `seq`.
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { assert, describe, it } from "@effect/vitest"
import { LeadSnapshot, LeadStore } from "@leadstate/core"
import { Migrations, SqlLeadStore, StoreTables } from "@leadstate/store-sql"
import { freshDatabase } from "@leadstate/testkit/postgres"
import { Effect, Layer, Option, Redacted } from "effect"
import { inject } from "vitest"

const adminUrl = inject("pgUrl")

/** A client on a new, empty database per test. */
const dialects: ReadonlyArray<readonly [name: string, client: Layer.Layer<SqlClient.SqlClient, unknown>]> = [
  ["SQLite", SqliteClient.layer({ filename: ":memory:" })],
  [
    "PostgreSQL",
    Layer.unwrapScoped(Effect.map(freshDatabase(adminUrl), (url) => PgClient.layer({ url: Redacted.make(url) }))),
  ],
]

/** Creates the tables of schema 2: migrations 1 and 2 only, as the previous release left them. */
const schema2 = Effect.gen(function* () {
  const tables = yield* StoreTables.fromPrefix()
  const released = Object.fromEntries(
    Object.entries(Migrations.forTables(tables)).filter(([key]) => key.startsWith("1_") || key.startsWith("2_")),
  )
  const applied = yield* Migrator.make({})({ loader: Migrator.fromRecord(released), table: tables.migrations })
  assert.deepStrictEqual(applied, [
    [1, "create_tables"],
    [2, "unsettled_lead_index"],
  ])
})

const states = ["new", "contacted", "qualified"] as const

/** `n` history entries (a start, then moves; every third with the optional fields). */
const historyOf = (n: number): ReadonlyArray<LeadSnapshot.HistoryEntry> =>
  Array.from({ length: n }, (_, i) =>
    i === 0
      ? { event: "start", from: "new", to: "new", at: 0 }
      : {
          event: "transition",
          from: states[(i - 1) % 3] ?? "new",
          to: states[i % 3] ?? "new",
          at: i * 1_000,
          ...(i % 3 === 0 ? { disposition: "busy", note: `call ${i}`, actor: "agent-7" } : {}),
        },
  )

/** A version 1 snapshot (as the previous release wrote it) with `history` embedded. */
const v1Snapshot = (leadId: string, history: ReadonlyArray<LeadSnapshot.HistoryEntry>) => {
  const last = history[history.length - 1]
  const before = history[history.length - 2]
  return {
    schemaVersion: 1,
    leadId,
    state: last?.to ?? "new",
    ...(before === undefined ? {} : { previousState: before.to }),
    enteredAt: last?.at ?? 0,
    updatedAt: last?.at ?? 0,
    version: Math.max(0, history.length - 1),
    metadata: { name: leadId },
    ...(history.length === 0 ? {} : { history }),
  }
}

const leadRow = (snapshot: ReturnType<typeof v1Snapshot>, vendorLeadId: string | null = null) => ({
  lead_id: snapshot.leadId,
  version: snapshot.version,
  snapshot: JSON.stringify(snapshot),
  vendor_lead_id: vendorLeadId,
  due_at: null,
})

const entry = (
  leadId: string,
  version: number,
  status: LeadStore.OutboxStatus,
  extra: Partial<LeadStore.OutboxEntry> = {},
): LeadStore.OutboxEntry => ({
  id: LeadStore.entryId(leadId, version, 0),
  leadId,
  intent: { _tag: "SetState", leadId, from: "new", to: "contacted", at: version },
  status,
  attempts: 1,
  availableAt: 0,
  ...extra,
})

/** The outbox row of an entry, as the previous release wrote it. */
const outboxRow = (e: LeadStore.OutboxEntry) => ({
  id: e.id,
  lead_id: e.leadId,
  intent: JSON.stringify(e.intent),
  status: e.status,
  attempts: e.attempts,
  available_at: e.availableAt,
  correlation_id: e.correlationId ?? null,
  failure: e.failure === undefined ? null : JSON.stringify(e.failure),
})

/** A JSON column's value (SQLite: text; PostgreSQL: parsed jsonb). */
const json = (value: unknown): unknown => (typeof value === "string" ? JSON.parse(value) : value)

/** The ids (and `seq`, status) in one of the outbox tables, by `seq`. */
const rowsOf = (sql: SqlClient.SqlClient, table: "leadstate_outbox" | "leadstate_outbox_settled") =>
  Effect.map(sql`SELECT id, seq, status FROM ${sql(table)} ORDER BY seq`, (rows) =>
    rows.map((row) => ({ id: String(row.id), seq: Number(row.seq), status: String(row.status) })),
  )

const countOf = (sql: SqlClient.SqlClient, table: string) =>
  Effect.map(sql`SELECT count(*) AS n FROM ${sql(table)}`, (rows) => Number(rows[0]?.n))

/** Leads past two chunk boundaries of the migration (it reads 500 leads at a time). */
const BULK = 1_200

for (const [name, client] of dialects) {
  describe(`migration 3 and the outbox archive: ${name}`, () => {
    it.scopedLive(
      "a schema 2 database is upgraded: history to the log, snapshots to version 2, settled rows to the archive",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* schema2
          const a = v1Snapshot("A", historyOf(25))
          const b = v1Snapshot("B", historyOf(3))
          const c = v1Snapshot("C", [])
          const bulk = Array.from({ length: BULK }, (_, i) =>
            v1Snapshot(`bulk-${String(i).padStart(4, "0")}`, historyOf(2)),
          )
          const leadRows = [leadRow(a, "v-A"), leadRow(b), leadRow(c), ...bulk.map((s) => leadRow(s))]
          for (let i = 0; i < leadRows.length; i += 200) {
            yield* sql`INSERT INTO leadstate_leads ${sql.insert(leadRows.slice(i, i + 200))}`
          }
          const a1 = entry("A", 1, "confirmed", { correlationId: "c1" })
          const a2 = entry("A", 2, "failed", { failure: { reason: "Transport", message: "reset" } })
          const a3 = entry("A", 3, "accepted", { correlationId: "c3", availableAt: 50 })
          const a4 = entry("A", 4, "pending", { attempts: 0 })
          const b0 = entry("B", 0, "confirmed")
          yield* sql`INSERT INTO leadstate_outbox ${sql.insert([a1, a2, a3, a4, b0].map(outboxRow))}`

          assert.deepStrictEqual(yield* Migrations.run(), [[3, "history_log"]])
          const store = yield* SqlLeadStore.make()

          // The history log is each embedded history, with the snapshot's version.
          const logged = (s: ReturnType<typeof v1Snapshot>) =>
            historyOf(s.history?.length ?? 0).map((h) => ({ ...h, version: s.version }))
          assert.deepStrictEqual(yield* store.history("A"), logged(a))
          assert.strictEqual((yield* store.history("A")).length, 25)
          assert.deepStrictEqual(yield* store.history("B"), logged(b))
          assert.deepStrictEqual(yield* store.history("C"), [])
          for (const i of [0, 496, 497, 498, 996, 997, BULK - 1]) {
            const s = bulk[i] ?? a
            assert.deepStrictEqual(yield* store.history(s.leadId), logged(s), s.leadId)
          }
          assert.strictEqual(yield* countOf(sql, "leadstate_history"), 25 + 3 + BULK * 2)

          // Snapshots decode as version 2, with the last 10 entries as `recent`.
          const loadedA = Option.getOrThrow(yield* store.load("A"))
          assert.strictEqual(loadedA.vendorLeadId, "v-A")
          assert.strictEqual(loadedA.snapshot.schemaVersion, 2)
          assert.deepStrictEqual(loadedA.snapshot.recent, historyOf(25).slice(15))
          const expectedA = LeadSnapshot.decodeWithHistory(a)
          assert.deepStrictEqual(loadedA.snapshot, expectedA._tag === "Right" ? expectedA.right.snapshot : undefined)
          assert.deepStrictEqual(Option.getOrThrow(yield* store.load("B")).snapshot.recent, historyOf(3))
          assert.deepStrictEqual(Option.getOrThrow(yield* store.load("C")).snapshot.recent, [])
          // Every row was rewritten: version 2 JSON, without the embedded history.
          const stored = (yield* sql`SELECT snapshot FROM leadstate_leads`).map((row) => json(row.snapshot))
          assert.strictEqual(stored.length, BULK + 3)
          for (const s of stored) {
            assert.isTrue(
              typeof s === "object" && s !== null && Reflect.get(s, "schemaVersion") === 2,
              JSON.stringify(s),
            )
            assert.isFalse(typeof s === "object" && s !== null && "history" in s, JSON.stringify(s))
          }

          // Settled rows are in the archive, with their seq; the store still returns them.
          const row = (e: LeadStore.OutboxEntry, seq: number) => ({ id: e.id, seq, status: e.status })
          assert.deepStrictEqual(yield* rowsOf(sql, "leadstate_outbox"), [row(a3, 3), row(a4, 4)])
          assert.deepStrictEqual(yield* rowsOf(sql, "leadstate_outbox_settled"), [row(a1, 1), row(a2, 2), row(b0, 5)])
          assert.deepStrictEqual(yield* store.outbox("A"), [a1, a2, a3, a4])
          assert.deepStrictEqual(yield* store.outbox("B"), [b0])
          assert.deepStrictEqual(yield* store.outboxEntry("A", a2.id), Option.some(a2))
          assert.deepStrictEqual(yield* store.outboxEntry("A", a3.id), Option.some(a3))
          assert.deepStrictEqual(yield* store.outboxEntry("B", a2.id), Option.none())
          assert.isTrue(Option.getOrThrow(yield* store.loadForWrite("A")).unsettled)
          assert.isFalse(Option.getOrThrow(yield* store.loadForWrite("B")).unsettled)

          // Claim still works: A's accepted entry is past its deadline, its pending one waits behind it.
          assert.deepStrictEqual(yield* store.claim(100, 10, 1_000), [{ ...a3, availableAt: 1_100 }])

          // Running the migrations again changes nothing.
          assert.deepStrictEqual(yield* Migrations.run(), [])
          assert.strictEqual(yield* countOf(sql, "leadstate_history"), 25 + 3 + BULK * 2)
          assert.deepStrictEqual(yield* store.history("A"), logged(a))

          // The upgraded lead saves on: its next entries follow in the log.
          const next = { event: "transition", from: "new", to: "contacted", at: 99_000 }
          yield* store.save({ ...loadedA.snapshot, version: a.version + 1 }, a.version, [], [next])
          assert.deepStrictEqual(yield* store.history("A", { after: a.version }), [{ ...next, version: a.version + 1 }])
        }).pipe(Effect.provide(client)),
      { timeout: 120_000 },
    )

    it.scopedLive(
      "a snapshot that does not decode stops the upgrade, naming the lead; nothing is changed until it is repaired",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* schema2
          const good = Array.from({ length: 600 }, (_, i) => v1Snapshot(`L${String(i).padStart(3, "0")}`, historyOf(4)))
          const { state: _, ...stateless } = v1Snapshot("zz-broken", historyOf(2))
          for (let i = 0; i < good.length; i += 200) {
            yield* sql`INSERT INTO leadstate_leads ${sql.insert(good.slice(i, i + 200).map((s) => leadRow(s)))}`
          }
          // Past the first chunk: lead ids sort "L..." before "zz-broken" (byte order and collations alike).
          yield* sql`INSERT INTO leadstate_leads ${sql.insert({ ...leadRow(v1Snapshot("zz-broken", [])), snapshot: JSON.stringify(stateless) })}`
          yield* sql`INSERT INTO leadstate_outbox ${sql.insert(outboxRow(entry("L000", 0, "confirmed")))}`

          const error = yield* Effect.flip(Migrations.run())
          assert.strictEqual(error._tag, "StoreError")
          assert.strictEqual(error.operation, "migrate")
          assert.include(error.message, `Migration "3_history_log" failed`)
          assert.include(error.message, `lead "zz-broken" has a corrupt snapshot`)
          assert.include(error.message, "state")
          // Rolled back: not recorded, settled row still in the outbox, snapshots still version 1.
          const [latest] = yield* sql`SELECT max(migration_id) AS id FROM leadstate_migrations`
          assert.strictEqual(Number(latest?.id), 2)
          assert.deepStrictEqual(
            (yield* rowsOf(sql, "leadstate_outbox")).map((r) => r.id),
            ["L000/0/0"],
          )
          const [first] = yield* sql`SELECT snapshot FROM leadstate_leads WHERE lead_id = 'L000'`
          assert.strictEqual(Reflect.get(Object(json(first?.snapshot)), "schemaVersion"), 1)

          yield* sql`UPDATE leadstate_leads SET snapshot = ${JSON.stringify(v1Snapshot("zz-broken", historyOf(2)))}
            WHERE lead_id = 'zz-broken'`
          assert.deepStrictEqual(yield* Migrations.run(), [[3, "history_log"]])
          const store = yield* SqlLeadStore.make()
          assert.strictEqual((yield* store.history("zz-broken")).length, 2)
          assert.strictEqual((yield* store.history("L599")).length, 4)
          assert.deepStrictEqual(
            (yield* rowsOf(sql, "leadstate_outbox_settled")).map((r) => r.id),
            ["L000/0/0"],
          )
        }).pipe(Effect.provide(client)),
      { timeout: 60_000 },
    )

    it.scopedLive("updateOutbox moves a settling entry to the archive and a reopened one back, keeping its seq", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* Migrations.run()
        const store = yield* SqlLeadStore.make()
        const snapshot = (version: number): LeadSnapshot.LeadSnapshot => ({
          schemaVersion: 2,
          leadId: "A",
          state: "new",
          enteredAt: 0,
          updatedAt: 0,
          version,
          metadata: {},
          recent: [],
        })
        const first = entry("A", 0, "pending", { attempts: 0 })
        const second = { ...entry("A", 0, "pending", { attempts: 0 }), id: LeadStore.entryId("A", 0, 1) }
        yield* store.save(snapshot(0), undefined, [first, second])
        const [seq0, seq1] = (yield* rowsOf(sql, "leadstate_outbox")).map((r) => r.seq)

        const confirmed = { ...first, status: "confirmed" as const, attempts: 1, correlationId: "c" }
        yield* store.updateOutbox(confirmed)
        assert.deepStrictEqual(yield* rowsOf(sql, "leadstate_outbox"), [
          { id: second.id, seq: seq1, status: "pending" },
        ])
        assert.deepStrictEqual(yield* rowsOf(sql, "leadstate_outbox_settled"), [
          { id: first.id, seq: seq0, status: "confirmed" },
        ])
        assert.deepStrictEqual(yield* store.outbox("A"), [confirmed, second])
        assert.deepStrictEqual(yield* store.outboxEntry("A", first.id), Option.some(confirmed))

        // An archived entry is updated where it is.
        const failed = { ...first, status: "failed" as const, failure: { reason: "Conflict" as const, message: "no" } }
        yield* store.updateOutbox(failed)
        assert.deepStrictEqual(yield* rowsOf(sql, "leadstate_outbox_settled"), [
          { id: first.id, seq: seq0, status: "failed" },
        ])
        assert.deepStrictEqual(yield* store.outboxEntry("A", first.id), Option.some(failed))

        // The id of an archived entry is taken.
        const reused = yield* Effect.flip(store.save(snapshot(1), 0, [{ ...first, id: first.id }]))
        assert.include(reused.message, `outbox entry "A/0/0" exists`)
        assert.strictEqual(Option.getOrThrow(yield* store.load("A")).snapshot.version, 0)

        // Reopened: back in the outbox with its seq, so it is again the lead's oldest.
        const reopened = { ...first, attempts: 2, availableAt: 5 }
        yield* store.updateOutbox(reopened)
        assert.deepStrictEqual(yield* rowsOf(sql, "leadstate_outbox"), [
          { id: first.id, seq: seq0, status: "pending" },
          { id: second.id, seq: seq1, status: "pending" },
        ])
        assert.deepStrictEqual(yield* rowsOf(sql, "leadstate_outbox_settled"), [])
        assert.deepStrictEqual(yield* store.claim(10, 10, 100), [{ ...reopened, availableAt: 110 }])
        assert.deepStrictEqual(yield* store.outbox("A"), [{ ...reopened, availableAt: 110 }, second])

        const missing = yield* Effect.flip(store.updateOutbox({ ...first, id: "A/9/9", status: "confirmed" }))
        assert.include(missing.message, `no outbox entry "A/9/9" of lead "A"`)
        const foreign = yield* Effect.flip(store.updateOutbox({ ...failed, leadId: "B" }))
        assert.include(foreign.message, `no outbox entry "A/0/0" of lead "B"`)
      }).pipe(Effect.provide(client)),
    )
  })
}

describe("migration 3: PostgreSQL names", () => {
  it.scopedLive("with the longest prefix (40), every table and index keeps its whole name (63 bytes at most)", () =>
    Effect.gen(function* () {
      const prefix = `${"p".repeat(39)}_`
      const tables = yield* StoreTables.fromPrefix(prefix)
      yield* Migrations.run({ tablePrefix: prefix })
      const sql = yield* SqlClient.SqlClient
      const names = (yield* sql`SELECT relname FROM pg_class WHERE relname LIKE ${`${prefix}%`}`).map((row) =>
        String(row.relname),
      )
      const expected = [
        tables.leads,
        tables.outbox,
        tables.outboxSettled,
        tables.history,
        tables.events,
        tables.migrations,
        `${tables.leads}_due_at_idx`,
        `${tables.outbox}_lead_idx`,
        `${tables.outbox}_unsettled_idx`,
        `${tables.outbox}_lead_unsettled`,
        `${tables.outboxSettled}_lead_idx`,
      ]
      for (const name of expected) assert.include(names, name)
      assert.strictEqual(Math.max(...expected.map((n) => Buffer.byteLength(n))), 63)
    }).pipe(
      Effect.provide(
        Layer.unwrapScoped(Effect.map(freshDatabase(adminUrl), (url) => PgClient.layer({ url: Redacted.make(url) }))),
      ),
    ),
  )
})
