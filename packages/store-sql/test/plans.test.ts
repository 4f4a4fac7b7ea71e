/**
 * The query plans of the store's hot queries, on populated tables: `claim`, `hasUnsettled`,
 * `oldestAccepted`, `loadForWrite` and `dueLeads` reach their rows through their indexes and
 * never scan the outbox table, nor its full `(lead_id, seq)` index; `history` reads one range
 * of the log's primary key, already in order. The statements are the store's own
 * (`internal/queries.ts`), EXPLAINed with real parameters.
 *
 * The store keeps settled entries in the archive, so its outbox table holds unsettled ones
 * only, and there a partial index holds the same rows as the full one. The outbox here also
 * gets settled rows written past the store, so that the two differ and the planner's choice
 * shows: a plan through the table or the full index would read them.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { assert, describe, it } from "@effect/vitest"
import { type LeadSnapshot, LeadStore } from "@leadstate/core"
import { StoreTables } from "@leadstate/store-sql"
import * as PgLeadStore from "@leadstate/store-sql/pg"
import * as SqliteLeadStore from "@leadstate/store-sql/sqlite"
import { freshDatabase } from "@leadstate/testkit/postgres"
import { Effect, Redacted } from "effect"
import { inject } from "vitest"
import * as Queries from "../src/internal/queries.js"

const LEADS = 100
/** Settled entries per lead, ahead of its two unsettled ones. */
const SETTLED = 40
/** Versions with a history entry per lead (besides its first save's). */
const VERSIONS = 50

const snapshot = (leadId: string, version: number, due: number | undefined): LeadSnapshot.LeadSnapshot => ({
  schemaVersion: 2,
  leadId,
  state: "new",
  enteredAt: 0,
  updatedAt: 0,
  version,
  metadata: {},
  recent: [],
  ...(due === undefined ? {} : { due: { event: "followUpDue", at: due } }),
})

const settledStatus = (index: number) => (index % 5 === 0 ? "failed" : "confirmed")

/**
 * Each lead: `SETTLED` confirmed or failed entries (which the store archives), then an
 * accepted or pending one and a pending one waiting behind it; every third lead has a
 * deadline. Before them, `SETTLED` settled rows written straight into the outbox table (see
 * above); after the first save, `VERSIONS` history rows, one per version.
 */
const populate = (store: LeadStore.LeadStoreService, sql: SqlClient.SqlClient) =>
  Effect.forEach(
    Array.from({ length: LEADS }, (_, i) => i),
    (i) => {
      const leadId = `L${i}`
      const intent = (at: number) => JSON.stringify({ _tag: "SetState", leadId, from: "new", to: "contacted", at })
      const unarchived = Array.from({ length: SETTLED }, (_, index) => ({
        id: `${leadId}/unarchived/${index}`,
        lead_id: leadId,
        intent: intent(index),
        status: settledStatus(index),
        attempts: 1,
        available_at: index,
      }))
      const history = Array.from({ length: VERSIONS }, (_, v) => ({
        lead_id: leadId,
        version: v + 1,
        idx: 0,
        entry: JSON.stringify({ event: "transition", from: "new", to: "contacted", at: v + 1 }),
      }))
      const entries = Array.from(
        { length: SETTLED + 2 },
        (_, index): LeadStore.OutboxEntry => ({
          id: LeadStore.entryId(leadId, 0, index),
          leadId,
          intent: { _tag: "SetState", leadId, from: "new", to: "contacted", at: index },
          status: index < SETTLED ? settledStatus(index) : index === SETTLED && i % 2 === 0 ? "accepted" : "pending",
          attempts: 1,
          availableAt: index,
        }),
      )
      const start = { event: "start", from: "new", to: "new", at: 0 }
      return Effect.gen(function* () {
        yield* sql`INSERT INTO leadstate_outbox ${sql.insert(unarchived)}`
        yield* store.save(snapshot(leadId, 0, i % 3 === 0 ? 1_000 + i : undefined), undefined, entries, [start])
        yield* sql`INSERT INTO leadstate_history ${sql.insert(history)}`
      })
    },
    { discard: true },
  )

/** Checks that `populate` wrote what the plans are about (settled rows on both sides). */
const checkPopulated = (sql: SqlClient.SqlClient) =>
  Effect.gen(function* () {
    const [row] = yield* sql`SELECT
      (SELECT count(*) FROM leadstate_outbox) AS hot,
      (SELECT count(*) FROM leadstate_outbox_settled) AS archived,
      (SELECT count(*) FROM leadstate_history) AS history`
    assert.deepStrictEqual(
      { hot: Number(row?.hot), archived: Number(row?.archived), history: Number(row?.history) },
      { hot: LEADS * (SETTLED + 2), archived: LEADS * SETTLED, history: LEADS * (VERSIONS + 1) },
    )
  })

/** Leads with no outbox (not decoded here): mostly without a deadline, every tenth with a far one. */
const IDLE_LEADS = 5_000

