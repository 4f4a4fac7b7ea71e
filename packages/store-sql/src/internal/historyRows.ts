/**
 * History log rows (`<prefix>history`: `lead_id`, `version`, `idx`, `entry` JSON) as written
 * (and their INSERT) and read back, and the other values the store reads that are not outbox
 * or lead rows. Like `rows.ts`: a row that does not decode is reported (as a detail string
 * naming it), never trusted.
 *
 * @internal
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import { LeadSnapshot, type LeadStore } from "@leadstate/core"
import { Effect, Either, ParseResult, Schema } from "effect"
import type * as StoreTables from "../StoreTables.js"
import { storedTime, toInteger } from "./rows.js"

/** The columns read for a history record, in this order. */
export const historyColumns = "version, idx, entry"

/** The column values of one history row, as `sql.insert` takes them (a type: it needs an index signature). */
export type HistoryValues = {
  readonly lead_id: string
  readonly version: number
  readonly idx: number
  /** The entry's JSON text. */
  readonly entry: string
}

/** History rows per INSERT (4 parameters each: well within SQLite's and PostgreSQL's limits). */
export const historyRowsPerInsert = 1_000

/**
 * Appends `rows` to the history log, `historyRowsPerInsert` per statement (none for no rows):
 * for `save` and for migration 3.
 */
export const insertHistory = (
  sql: SqlClient.SqlClient,
  tables: StoreTables.StoreTables,
  rows: ReadonlyArray<HistoryValues>,
) =>
  Effect.gen(function* () {
    for (let start = 0; start < rows.length; start += historyRowsPerInsert) {
      const chunk = rows.slice(start, start + historyRowsPerInsert)
      yield* sql`INSERT INTO ${sql(tables.history)} ${sql.insert(chunk)}`.withoutTransform
    }
  })

/**
 * The entry as JSON text, with its fields in a fixed order and nothing else (so that what is
 * read back is what the schema decodes).
 */
const entryJson = (entry: LeadSnapshot.HistoryEntry): string =>
  JSON.stringify({
    event: entry.event,
    from: entry.from,
    to: entry.to,
    ...(entry.disposition === undefined ? {} : { disposition: entry.disposition }),
    ...(entry.note === undefined ? {} : { note: entry.note }),
    ...(entry.actor === undefined ? {} : { actor: entry.actor }),
    at: entry.at,
  })

/**
 * The rows of `entries` saved with `version` of lead `leadId` (`idx`: the position in
 * `entries`). An entry whose time the store cannot keep (not whole epoch ms within 2^53, as for
 * every other time) is `Left`, a detail naming the lead.
 */
export const toHistoryValues = (
  leadId: string,
  version: number,
  entries: ReadonlyArray<LeadSnapshot.HistoryEntry>,
): Either.Either<ReadonlyArray<HistoryValues>, string> => {
  const out: Array<HistoryValues> = []
  for (const [idx, entry] of entries.entries()) {
    const time = storedTime(entry.at, `the time of history entry ${idx} of lead ${JSON.stringify(leadId)}`)
    if (Either.isLeft(time)) return Either.left(time.left)
    out.push({ lead_id: leadId, version, idx, entry: entryJson(entry) })
  }
  return Either.right(out)
}

const decodeEntry = Schema.decodeUnknownEither(LeadSnapshot.HistoryEntry, { errors: "all" })

/**
 * The entry, when `value` is one (what `entryJson` writes): checked field by field, which is
 * much faster than the schema decoder on long logs; `undefined` otherwise (the schema then says why).
 */
const asEntry = (value: unknown): LeadSnapshot.HistoryEntry | undefined => {
  if (typeof value !== "object" || value === null) return undefined
  const { event, from, to, disposition, note, actor, at } = value as Readonly<Record<string, unknown>>
  if (typeof event !== "string" || typeof from !== "string" || typeof to !== "string") return undefined
  if (typeof at !== "number" || !Number.isFinite(at)) return undefined
  if (disposition !== undefined && typeof disposition !== "string") return undefined
  if (note !== undefined && typeof note !== "string") return undefined
  if (actor !== undefined && typeof actor !== "string") return undefined
  return {
    event,
    from,
    to,
    ...(disposition === undefined ? {} : { disposition }),
    ...(note === undefined ? {} : { note }),
    ...(actor === undefined ? {} : { actor }),
    at,
  }
}

/** Decodes a history row (SQLite: JSON text; PostgreSQL: parsed jsonb); `Left` names the lead and row. */
export const toHistoryRecord =
  (leadId: string) =>
  (row: Readonly<Record<string, unknown>>): Either.Either<LeadStore.HistoryRecord, string> => {
    const version = toInteger(row.version, `the version of a history entry of lead ${JSON.stringify(leadId)}`)
    if (Either.isLeft(version)) return Either.left(version.left)
    const corrupt = (detail: string) =>
      Either.left(
        `history entry ${String(row.idx)} of lead ${JSON.stringify(leadId)} at version ${version.right} is corrupt: ${detail}`,
      )
    let value: unknown = row.entry
    if (typeof value === "string") {
      try {
        value = JSON.parse(value)
      } catch {
        return corrupt("expected JSON text")
      }
    }
    const entry = asEntry(value)
    if (entry !== undefined) return Either.right({ ...entry, version: version.right })
    return Either.match(decodeEntry(value), {
      onLeft: (e) => corrupt(ParseResult.TreeFormatter.formatErrorSync(e)),
      onRight: (decoded) => Either.right({ ...decoded, version: version.right }),
    })
  }

/**
 * A boolean column: PostgreSQL returns a boolean, SQLite 0 or 1; `Left` is a detail for
 * anything else.
 */
export const toFlag = (value: unknown, what: string): Either.Either<boolean, string> =>
  value === true || value === 1 || value === 1n
    ? Either.right(true)
    : value === false || value === 0 || value === 0n
      ? Either.right(false)
      : Either.left(`${what} is corrupt: expected a boolean, got ${String(value)}`)
