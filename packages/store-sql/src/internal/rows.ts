/**
 * Rows as stored and as read back: SQLite returns JSON columns as text and integers as numbers,
 * PostgreSQL returns jsonb parsed and BIGINT as strings. Every row is decoded with Schema; a row
 * that does not decode is reported (as a detail string naming it), never trusted.
 *
 * @internal
 */
import { type CrmError, LeadSnapshot, type LeadStore, SyncIntent } from "@leadstate/core"
import { Either, ParseResult, Schema } from "effect"

/** An integer column: a number, a decimal string (PostgreSQL int8) or a bigint, within the safe range. */
const DbInteger = Schema.transformOrFail(Schema.Unknown, Schema.Int, {
  strict: true,
  decode: (raw, _options, ast) => {
    const value =
      typeof raw === "number"
        ? raw
        : typeof raw === "bigint" || (typeof raw === "string" && /^-?\d+$/.test(raw))
          ? Number(raw)
          : undefined
    return value !== undefined && Number.isSafeInteger(value)
      ? ParseResult.succeed(value)
      : ParseResult.fail(new ParseResult.Type(ast, raw, `expected a safe integer, got ${String(raw)}`))
  },
  encode: ParseResult.succeed,
})

/** A JSON column: text to parse (SQLite) or a value the driver already parsed (PostgreSQL jsonb). */
const JsonColumn = Schema.transformOrFail(Schema.Unknown, Schema.Unknown, {
  strict: true,
  decode: (raw, _options, ast) => {
    if (typeof raw !== "string") return ParseResult.succeed(raw)
    try {
      return ParseResult.succeed(JSON.parse(raw))
    } catch {
      return ParseResult.fail(new ParseResult.Type(ast, raw, "expected JSON text"))
    }
  },
  encode: (value) => ParseResult.succeed(JSON.stringify(value)),
})

const reasonTags: { readonly [Tag in CrmError.CrmErrorReason["_tag"]]: true } = {
  Unauthorized: true,
  NotFound: true,
  Conflict: true,
  DuplicateLead: true,
  InvalidRequest: true,
  CallInProgress: true,
  RateLimited: true,
  VendorUnavailable: true,
  Transport: true,
  MalformedResponse: true,
  Unsupported: true,
  VendorIgnoredWrite: true,
}

const isReasonTag = (value: string): value is CrmError.CrmErrorReason["_tag"] => Object.hasOwn(reasonTags, value)

/** The `failure` of an outbox entry. */
const Failure = Schema.Struct({
  reason: Schema.String.pipe(Schema.filter(isReasonTag, { message: () => "expected a CrmError reason tag" })),
  message: Schema.String,
})

const OutboxStatus = Schema.Literal("pending", "accepted", "confirmed", "failed")

const LeadRow = Schema.Struct({
  lead_id: Schema.String,
  snapshot: JsonColumn,
  vendor_lead_id: Schema.NullOr(Schema.String),
})

const OutboxRow = Schema.Struct({
  seq: DbInteger,
  id: Schema.String,
  lead_id: Schema.String,
  intent: Schema.compose(JsonColumn, SyncIntent.SyncIntent),
  status: OutboxStatus,
  attempts: DbInteger,
  available_at: DbInteger,
  correlation_id: Schema.NullOr(Schema.String),
  failure: Schema.NullOr(Schema.compose(JsonColumn, Failure)),
})

const decodeLeadRow = Schema.decodeUnknownEither(LeadRow, { errors: "all" })
const decodeOutboxRow = Schema.decodeUnknownEither(OutboxRow, { errors: "all" })
const decodeInteger = Schema.decodeUnknownEither(DbInteger)
const encodeIntent = Schema.encodeEither(SyncIntent.SyncIntent)
const encodeFailure = Schema.encodeEither(Failure)

const formatError = (error: ParseResult.ParseError): string => ParseResult.TreeFormatter.formatErrorSync(error)

/** The `id` (or `lead_id`) of a raw row, for error messages. */
const rowName = (row: unknown, column: string): string => {
  const value = typeof row === "object" && row !== null && column in row ? Reflect.get(row, column) : undefined
  return typeof value === "string" ? JSON.stringify(value) : "(unknown)"
}

/** The columns read for an outbox entry, in this order. */
export const outboxColumns = "seq, id, lead_id, intent, status, attempts, available_at, correlation_id, failure"

/** The columns read for a lead. */
export const leadColumns = "lead_id, snapshot, vendor_lead_id"

/** An outbox entry read back, with its creation sequence number. */
export interface OutboxRecord {
  readonly seq: number
  readonly entry: LeadStore.OutboxEntry
}