const idleLeads = (sql: SqlClient.SqlClient, dialect: "sqlite" | "pg") =>
  dialect === "pg"
    ? sql`INSERT INTO leadstate_leads (lead_id, version, snapshot, due_at)
        SELECT 'idle-' || n, 0, '{}'::jsonb, CASE WHEN n % 10 = 0 THEN 1000000000000 + n END
        FROM generate_series(1, ${IDLE_LEADS}) AS n`
    : sql`WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ${IDLE_LEADS})
        INSERT INTO leadstate_leads (lead_id, version, snapshot, due_at)
        SELECT 'idle-' || n, 0, '{}', CASE WHEN n % 10 = 0 THEN 1000000000000 + n END FROM g`

/** The store's hot statements, with the parameters of a busy moment. */
const hotQueries = (sql: SqlClient.SqlClient) =>
  Effect.map(StoreTables.fromPrefix(), (tables) => {
    const queries = Queries.make(sql.withoutTransforms(), tables)
    return {
      claimPg: queries.claimPg(SETTLED + 5, 50),
      claimSqlite: queries.claimSqlite(SETTLED + 5, 50, 10_000),
      hasUnsettled: queries.hasUnsettled("L7"),
      oldestAccepted: queries.oldestAccepted("L8"),
      dueLeads: queries.dueLeads(1_050, 10),
      loadForWrite: queries.loadForWrite("L7"),
      history: queries.history("L7", VERSIONS - 20, 10),
    }
  })

/** The plan of `statement`, one line per row (`prefix`: the dialect's EXPLAIN). */
const explain = (
  sql: SqlClient.SqlClient,
  prefix: string,
  statement: { readonly compile: () => readonly [string, ReadonlyArray<unknown>] },
) =>
  Effect.suspend(() => {
    const [text, params] = statement.compile()
    return Effect.map(sql.unsafe<Record<string, unknown>>(`${prefix} ${text}`, params), (rows) =>
      rows.map((row) => String(row.detail ?? row["QUERY PLAN"])),
    )
  })

// -------------------------------------------------------------------------------------------
// SQLite: EXPLAIN QUERY PLAN, one line per table access ("SCAN" reads all rows of the table or
// index named; "SEARCH" only those matching its condition).

/** Outbox accesses (aliases o, older) that may read settled rows: a table scan, or the full index. */
const sqliteFullReads = (plan: ReadonlyArray<string>) =>
  plan.filter(
    (line) =>
      /^(SCAN|SEARCH) (leadstate_outbox|o|older)\b/.test(line) &&
      !/USING (COVERING )?INDEX leadstate_outbox_(unsettled_idx|lead_unsettled)\b|USING INTEGER PRIMARY KEY/.test(line),
  )

describe("query plans: SQLite", () => {
  it.effect("claim, hasUnsettled, oldestAccepted, loadForWrite and dueLeads use their indexes; history its key", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* populate(yield* SqliteLeadStore.make(), sql)
      yield* checkPopulated(sql)
      yield* idleLeads(sql, "sqlite")
      const queries = yield* hotQueries(sql)
      const plan = (statement: Parameters<typeof explain>[2]) => explain(sql, "EXPLAIN QUERY PLAN", statement)

      const claim = yield* plan(queries.claimSqlite)
      assert.deepStrictEqual(sqliteFullReads(claim), [], claim.join("\n"))
      assert.include(claim, "SCAN o USING INDEX leadstate_outbox_unsettled_idx", claim.join("\n"))
      assert.isTrue(
        claim.some((line) =>
          /^SEARCH older USING (COVERING )?INDEX leadstate_outbox_lead_unsettled \(lead_id=\?\)$/.test(line),
        ),
        `each candidate's lead is one probe of the partial index:\n${claim.join("\n")}`,
      )

      const has = yield* plan(queries.hasUnsettled)
      assert.deepStrictEqual(has, ["SEARCH o USING INDEX leadstate_outbox_lead_unsettled (lead_id=?)"])

      const accepted = yield* plan(queries.oldestAccepted)
      assert.deepStrictEqual(sqliteFullReads(accepted), [], accepted.join("\n"))
      assert.include(accepted, "SEARCH o USING INDEX leadstate_outbox_lead_unsettled (lead_id=?)", accepted.join("\n"))

      const forWrite = yield* plan(queries.loadForWrite)
      assert.deepStrictEqual(sqliteFullReads(forWrite), [], forWrite.join("\n"))
      assert.include(
        forWrite,
        "SEARCH l USING INDEX sqlite_autoindex_leadstate_leads_1 (lead_id=?)",
        forWrite.join("\n"),
      )
      assert.isTrue(
        forWrite.some((line) =>
          /^SEARCH o USING (COVERING )?INDEX leadstate_outbox_lead_unsettled \(lead_id=\?\)$/.test(line),
        ),
        `the EXISTS is one probe of the partial index:\n${forWrite.join("\n")}`,
      )

      // One range of the primary key, in its order: no sort.
      const history = yield* plan(queries.history)
      assert.deepStrictEqual(history, ["SEARCH leadstate_history USING PRIMARY KEY (lead_id=? AND version>?)"])

      const due = yield* plan(queries.dueLeads)
      assert.include(due, "SEARCH leadstate_leads USING INDEX leadstate_leads_due_at_idx (due_at<?)", due.join("\n"))
      assert.isFalse(
        due.some((line) => line.startsWith("SCAN leadstate_leads")),
        due.join("\n"),
      )
    }).pipe(Effect.provide(SqliteClient.layer({ filename: ":memory:" }))),
  )
})

