/**
 * The `LeadStore` port over any `@effect/sql` client, shared by the SQLite and PostgreSQL
 * stores. The dialects differ only in how `claim` locks (PostgreSQL: `FOR UPDATE SKIP LOCKED`
 * inside a transaction, so several workers never claim the same entry; SQLite: one
 * `UPDATE ... RETURNING` statement, which takes the write lock up front), in how an entry moves
 * between the outbox and its archive of settled entries (PostgreSQL: one statement; SQLite:
 * `DELETE ... RETURNING` and `INSERT` in one transaction) and in column types (see
 * `Migrations`). The tables must exist: run `Migrations.run` first, or use
 * `SqliteLeadStore` / `PgLeadStore`, which do.
 *
 * Every SQL failure (a lost connection, a failed COMMIT or ROLLBACK included) and every row that
 * does not decode becomes a `StoreError` naming the operation (and the lead or entry), never a
 * defect; details never contain the `redact`ed values.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type * as Statement from "@effect/sql/Statement"
import { type LeadSnapshot, LeadStore } from "@leadstate/core"
import { Effect, Either, Option, type Redacted } from "effect"
import { onSqlError, type Scrub, scrubber } from "./internal/errorDetail.js"
import { type HistoryValues, insertHistory, toFlag, toHistoryRecord, toHistoryValues } from "./internal/historyRows.js"
import * as Queries from "./internal/queries.js"
import {
  leadColumns,
  type OutboxRecord,
  type OutboxValues,
  outboxColumns,
  queryTime,
  storedTime,
  toInteger,
  toOutboxRecord,
  toOutboxValues,
  toSnapshotJson,
  toStoredLead,
} from "./internal/rows.js"
import { withTransaction } from "./internal/transaction.js"
import * as StoreTables from "./StoreTables.js"

/** Options shared by every SQL store. */
export interface SqlLeadStoreOptions {
  /** Prefix of the table names (default `leadstate_`; see {@link StoreTables.fromPrefix}). */
  readonly tablePrefix?: string | undefined
  /** Values never shown in error details (the database password is always added by `PgLeadStore`). */
  readonly redact?: ReadonlyArray<Redacted.Redacted<string>> | undefined
}

/** The dialects the store supports. */
export type Dialect = "sqlite" | "pg"

/** The client's dialect, or a `StoreError` for one the store does not support. */
export const dialectOf = (sql: SqlClient.SqlClient): Effect.Effect<Dialect, LeadStore.StoreError> =>
  Effect.suspend(() => {
    const dialect = sql.onDialectOrElse({
      sqlite: (): Dialect | undefined => "sqlite",
      pg: (): Dialect | undefined => "pg",
      orElse: (): Dialect | undefined => undefined,
    })
    return dialect === undefined
      ? Effect.fail(
          new LeadStore.StoreError({
            operation: "configure",
            detail: "the SQL client's dialect is not supported; use SQLite or PostgreSQL.",
          }),
        )
      : Effect.succeed(dialect)
  })

/**
 * Builds the store over the `SqlClient` in context (SQLite or PostgreSQL; its name transforms
 * are not used). Fails when the table prefix is invalid or the dialect is not supported.
 */
export const make = (
  options: SqlLeadStoreOptions = {},
): Effect.Effect<LeadStore.LeadStoreService, LeadStore.StoreError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const tables = yield* StoreTables.fromPrefix(options.tablePrefix)
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const dialect = yield* dialectOf(sql)
    return makeService(sql, dialect, tables, scrubber(options.redact ?? []))
  })

/** Confirmed or failed: the entry belongs in the archive. */
const isSettled = (status: LeadStore.OutboxStatus): boolean => status === "confirmed" || status === "failed"

/**
 * Outbox rows (9 columns) or ids per statement: SQLite allows 32,766 bound parameters in one
 * statement, so a save of thousands of entries is written in several.
 */
const rowsPerStatement = 500

const chunks = <A>(items: ReadonlyArray<A>): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let start = 0; start < items.length; start += rowsPerStatement) {
    out.push(items.slice(start, start + rowsPerStatement))
  }
  return out
}

