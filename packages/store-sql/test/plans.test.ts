/**
 * The query plans of the store's hot queries, on a populated outbox where settled rows
 * dominate (as they do: settled entries are never removed): `claim`, `hasUnsettled`,
 * `oldestAccepted` and `dueLeads` reach their rows through their indexes and never scan the
 * outbox table, nor its full `(lead_id, seq)` index (which holds the settled rows too). The
 * statements are the store's own (`internal/queries.ts`), EXPLAINed with real parameters.
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

const snapshot = (leadId: string, version: number, due: number | undefined): LeadSnapshot.LeadSnapshot => ({
  schemaVersion: 1,
  leadId,
  state: "new",
  enteredAt: 0,
  updatedAt: 0,
  version,
  metadata: {},
  history: [],
  ...(due === undefined ? {} : { due: { event: "followUpDue", at: due } }),
})

/**
 * Each lead: `SETTLED` confirmed or failed entries, then an accepted or pending one and a
 * pending one waiting behind it; every third lead has a deadline.
 */
const populate = (store: LeadStore.LeadStoreService) =>
  Effect.forEach(
    Array.from({ length: LEADS }, (_, i) => i),
    (i) => {
      const leadId = `L${i}`
      const entries = Array.from(
        { length: SETTLED + 2 },
        (_, index): LeadStore.OutboxEntry => ({
          id: LeadStore.entryId(leadId, 0, index),
          leadId,
          intent: { _tag: "SetState", leadId, from: "new", to: "contacted", at: index },
          status:
            index < SETTLED
              ? index % 5 === 0
                ? "failed"
                : "confirmed"
              : index === SETTLED && i % 2 === 0
                ? "accepted"
                : "pending",
          attempts: 1,
          availableAt: index,
        }),
      )
      return store.save(snapshot(leadId, 0, i % 3 === 0 ? 1_000 + i : undefined), undefined, entries)
    },
    { discard: true },
  )

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
  it.effect("claim, hasUnsettled, oldestAccepted and dueLeads use their indexes; no settled row is read", () =>
    Effect.gen(function* () {
      yield* populate(yield* SqliteLeadStore.make())
      const sql = yield* SqlClient.SqlClient
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
  it.scopedLive("claim, hasUnsettled, oldestAccepted and dueLeads use their indexes; no settled row is read", () =>
    Effect.gen(function* () {
      const url = yield* freshDatabase(inject("pgUrl"))
      yield* Effect.gen(function* () {
        yield* populate(yield* PgLeadStore.make())
        const sql = yield* SqlClient.SqlClient
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
