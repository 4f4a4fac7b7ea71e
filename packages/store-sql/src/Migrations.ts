/**
 * The store's schema, as `@effect/sql` migrations (`Migrator.fromRecord`), recorded in the
 * `<prefix>migrations` table. Idempotent: running them again, or from several processes
 * starting at once, changes nothing.
 *
 * Tables (default prefix `leadstate_`; SQLite type / PostgreSQL type):
 * - `leads`: `lead_id` text PK, `version` integer, `snapshot` JSON text / jsonb,
 *   `vendor_lead_id` text null, `due_at` epoch ms integer / bigint null (partial index).
 * - `outbox`: the unsettled (pending or accepted) entries: `seq` autoincrement / identity PK
 *   (creation order), `id` text unique, `lead_id`, `intent` JSON, `status`, `attempts`,
 *   `available_at` epoch ms, `correlation_id` null, `failure` JSON null; indexes on
 *   `(lead_id, seq)`, and partial ones on the unsettled entries: their `seq` (claim's walk)
 *   and their `(lead_id, seq)` (a lead's oldest unsettled entry, `hasUnsettled`).
 * - `outbox_settled`: the confirmed and failed entries, the same columns with their original
 *   `seq` (PK), moved out of `outbox` when they settle (and back, should one be reopened);
 *   index on `(lead_id, seq)`.
 * - `history`: each lead's history log: `lead_id`, `version` (the snapshot version saved with
 *   the entry), `idx` (its position in that save), `entry` JSON; PK `(lead_id, version, idx)`.
 * - `events`: `vendor_event_id` text PK.
 *
 * @since 0.1.0
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import { LeadStore } from "@leadstate/core"
import { Effect, Option } from "effect"
import { describe, scrubber } from "./internal/errorDetail.js"
import * as HistoryMigration from "./internal/historyMigration.js"
import { type Dialect, dialectOf, type SqlLeadStoreOptions } from "./SqlLeadStore.js"
import * as StoreTables from "./StoreTables.js"

const quote = (identifier: string) => `"${identifier}"`

const createTables = (dialect: Dialect, tables: StoreTables.StoreTables): ReadonlyArray<string> => {
  const pg = dialect === "pg"
  const json = pg ? "JSONB" : "TEXT"
  const epochMs = pg ? "BIGINT" : "INTEGER"
  const seq = pg ? "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT"
  const leads = quote(tables.leads)
  const outbox = quote(tables.outbox)
  return [
    `CREATE TABLE IF NOT EXISTS ${leads} (
      lead_id TEXT PRIMARY KEY NOT NULL,
      version INTEGER NOT NULL,
      snapshot ${json} NOT NULL,
      vendor_lead_id TEXT,
      due_at ${epochMs}
    )`,
    `CREATE INDEX IF NOT EXISTS ${quote(`${tables.leads}_due_at_idx`)} ON ${leads} (due_at) WHERE due_at IS NOT NULL`,
    `CREATE TABLE IF NOT EXISTS ${outbox} (
      seq ${seq},
      id TEXT NOT NULL UNIQUE,
      lead_id TEXT NOT NULL,
      intent ${json} NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'confirmed', 'failed')),
      attempts INTEGER NOT NULL,
      available_at ${epochMs} NOT NULL,
      correlation_id TEXT,
      failure ${json}
    )`,
    `CREATE INDEX IF NOT EXISTS ${quote(`${tables.outbox}_lead_idx`)} ON ${outbox} (lead_id, seq)`,
    `CREATE INDEX IF NOT EXISTS ${quote(`${tables.outbox}_unsettled_idx`)} ON ${outbox} (seq)
      WHERE status IN ('pending', 'accepted')`,
    `CREATE TABLE IF NOT EXISTS ${quote(tables.events)} (vendor_event_id TEXT PRIMARY KEY NOT NULL)`,
  ]
}

/**
 * Migration 2: the partial index on each lead's unsettled entries. `claim` probes it for an
 * older unsettled entry of the candidate's lead, and `hasUnsettled` for any: with only the
 * index on `(lead_id, seq)`, both read the lead's settled rows too (SQLite), or walk every
 * unsettled entry per candidate (PostgreSQL). Its name stays within PostgreSQL's 63 bytes for
 * the longest prefix (40).
 */
const createUnsettledLeadIndex = (tables: StoreTables.StoreTables): string =>
  `CREATE INDEX IF NOT EXISTS ${quote(`${tables.outbox}_lead_unsettled`)} ON ${quote(tables.outbox)} (lead_id, seq)
    WHERE status IN ('pending', 'accepted')`

