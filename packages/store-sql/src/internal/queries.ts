/**
 * The store's queries whose cost must not grow with the outbox's settled rows (`claim`,
 * `hasUnsettled`, `loadForWrite`), with leads without a deadline (`dueLeads`) nor with a
 * lead's log before the cursor (`history`), built in one place so that the tests EXPLAIN
 * exactly the statements the store runs (`test/plans.test.ts`). They rely on the indexes of
 * `Migrations` (partial ones on unsettled entries and on leads with a deadline, and the history
 * log's primary key): each condition on a partial index repeats the index's own `WHERE` text,
 * which SQLite needs to use the index.
 *
 * @internal
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as Statement from "@effect/sql/Statement"
import type * as StoreTables from "../StoreTables.js"
import { historyColumns } from "./historyRows.js"
import { outboxColumns } from "./rows.js"

/** The condition "the entry is not settled yet" on the table alias `alias` (the partial indexes' predicate). */
export const unsettled = (alias: string) => `${alias}.status IN ('pending', 'accepted')`

/** A row limit for `LIMIT`: whole, at least 0 (a negative LIMIT means "no limit" in SQLite). */
export const rowLimit = (limit: number): number =>
  Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : limit > 0 ? Number.MAX_SAFE_INTEGER : 0

/** The statements over `tables`. */
export interface Queries {
  /**
   * PostgreSQL: the `seq` of each lead's oldest unsettled entry that is due, oldest first, at
   * most `limit`, locked (`FOR UPDATE SKIP LOCKED`; run it in a transaction).
   */
  readonly claimPg: (now: number, limit: number) => Statement.Statement<Record<string, unknown>>
  /** SQLite: leases the same entries until `leaseUntil` in one statement and returns them. */
  readonly claimSqlite: (now: number, limit: number, leaseUntil: number) => Statement.Statement<Record<string, unknown>>
  /** One row when the lead has a pending or accepted entry, none otherwise. */
  readonly hasUnsettled: (leadId: string) => Statement.Statement<Record<string, unknown>>
  /** The lead's oldest accepted entry (at most one row). */
  readonly oldestAccepted: (leadId: string) => Statement.Statement<Record<string, unknown>>
  /** The ids of leads whose deadline passed by `now`, earliest first, at most `limit`. */
  readonly dueLeads: (now: number, limit: number) => Statement.Statement<Record<string, unknown>>
  /**
   * The lead's row (at most one) with `unsettled`: whether it has a pending or accepted entry
   * (SQLite 0 or 1, PostgreSQL a boolean).
   */
  readonly loadForWrite: (leadId: string) => Statement.Statement<Record<string, unknown>>
  /**
   * The lead's history rows saved with a version above `after` (a whole number; `undefined`:
   * all), oldest first, at most `limit` (`undefined`: all).
   */
  readonly history: (
    leadId: string,
    after: number | undefined,
    limit: number | undefined,
  ) => Statement.Statement<Record<string, unknown>>
}

/** The queries over `tables`, for a client without name transforms. */
export const make = (sql: SqlClient.SqlClient, tables: StoreTables.StoreTables): Queries => {
  const leads = sql(tables.leads)
  const outbox = sql(tables.outbox)
  const history = sql(tables.history)
  const outboxCols = sql.literal(outboxColumns)

  // Walks the unsettled entries in creation order (partial index on `seq`) and keeps each
  // that is its lead's oldest unsettled one: one probe of the partial index on
  // `(lead_id, seq)` per candidate, so settled rows are never read, and the walk stops at
  // `limit`. A correlated scalar subquery, not NOT EXISTS: PostgreSQL may turn an anti-join
  // into a hash join that reads every unsettled entry on each claim; a subquery is a probe.
  const claimCandidates = (now: number, limit: number) =>
    sql`FROM ${outbox} o
      WHERE ${sql.literal(unsettled("o"))} AND o.available_at <= ${now}
        AND o.seq = (
          SELECT older.seq FROM ${outbox} older
          WHERE older.lead_id = o.lead_id AND ${sql.literal(unsettled("older"))}
          ORDER BY older.seq
          LIMIT 1
        )
      ORDER BY o.seq
      LIMIT ${rowLimit(limit)}`

  return {
    claimPg: (now, limit) => sql`SELECT o.seq ${claimCandidates(now, limit)} FOR UPDATE SKIP LOCKED`,
    claimSqlite: (now, limit, leaseUntil) =>
      sql`UPDATE ${outbox} SET available_at = ${leaseUntil}
        WHERE seq IN (SELECT o.seq ${claimCandidates(now, limit)})
        RETURNING ${outboxCols}`,
    hasUnsettled: (leadId) =>
      sql`SELECT 1 AS found FROM ${outbox} o
        WHERE o.lead_id = ${leadId} AND ${sql.literal(unsettled("o"))}
        LIMIT 1`,
    // An accepted entry is unsettled: saying so lets SQLite use the partial index too.
    oldestAccepted: (leadId) =>
      sql`SELECT ${outboxCols} FROM ${outbox} o
        WHERE o.lead_id = ${leadId} AND o.status = 'accepted' AND ${sql.literal(unsettled("o"))}
        ORDER BY o.seq LIMIT 1`,
    dueLeads: (now, limit) =>
      sql`SELECT lead_id FROM ${leads} WHERE due_at <= ${now}
        ORDER BY due_at, lead_id LIMIT ${rowLimit(limit)}`,
    // One probe of the partial index on unsettled entries, whatever the lead's settled ones.
    loadForWrite: (leadId) =>
      sql`SELECT l.lead_id, l.snapshot, l.vendor_lead_id,
          EXISTS (
            SELECT 1 FROM ${outbox} o WHERE o.lead_id = ${leadId} AND ${sql.literal(unsettled("o"))}
          ) AS unsettled
        FROM ${leads} l WHERE l.lead_id = ${leadId}`,
    // A range of the primary key (lead_id, version, idx), already in the order asked. The cursor
    // is cast to BIGINT: PostgreSQL would type a bare parameter as the INTEGER column's type.
    history: (leadId, after, limit) =>
      sql`SELECT ${sql.literal(historyColumns)} FROM ${history}
        WHERE lead_id = ${leadId}${after === undefined ? sql.literal("") : sql` AND version > CAST(${after} AS BIGINT)`}
        ORDER BY version, idx${limit === undefined ? sql.literal("") : sql` LIMIT ${rowLimit(limit)}`}`,
  }
}
