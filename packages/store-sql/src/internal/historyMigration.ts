/**
 * The data steps of migration 3 (`Migrations`), run inside the migrator's transaction:
 * settled outbox rows move to the archive, and every version 1 snapshot's embedded history
 * moves to the history log, the snapshot being rewritten as version 2.
 *
 * @internal
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import { LeadSnapshot, LeadStore } from "@leadstate/core"
import { Effect, Either } from "effect"
import type { Dialect } from "../SqlLeadStore.js"
import type * as StoreTables from "../StoreTables.js"
import { type HistoryValues, insertHistory, toHistoryValues } from "./historyRows.js"
import { outboxColumns, toSnapshotJson } from "./rows.js"

/** Leads read (and rewritten) per step, so that memory stays bounded on large tables. */
export const leadsPerChunk = 500

const failed = (detail: string) => new LeadStore.StoreError({ operation: "migrate", detail })

/** Moves the confirmed and failed outbox rows, with their `seq`, to the archive. */
export const archiveSettled = (sql: SqlClient.SqlClient, tables: StoreTables.StoreTables) =>
  Effect.gen(function* () {
    const cols = sql.literal(outboxColumns)
    yield* sql`INSERT INTO ${sql(tables.outboxSettled)} (${cols})
      SELECT ${cols} FROM ${sql(tables.outbox)} WHERE status IN ('confirmed', 'failed')`.withoutTransform
    yield* sql`DELETE FROM ${sql(tables.outbox)} WHERE status IN ('confirmed', 'failed')`.withoutTransform
  })

/** The rewrite of one lead: its version 2 snapshot JSON and its history rows. */
interface Converted {
  readonly leadId: string
  readonly snapshot: string
  readonly history: ReadonlyArray<HistoryValues>
}

/**
 * The lead row converted, `undefined` when it is a version 2 snapshot already (left as it is),
 * or a `StoreError` naming the lead when it does not decode.
 */
const convert = (
  row: Readonly<Record<string, unknown>>,
): Either.Either<Converted | undefined, LeadStore.StoreError> => {
  const leadId = row.lead_id
  if (typeof leadId !== "string") return Either.left(failed(`a lead id is corrupt: ${String(leadId)}`))
  const corrupt = (detail: string) =>
    failed(
      `lead ${JSON.stringify(leadId)} has a corrupt snapshot: ${detail.replace(/\.$/, "")}. Nothing was migrated; repair or delete the row, then run the migrations again.`,
    )
  let value: unknown = row.snapshot
  if (typeof value === "string") {
    try {
      value = JSON.parse(value)
    } catch {
      return Either.left(corrupt("not valid JSON"))
    }
  }
  const decoded = LeadSnapshot.decodeWithHistory(value)
  if (Either.isLeft(decoded)) return Either.left(corrupt(decoded.left.detail))
  const version = (value as { readonly schemaVersion?: unknown }).schemaVersion
  if (version === LeadSnapshot.currentSchemaVersion) return Either.right(undefined)
  const { snapshot, history } = decoded.right
  return Either.gen(function* () {
    const json = yield* Either.mapLeft(toSnapshotJson(snapshot), corrupt)
    const rows = yield* Either.mapLeft(toHistoryValues(leadId, snapshot.version, history), corrupt)
    return { leadId, snapshot: json, history: rows }
  })
}

/**
 * Rewrites every version 1 snapshot as version 2 (`recent`: its last 10 entries) and appends
 * its embedded history to the log (version: the snapshot's, idx: the position), walking the
 * leads table `leadsPerChunk` rows at a time in `lead_id` order. A row that does not decode
 * fails the migration, naming the lead: nothing is skipped, and the transaction writes nothing.
 */
export const moveHistoryToLog = (sql: SqlClient.SqlClient, dialect: Dialect, tables: StoreTables.StoreTables) =>
  Effect.gen(function* () {
    const leads = sql(tables.leads)
    // The VALUES list is text: PostgreSQL needs it cast to the jsonb column's type.
    const asJson = sql.literal(dialect === "pg" ? "CAST(v.snapshot AS JSONB)" : "v.snapshot")
    let after: string | undefined
    for (;;) {
      const rows =
        after === undefined
          ? yield* sql`SELECT lead_id, snapshot FROM ${leads} ORDER BY lead_id LIMIT ${leadsPerChunk}`.withoutTransform
          : yield* sql`SELECT lead_id, snapshot FROM ${leads} WHERE lead_id > ${after}
              ORDER BY lead_id LIMIT ${leadsPerChunk}`.withoutTransform
      const converted: Array<Converted> = []
      for (const row of rows) {
        const lead = convert(row)
        if (Either.isLeft(lead)) return yield* lead.left
        if (lead.right !== undefined) converted.push(lead.right)
      }
      if (converted.length > 0) {
        yield* insertHistory(
          sql,
          tables,
          converted.flatMap((lead) => lead.history),
        )
        const values = sql.csv(converted.map((lead) => sql`(${lead.leadId}, ${lead.snapshot})`))
        yield* sql`WITH v (lead_id, snapshot) AS (VALUES ${values})
          UPDATE ${leads} SET snapshot = ${asJson} FROM v WHERE ${leads}.lead_id = v.lead_id`.withoutTransform
      }
      const last = rows[rows.length - 1]
      if (rows.length < leadsPerChunk || last === undefined) return
      after = String(last.lead_id)
    }
  })