/**
 * Migration 3, schema: the history log, and the archive of settled outbox entries (which the
 * hot outbox no longer keeps). Every name stays within PostgreSQL's 63 bytes for the longest
 * prefix (40): `<prefix>outbox_settled_lead_idx` is 63.
 */
const createLogTables = (dialect: Dialect, tables: StoreTables.StoreTables): ReadonlyArray<string> => {
  const pg = dialect === "pg"
  const json = pg ? "JSONB" : "TEXT"
  const epochMs = pg ? "BIGINT" : "INTEGER"
  const settled = quote(tables.outboxSettled)
  return [
    // SQLite: WITHOUT ROWID keeps the rows in primary-key order, so a lead's log is one range.
    `CREATE TABLE IF NOT EXISTS ${quote(tables.history)} (
      lead_id TEXT NOT NULL,
      version INTEGER NOT NULL,
      idx INTEGER NOT NULL,
      entry ${json} NOT NULL,
      PRIMARY KEY (lead_id, version, idx)
    )${pg ? "" : " WITHOUT ROWID"}`,
    `CREATE TABLE IF NOT EXISTS ${settled} (
      seq ${pg ? "BIGINT" : "INTEGER"} PRIMARY KEY NOT NULL,
      id TEXT NOT NULL UNIQUE,
      lead_id TEXT NOT NULL,
      intent ${json} NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('confirmed', 'failed')),
      attempts INTEGER NOT NULL,
      available_at ${epochMs} NOT NULL,
      correlation_id TEXT,
      failure ${json}
    )`,
    `CREATE INDEX IF NOT EXISTS ${quote(`${tables.outboxSettled}_lead_idx`)} ON ${settled} (lead_id, seq)`,
  ]
}

/**
 * The migrations for these tables, keyed `<id>_<name>` for `Migrator.fromRecord`. Released
 * migrations are never edited: a change to the schema is a new one.
 */
export const forTables = (
  tables: StoreTables.StoreTables,
): Record<string, Effect.Effect<void, unknown, SqlClient.SqlClient>> => ({
  "1_create_tables": Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const dialect = yield* dialectOf(sql)
    for (const statement of createTables(dialect, tables)) yield* sql.unsafe(statement).withoutTransform
  }),
  "2_unsettled_lead_index": Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.unsafe(createUnsettledLeadIndex(tables)).withoutTransform.pipe(Effect.asVoid),
  ),
  "3_history_log": Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const dialect = yield* dialectOf(sql)
    for (const statement of createLogTables(dialect, tables)) yield* sql.unsafe(statement).withoutTransform
    yield* HistoryMigration.archiveSettled(sql.withoutTransforms(), tables)
    yield* HistoryMigration.moveHistoryToLog(sql.withoutTransforms(), dialect, tables)
  }),
})

/** The `@effect/sql` migrator without schema dumps (it needs only the `SqlClient`). */
const migrator = Migrator.make({})

/**
 * Creates or upgrades the store's tables; returns the migrations applied now (`[]` when the
 * schema is current). A failure is a `StoreError` with operation `"migrate"`.
 */
export const run = (
  options: SqlLeadStoreOptions = {},
): Effect.Effect<ReadonlyArray<readonly [id: number, name: string]>, LeadStore.StoreError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const tables = yield* StoreTables.fromPrefix(options.tablePrefix)
    const scrub = scrubber(options.redact ?? [])
    const failed = (error: unknown) =>
      new LeadStore.StoreError({
        operation: "migrate",
        // A migration's own StoreError already says what is wrong: keep its detail, not its message.
        detail: scrub(
          error instanceof Migrator.MigrationError && error.cause instanceof LeadStore.StoreError
            ? `${error.message}: ${error.cause.detail}`
            : describe(error),
        ),
      })
    return yield* migrator({ loader: Migrator.fromRecord(forTables(tables)), table: tables.migrations }).pipe(
      // Processes starting together on a new PostgreSQL database may race to create the
      // migrations table: the loser fails once the winner committed it, then (on retry) finds
      // the table and waits on its lock.
      Effect.retry({ times: 3, while: (e) => e._tag === "SqlError" }),
      Effect.mapError(failed),
      // The migrator reports a failing migration as a defect, and so does its transaction a
      // failed COMMIT or ROLLBACK (the server went away).
      Effect.catchSomeDefect((defect) =>
        defect instanceof Migrator.MigrationError || defect instanceof SqlError
          ? Option.some(Effect.fail(failed(defect)))
          : Option.none(),
      ),
    )
  })