// -------------------------------------------------------------------------------------------
// PostgreSQL: EXPLAIN after ANALYZE (the planner's choices depend on the statistics).

/** Plan nodes reading the outbox table whole, or through its full `(lead_id, seq)` index. */
const pgFullReads = (plan: ReadonlyArray<string>) =>
  plan.filter(
    (line) =>
      /Seq Scan on leadstate_outbox\b/.test(line) ||
      /(Index Scan|Index Only Scan|Bitmap Index Scan)( using| on) leadstate_outbox_lead_idx\b/.test(line),
  )

describe("query plans: PostgreSQL", () => {
  it.scopedLive(
    "claim, hasUnsettled, oldestAccepted, loadForWrite and dueLeads use their indexes; history its key",
    () =>
      Effect.gen(function* () {
        const url = yield* freshDatabase(inject("pgUrl"))
        yield* Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* populate(yield* PgLeadStore.make(), sql)
          yield* checkPopulated(sql)
          yield* idleLeads(sql, "pg")
          yield* sql`ANALYZE`
          const queries = yield* hotQueries(sql)
          const plan = (statement: Parameters<typeof explain>[2]) =>
            Effect.map(explain(sql, "EXPLAIN", statement), (lines) => lines.map((line) => line.trim()))

          const claim = yield* plan(queries.claimPg)
          const shown = claim.join("\n")
          assert.deepStrictEqual(pgFullReads(claim), [], shown)
          assert.isTrue(
            claim.some((line) => /LockRows/.test(line)),
            `FOR UPDATE SKIP LOCKED is kept:\n${shown}`,
          )
          assert.isTrue(
            claim.some((line) =>
              /(Index (Only )?Scan using|Bitmap Index Scan on) leadstate_outbox_(unsettled_idx|lead_unsettled)\b/.test(
                line,
              ),
            ),
            `the walk reads unsettled entries only:\n${shown}`,
          )
          // Not the whole unsettled index per candidate: one probe of the lead's unsettled entries.
          assert.isTrue(
            claim.some((line) =>
              /Index (Only )?Scan using leadstate_outbox_lead_unsettled on leadstate_outbox older\b/.test(line),
            ),
            shown,
          )
          assert.include(claim, "Index Cond: (lead_id = o.lead_id)", shown)

          const has = yield* plan(queries.hasUnsettled)
          assert.deepStrictEqual(pgFullReads(has), [], has.join("\n"))
          assert.isTrue(
            has.some((line) =>
              /(Index|Index Only|Bitmap Index) Scan (using|on) leadstate_outbox_lead_unsettled\b/.test(line),
            ),
            has.join("\n"),
          )
          assert.include(has, "Index Cond: (lead_id = 'L7'::text)", has.join("\n"))

          const accepted = yield* plan(queries.oldestAccepted)
          assert.deepStrictEqual(pgFullReads(accepted), [], accepted.join("\n"))
          assert.isTrue(
            accepted.some((line) => /leadstate_outbox_lead_unsettled\b/.test(line)),
            accepted.join("\n"),
          )

          const forWrite = yield* plan(queries.loadForWrite)
          assert.deepStrictEqual(pgFullReads(forWrite), [], forWrite.join("\n"))
          assert.isTrue(
            forWrite.some((line) => /Index (Only )?Scan using leadstate_leads_pkey on leadstate_leads l\b/.test(line)),
            forWrite.join("\n"),
          )
          assert.isTrue(
            forWrite.some((line) =>
              /(Index|Index Only) Scan using leadstate_outbox_lead_unsettled on leadstate_outbox o\b/.test(line),
            ),
            `the EXISTS is one probe of the partial index:\n${forWrite.join("\n")}`,
          )

          const history = yield* plan(queries.history)
          assert.isTrue(
            history.some((line) => /Index Scan using leadstate_history_pkey on leadstate_history\b/.test(line)),
            history.join("\n"),
          )
          assert.include(
            history,
            "Index Cond: ((lead_id = 'L7'::text) AND (version > '30'::bigint))",
            history.join("\n"),
          )
          assert.isFalse(
            history.some((line) => /\bSort\b|Seq Scan/.test(line)),
            `the key's order is the order asked:\n${history.join("\n")}`,
          )

          const due = yield* plan(queries.dueLeads)
          assert.isTrue(
            due.some((line) => /Index (Only )?Scan using leadstate_leads_due_at_idx on leadstate_leads\b/.test(line)),
            due.join("\n"),
          )
          assert.isFalse(
            due.some((line) => /Seq Scan on leadstate_leads\b/.test(line)),
            due.join("\n"),
          )
        }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(url) })))
      }),
  )
})