/** Decodes a lead row; `Left` is a detail naming the lead. */
export const toStoredLead = (row: unknown): Either.Either<LeadStore.StoredLead, string> =>
  Either.flatMap(
    Either.mapLeft(decodeLeadRow(row), (e) => `lead ${rowName(row, "lead_id")} is corrupt: ${formatError(e)}`),
    (decoded) =>
      Either.map(
        Either.mapLeft(
          LeadSnapshot.decode(decoded.snapshot),
          (e) => `lead ${JSON.stringify(decoded.lead_id)} has a corrupt snapshot: ${e.detail}`,
        ),
        (snapshot) => ({ snapshot, vendorLeadId: decoded.vendor_lead_id ?? undefined }),
      ),
  )

/** Decodes an outbox row; `Left` is a detail naming the entry. */
export const toOutboxRecord = (row: unknown): Either.Either<OutboxRecord, string> =>
  Either.map(
    Either.mapLeft(decodeOutboxRow(row), (e) => `outbox entry ${rowName(row, "id")} is corrupt: ${formatError(e)}`),
    (r) => ({
      seq: r.seq,
      entry: {
        id: r.id,
        leadId: r.lead_id,
        intent: r.intent,
        status: r.status,
        attempts: r.attempts,
        availableAt: r.available_at,
        ...(r.correlation_id === null ? {} : { correlationId: r.correlation_id }),
        ...(r.failure === null ? {} : { failure: r.failure }),
      },
    }),
  )

/** Decodes an integer column (e.g. a version read back); `Left` is a detail. */
export const toInteger = (value: unknown, what: string): Either.Either<number, string> =>
  Either.mapLeft(decodeInteger(value), (e) => `${what} is corrupt: ${formatError(e)}`)

/**
 * Epoch ms as stored: BIGINT holds whole milliseconds, so a fractional time is rounded up (an
 * entry is never available, nor a deadline due, earlier than asked). A time that is not a
 * finite number within the safe integers (what the rows decode back) is refused: `Left`.
 */
export const storedTime = (ms: number, what: string): Either.Either<number, string> => {
  const whole = Math.ceil(ms)
  return Number.isSafeInteger(whole)
    ? Either.right(whole)
    : Either.left(`${what} (${ms}) is not a time the store can keep (whole epoch ms, at most 2^53 - 1)`)
}

/** `now` for comparisons with stored (whole) times: `t <= now` iff `t <= floor(now)`. */
export const queryTime = (now: number, what: string): Either.Either<number, string> => {
  const whole = Math.floor(now)
  return Number.isSafeInteger(whole) ? Either.right(whole) : Either.left(`${what} (${now}) is not a usable time`)
}

/** The column values of an outbox entry (JSON as text), as `sql.insert` takes them. */
export type OutboxValues = {
  readonly id: string
  readonly lead_id: string
  readonly intent: string
  readonly status: LeadStore.OutboxStatus
  readonly attempts: number
  readonly available_at: number
  readonly correlation_id: string | null
  readonly failure: string | null
}

/** Encodes an entry into its column values; `Left` is a detail naming the entry. */
export const toOutboxValues = (entry: LeadStore.OutboxEntry): Either.Either<OutboxValues, string> =>
  Either.gen(function* () {
    const invalid = (e: ParseResult.ParseError) =>
      `outbox entry ${JSON.stringify(entry.id)} is invalid: ${formatError(e)}`
    const intent = yield* Either.mapLeft(encodeIntent(entry.intent), invalid)
    const failure = entry.failure === undefined ? null : yield* Either.mapLeft(encodeFailure(entry.failure), invalid)
    const availableAt = yield* storedTime(entry.availableAt, `availableAt of outbox entry ${JSON.stringify(entry.id)}`)
    return {
      id: entry.id,
      lead_id: entry.leadId,
      intent: JSON.stringify(intent),
      status: entry.status,
      attempts: entry.attempts,
      available_at: availableAt,
      correlation_id: entry.correlationId ?? null,
      failure: failure === null ? null : JSON.stringify(failure),
    }
  })

/** The snapshot's JSON text; `Left` is a detail naming the lead. */
export const toSnapshotJson = (snapshot: LeadSnapshot.LeadSnapshot): Either.Either<string, string> =>
  Either.try({
    try: () => LeadSnapshot.toJson(snapshot),
    catch: (e) =>
      `the snapshot of lead ${JSON.stringify(snapshot.leadId)} is invalid: ${e instanceof Error ? e.message : String(e)}`,
  })