const makeService = (
  sql: SqlClient.SqlClient,
  dialect: Dialect,
  tables: StoreTables.StoreTables,
  scrub: Scrub,
): LeadStore.LeadStoreService => {
  const leads = sql(tables.leads)
  const outbox = sql(tables.outbox)
  const settled = sql(tables.outboxSettled)
  const events = sql(tables.events)
  const outboxCols = sql.literal(outboxColumns)
  const queries = Queries.make(sql, tables)

  const transaction = withTransaction(sql)

  const fail = (operation: string, detail: string) =>
    Effect.fail(new LeadStore.StoreError({ operation, detail: scrub(detail) }))

  /** The value, or a `StoreError` for `operation` with the detail. */
  const orFail = <A>(operation: string, result: Either.Either<A, string>): Effect.Effect<A, LeadStore.StoreError> =>
    Either.match(result, { onLeft: (detail) => fail(operation, detail), onRight: Effect.succeed })

  /** Decodes rows with `decode`, failing `operation` on the first that does not decode. */
  const decodeAll = <R, A>(operation: string, rows: ReadonlyArray<R>, decode: (row: R) => Either.Either<A, string>) =>
    Effect.forEach(rows, (row) => orFail(operation, decode(row)))

  const entries = (operation: string, rows: ReadonlyArray<unknown>) =>
    Effect.map(decodeAll(operation, rows, toOutboxRecord), (records) => records.map((r) => r.entry))

  const storedVersion = (operation: string, leadId: string) =>
    Effect.flatMap(
      sql`SELECT version FROM ${leads} WHERE lead_id = ${leadId}`.withoutTransform,
      ([row]): Effect.Effect<number | undefined, LeadStore.StoreError> =>
        row === undefined
          ? Effect.succeed(undefined)
          : orFail(operation, toInteger(row.version, `the version of lead ${JSON.stringify(leadId)}`)),
    )

  /**
   * Appends the entries to the outbox, in order (each takes the next `seq`); settled ones (a
   * save may bring them) then move to the archive with it, so the outbox only ever holds
   * unsettled entries.
   */
  const insertEntries = (values: ReadonlyArray<OutboxValues>) =>
    Effect.gen(function* () {
      for (const chunk of chunks(values)) yield* sql`INSERT INTO ${outbox} ${sql.insert(chunk)}`.withoutTransform
      const done = values.filter((v) => isSettled(v.status)).map((v) => v.id)
      for (const ids of chunks(done)) {
        yield* sql`INSERT INTO ${settled} (${outboxCols})
          SELECT ${outboxCols} FROM ${outbox} WHERE ${sql.in("id", ids)}`.withoutTransform
        yield* sql`DELETE FROM ${outbox} WHERE ${sql.in("id", ids)}`.withoutTransform
      }
    })

  /** The entries `leadId` may add: ids new (in the table and in the batch) and of that lead. */
  const checkEntries = (leadId: string, batch: ReadonlyArray<LeadStore.OutboxEntry>) =>
    Effect.gen(function* () {
      const seen = new Set<unknown>()
      for (const ids of chunks(batch.map((entry) => entry.id))) {
        const rows = yield* sql`SELECT id FROM ${outbox} WHERE ${sql.in("id", ids)}
          UNION ALL SELECT id FROM ${settled} WHERE ${sql.in("id", ids)}`.withoutTransform
        for (const row of rows) seen.add(row.id)
      }
      for (const entry of batch) {
        if (seen.has(entry.id)) return yield* fail("save", `outbox entry ${JSON.stringify(entry.id)} exists`)
        if (entry.leadId !== leadId) {
          return yield* fail(
            "save",
            `outbox entry ${JSON.stringify(entry.id)} belongs to lead ${JSON.stringify(entry.leadId)}, not ${JSON.stringify(leadId)}`,
          )
        }
        seen.add(entry.id)
      }
    })

  /**
   * The claimed rows that decode, oldest first. A row that does not (written by a newer
   * release, or damaged) is logged and stays leased, so one bad row never stops the delivery
   * of every other lead; its lead's later entries wait behind it, as they must.
   */
  const claimedEntries = (rows: ReadonlyArray<unknown>) =>
    Effect.gen(function* () {
      const records: Array<OutboxRecord> = []
      for (const row of rows) {
        const record = toOutboxRecord(row)
        if (Either.isRight(record)) records.push(record.right)
        else yield* Effect.logError(`leadstate store: claim skipped an outbox row: ${scrub(record.left)}`)
      }
      return records.sort((a, b) => a.seq - b.seq).map((r) => r.entry)
    })

  /** Sets the entry's columns where it is, in `table`; true when it was there. */
  const updateIn = (table: Statement.Identifier, v: OutboxValues) =>
    Effect.map(
      sql`UPDATE ${table}
        SET intent = ${v.intent}, status = ${v.status}, attempts = ${v.attempts},
          available_at = ${v.available_at}, correlation_id = ${v.correlation_id}, failure = ${v.failure}
        WHERE id = ${v.id} AND lead_id = ${v.lead_id}
        RETURNING id`.withoutTransform,
      (rows) => rows.length > 0,
    )

  /**
   * Moves the entry from `from` to `to` (keeping its `seq`), with the columns of `v`,
   * atomically; true when it was in `from`. PostgreSQL: one statement (the identity column
   * takes the kept `seq` with OVERRIDING SYSTEM VALUE); SQLite: DELETE ... RETURNING, then
   * INSERT, in one transaction.
   */
  const move = (from: Statement.Identifier, to: Statement.Identifier, v: OutboxValues) =>
    dialect === "pg"
      ? Effect.map(
          sql`WITH moved AS (
              DELETE FROM ${from} WHERE id = ${v.id} AND lead_id = ${v.lead_id} RETURNING seq
            )
            INSERT INTO ${to} (${outboxCols}) OVERRIDING SYSTEM VALUE
            SELECT seq, ${v.id}, ${v.lead_id}, CAST(${v.intent} AS JSONB), ${v.status}, CAST(${v.attempts} AS INTEGER),
              CAST(${v.available_at} AS BIGINT), ${v.correlation_id}, CAST(${v.failure} AS JSONB)
            FROM moved
            RETURNING id`.withoutTransform,
          (rows) => rows.length > 0,
        )
      : transaction(
          Effect.gen(function* () {
            const [row] = yield* sql`DELETE FROM ${from} WHERE id = ${v.id} AND lead_id = ${v.lead_id}
              RETURNING seq`.withoutTransform
            if (row === undefined) return false
            yield* sql`INSERT INTO ${to} ${sql.insert({ seq: row.seq, ...v })}`.withoutTransform
            return true
          }),
        )

  const claimPg = (now: number, limit: number, leaseUntil: number) =>
    transaction(
      Effect.gen(function* () {
        const rows = yield* queries.claimPg(now, limit).withoutTransform
        if (rows.length === 0) return []
        const seqs = rows.map((row) => row.seq)
        const leased = yield* sql`UPDATE ${outbox} SET available_at = ${leaseUntil}
          WHERE ${sql.in("seq", seqs)}
          RETURNING ${outboxCols}`.withoutTransform
        return yield* claimedEntries(leased)
      }),
    )

  const claimSqlite = (now: number, limit: number, leaseUntil: number) =>
    transaction(Effect.flatMap(queries.claimSqlite(now, limit, leaseUntil).withoutTransform, claimedEntries))

  /** `save`, and with `vendorEventId` `saveVendorChange`: one transaction either way. */
  const save = (
    snapshot: LeadSnapshot.LeadSnapshot,
    expectedVersion: number | undefined,
    batch: ReadonlyArray<LeadStore.OutboxEntry>,
    history: ReadonlyArray<LeadSnapshot.HistoryEntry>,
    vendorEventId: string | undefined,
  ): Effect.Effect<void, LeadStore.StoreError | LeadStore.VersionConflict | LeadStore.DuplicateEvent> => {
    const operation = vendorEventId === undefined ? "save" : "saveVendorChange"
    return Effect.gen(function* () {
      const leadId = snapshot.leadId
      const json = yield* orFail(operation, toSnapshotJson(snapshot))
      const values = yield* Effect.forEach(batch, (entry) => orFail(operation, toOutboxValues(entry)))
      const log: ReadonlyArray<HistoryValues> = yield* orFail(
        operation,
        toHistoryValues(leadId, snapshot.version, history),
      )
      const dueAt =
        snapshot.due === undefined
          ? null
          : yield* orFail(operation, storedTime(snapshot.due.at, `the deadline of lead ${JSON.stringify(leadId)}`))
      yield* transaction(
        Effect.gen(function* () {
          if (vendorEventId !== undefined) {
            // First, so that a concurrent save of the same event waits here and then finds it.
            const recorded = yield* sql`INSERT INTO ${events} (vendor_event_id) VALUES (${vendorEventId})
                ON CONFLICT (vendor_event_id) DO NOTHING
                RETURNING vendor_event_id`.withoutTransform
            if (recorded.length === 0) return yield* new LeadStore.DuplicateEvent({ vendorEventId })
          }
          const written =
            expectedVersion === undefined
              ? yield* sql`INSERT INTO ${leads} (lead_id, version, snapshot, vendor_lead_id, due_at)
                    VALUES (${leadId}, ${snapshot.version}, ${json}, NULL, ${dueAt})
                    ON CONFLICT (lead_id) DO NOTHING
                    RETURNING lead_id`.withoutTransform
              : yield* sql`UPDATE ${leads} SET version = ${snapshot.version}, snapshot = ${json}, due_at = ${dueAt}
                    WHERE lead_id = ${leadId} AND version = ${expectedVersion}
                    RETURNING lead_id`.withoutTransform
          if (written.length === 0) {
            const actual = yield* storedVersion(operation, leadId)
            return yield* new LeadStore.VersionConflict({ leadId, expected: expectedVersion, actual })
          }
          yield* checkEntries(leadId, batch)
          yield* insertEntries(values)
          yield* insertHistory(sql, tables, log)
        }),
      )
    }).pipe(onSqlError(operation, scrub))
  }

  /**
   * The `after` cursor of `history` as the whole version to compare with: `undefined` for
   * every version, `"none"` when no version can be above it (NaN, or past the safe integers).
   */
  const historyCursor = (after: number | undefined): number | undefined | "none" => {
    if (after === undefined || Number.isNaN(after)) return after === undefined ? undefined : "none"
    const whole = Math.floor(after)
    if (whole < 0) return undefined
    return Number.isSafeInteger(whole) ? whole : "none"
  }

  return {
    load: (leadId) =>
      sql`SELECT ${sql.literal(leadColumns)} FROM ${leads} WHERE lead_id = ${leadId}`.withoutTransform.pipe(
        Effect.flatMap(([row]) =>
          row === undefined
            ? Effect.succeed(Option.none())
            : Effect.map(orFail("load", toStoredLead(row)), Option.some),
        ),
        onSqlError("load", scrub),
      ),

    loadForWrite: (leadId) =>
      queries.loadForWrite(leadId).withoutTransform.pipe(
        Effect.flatMap(([row]) => {
          if (row === undefined) return Effect.succeed(Option.none())
          const lead = toStoredLead({
            lead_id: row.lead_id,
            snapshot: row.snapshot,
            vendor_lead_id: row.vendor_lead_id,
          })
          const unsettled = toFlag(row.unsettled, `the unsettled flag of lead ${JSON.stringify(leadId)}`)
          return Effect.map(
            orFail(
              "loadForWrite",
              Either.flatMap(lead, (lead) => Either.map(unsettled, (unsettled) => ({ lead, unsettled }))),
            ),
            Option.some,
          )
        }),
        onSqlError("loadForWrite", scrub),
      ),

    // Without an event id there is no DuplicateEvent.
    save: (snapshot, expectedVersion, batch, history = []) =>
      Effect.catchTag(save(snapshot, expectedVersion, batch, history, undefined), "DuplicateEvent", Effect.die),
    saveVendorChange: (snapshot, expectedVersion, batch, vendorEventId, history = []) =>
      save(snapshot, expectedVersion, batch, history, vendorEventId),

    history: (leadId, query) =>
      Effect.gen(function* () {
        const after = historyCursor(query?.after)
        const limit = query?.limit
        if (after === "none" || (limit !== undefined && Queries.rowLimit(limit) === 0)) return []
        const rows = yield* queries.history(leadId, after, limit).withoutTransform
        return yield* decodeAll("history", rows, toHistoryRecord(leadId))
      }).pipe(onSqlError("history", scrub)),

    setVendorLeadId: (leadId, vendorLeadId) =>
      sql`UPDATE ${leads} SET vendor_lead_id = ${vendorLeadId}
        WHERE lead_id = ${leadId}
        RETURNING lead_id`.withoutTransform.pipe(
        Effect.flatMap((rows) =>
          rows.length === 0 ? fail("setVendorLeadId", `no lead ${JSON.stringify(leadId)}`) : Effect.void,
        ),
        onSqlError("setVendorLeadId", scrub),
      ),

    claim: (now, limit, leaseMs) =>
      Effect.gen(function* () {
        if (Queries.rowLimit(limit) === 0) return []
        const at = yield* orFail("claim", queryTime(now, "now"))
        const leaseUntil = yield* orFail("claim", storedTime(now + leaseMs, "the lease's end (now + leaseMs)"))
        return yield* dialect === "pg" ? claimPg(at, limit, leaseUntil) : claimSqlite(at, limit, leaseUntil)
      }).pipe(onSqlError("claim", scrub)),

    updateOutbox: (entry) =>
      Effect.gen(function* () {
        const v = yield* orFail("updateOutbox", toOutboxValues(entry))
        // Where the entry is now: settled ones are in the archive. The likely table first (a
        // settling entry is still in the outbox; an entry kept unsettled too).
        const [first, second] = isSettled(v.status)
          ? [move(outbox, settled, v), updateIn(settled, v)]
          : [updateIn(outbox, v), move(settled, outbox, v)]
        // Twice: on PostgreSQL, a concurrent update may move the entry across between the two
        // statements (each sees the tables as of its start), so that neither finds it.
        for (let round = 0; round < 2; round++) {
          if ((yield* first) || (yield* second)) return
        }
        return yield* fail(
          "updateOutbox",
          `no outbox entry ${JSON.stringify(entry.id)} of lead ${JSON.stringify(entry.leadId)}`,
        )
      }).pipe(onSqlError("updateOutbox", scrub)),

    outbox: (leadId) =>
      sql`SELECT ${outboxCols} FROM ${outbox} WHERE lead_id = ${leadId}
        UNION ALL SELECT ${outboxCols} FROM ${settled} WHERE lead_id = ${leadId}
        ORDER BY seq`.withoutTransform.pipe(
        Effect.flatMap((rows) => entries("outbox", rows)),
        onSqlError("outbox", scrub),
      ),

    outboxEntry: (leadId, entryId) =>
      sql`SELECT ${outboxCols} FROM ${outbox} WHERE id = ${entryId} AND lead_id = ${leadId}
        UNION ALL SELECT ${outboxCols} FROM ${settled} WHERE id = ${entryId} AND lead_id = ${leadId}`.withoutTransform.pipe(
        Effect.flatMap((rows) => entries("outboxEntry", rows.slice(0, 1))),
        Effect.map((found) => Option.fromNullable(found[0])),
        onSqlError("outboxEntry", scrub),
      ),

    hasUnsettled: (leadId) =>
      queries.hasUnsettled(leadId).withoutTransform.pipe(
        Effect.map((rows) => rows.length > 0),
        onSqlError("hasUnsettled", scrub),
      ),

    oldestAccepted: (leadId) =>
      queries.oldestAccepted(leadId).withoutTransform.pipe(
        Effect.flatMap((rows) => entries("oldestAccepted", rows)),
        Effect.map((found) => Option.fromNullable(found[0])),
        onSqlError("oldestAccepted", scrub),
      ),

    dueLeads: (now, limit) =>
      Effect.flatMap(
        orFail("dueLeads", queryTime(now, "now")),
        (at) => queries.dueLeads(at, limit).withoutTransform,
      ).pipe(
        Effect.flatMap((rows) =>
          Effect.forEach(rows, (row) =>
            typeof row.lead_id === "string"
              ? Effect.succeed(row.lead_id)
              : fail("dueLeads", `a lead id is corrupt: ${String(row.lead_id)}`),
          ),
        ),
        onSqlError("dueLeads", scrub),
      ),

    rememberEvent: (vendorEventId) =>
      sql`INSERT INTO ${events} (vendor_event_id) VALUES (${vendorEventId})
        ON CONFLICT (vendor_event_id) DO NOTHING
        RETURNING vendor_event_id`.withoutTransform.pipe(
        Effect.map((rows) => rows.length > 0),
        onSqlError("rememberEvent", scrub),
      ),
  }
}
