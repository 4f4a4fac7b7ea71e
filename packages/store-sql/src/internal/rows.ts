/**
 * Rows as stored and as read back: SQLite returns JSON columns as text and integers as numbers,
 * PostgreSQL returns jsonb parsed and BIGINT as strings. Every row is checked; a row that does
 * not decode is reported (as a detail string naming it), never trusted.
 *
 * Two decoders of each row: the Schema one (the specification) and a hand-written one of plain
 * type checks, run first because it costs a fraction (`bench/rowDecode.ts`). They accept the
 * same rows and decode them to the same values (`test/rows.test.ts`). When the plain one refuses
 * a row, the Schema one decides and words the detail, so a refusal by the plain decoder alone
 * never loses a row. Entries are encoded the same way.
 *
 * @internal
 */
import { type CrmError, LeadSnapshot, type LeadStore, Metadata, SyncIntent } from "@leadstate/core"
import { Either, ParseResult, Schema } from "effect"

/** A value for a message; never throws (`String` does, on an object without `toString`). */
const shown = (value: unknown): string => {
  try {
    return String(value)
  } catch {
    return `an object (${typeof value})`
  }
}

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
      : ParseResult.fail(new ParseResult.Type(ast, raw, `expected a safe integer, got ${shown(raw)}`))
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

/** A lead row's columns, decoded (the snapshot column parsed, not yet decoded). */
type LeadRowValue = typeof LeadRow.Type

/** The stored lead of a decoded lead row: its snapshot decoded by `LeadSnapshot.decode`. */
const storedLead = (row: LeadRowValue): Either.Either<LeadStore.StoredLead, string> =>
  Either.map(
    Either.mapLeft(
      LeadSnapshot.decode(row.snapshot),
      (e) => `lead ${JSON.stringify(row.lead_id)} has a corrupt snapshot: ${e.detail}`,
    ),
    (snapshot) => ({ snapshot, vendorLeadId: row.vendor_lead_id ?? undefined }),
  )

// ---------------------------------------------------------------------------------------------
// The Schema codecs: the specification, and the detail of every refusal
// ---------------------------------------------------------------------------------------------

/**
 * `decode()`, or a `Left` detail (after `prefix`) when Schema throws: it does on a few values no
 * driver returns, such as an object without a prototype where a tag belongs.
 */
const orDetail = <A>(prefix: string, decode: () => Either.Either<A, string>): Either.Either<A, string> => {
  try {
    return decode()
  } catch (e) {
    return Either.left(`${prefix}: a value could not be read (${e instanceof Error ? e.message : shown(e)})`)
  }
}

const schemaStoredLead = (row: unknown): Either.Either<LeadStore.StoredLead, string> => {
  const corrupt = `lead ${rowName(row, "lead_id")} is corrupt`
  return orDetail(corrupt, () =>
    Either.flatMap(
      Either.mapLeft(decodeLeadRow(row), (e) => `${corrupt}: ${formatError(e)}`),
      storedLead,
    ),
  )
}

const schemaOutboxRecord = (row: unknown): Either.Either<OutboxRecord, string> => {
  const corrupt = `outbox entry ${rowName(row, "id")} is corrupt`
  return orDetail(corrupt, () =>
    Either.map(
      Either.mapLeft(decodeOutboxRow(row), (e) => `${corrupt}: ${formatError(e)}`),
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
    ),
  )
}

const schemaInteger = (value: unknown, what: string): Either.Either<number, string> =>
  orDetail(`${what} is corrupt`, () =>
    Either.mapLeft(decodeInteger(value), (e) => `${what} is corrupt: ${formatError(e)}`),
  )

/** The row of `entry`, from its checked (encoded) intent and failure and its stored time. */
const rowValues = (
  entry: LeadStore.OutboxEntry,
  intent: unknown,
  failure: unknown,
  availableAt: number,
): OutboxValues => ({
  id: entry.id,
  lead_id: entry.leadId,
  intent: JSON.stringify(intent),
  status: entry.status,
  attempts: entry.attempts,
  available_at: availableAt,
  correlation_id: entry.correlationId ?? null,
  failure: failure === null ? null : JSON.stringify(failure),
})

const schemaOutboxValues = (entry: LeadStore.OutboxEntry): Either.Either<OutboxValues, string> => {
  const invalid = `outbox entry ${JSON.stringify(entry.id)} is invalid`
  return orDetail(invalid, () =>
    Either.gen(function* () {
      const detail = (e: ParseResult.ParseError) => `${invalid}: ${formatError(e)}`
      const intent = yield* Either.mapLeft(encodeIntent(entry.intent), detail)
      const failure = entry.failure === undefined ? null : yield* Either.mapLeft(encodeFailure(entry.failure), detail)
      const availableAt = yield* storedTime(
        entry.availableAt,
        `availableAt of outbox entry ${JSON.stringify(entry.id)}`,
      )
      return rowValues(entry, intent, failure, availableAt)
    }),
  )
}

// ---------------------------------------------------------------------------------------------
// The plain codecs: the same checks as the schemas above, by hand. `undefined` is a refusal.
// ---------------------------------------------------------------------------------------------

type Fields = { readonly [key: string]: unknown }
type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** What Schema takes for a struct: an object, not an array. */
const isFields = (u: unknown): u is Fields => typeof u === "object" && u !== null && !Array.isArray(u)
const isString = (u: unknown): u is string => typeof u === "string"
const isFiniteNumber = (u: unknown): u is number => typeof u === "number" && Number.isFinite(u)
const isMetadata = (u: unknown): u is Metadata.Metadata => Metadata.check(u) === undefined
const integerText = /^-?\d+$/

/** An integer column's value (a number, a decimal string or a bigint), when it is a safe integer. */
const safeInteger = (raw: unknown): number | undefined => {
  const value =
    typeof raw === "number"
      ? raw
      : typeof raw === "bigint" || (typeof raw === "string" && integerText.test(raw))
        ? Number(raw)
        : undefined
  return value !== undefined && Number.isSafeInteger(value) ? value : undefined
}

const isStatus = (u: unknown): u is LeadStore.OutboxStatus =>
  u === "pending" || u === "accepted" || u === "confirmed" || u === "failed"

/** {@link jsonColumn} of text that is not JSON. */
const notJson: unique symbol = Symbol("notJson")

/** A JSON column's value: text parsed (SQLite), anything else as it is (PostgreSQL jsonb). */
const jsonColumn = (raw: unknown): unknown => {
  if (typeof raw !== "string") return raw
  try {
    return JSON.parse(raw)
  } catch {
    return notJson
  }
}

/**
 * A `Schema.optional` field: absent unless an own key of `from`; when it is, its value (which
 * `undefined` or `is` must accept) is copied to `to`. False for a value refused.
 */
const optionalField = (
  from: Fields,
  to: { [key: string]: unknown },
  key: string,
  is: (u: unknown) => boolean,
): boolean => {
  if (!Object.hasOwn(from, key)) return true
  const value = from[key]
  if (value !== undefined && !is(value)) return false
  to[key] = value
  return true
}

/**
 * `SyncIntent.SyncIntent` decoded (or encoded: the same checks): a copy with the fields of its
 * `_tag` only, in the schema's order (so its JSON text is the Schema encoder's).
 */
const plainIntent = (u: unknown): SyncIntent.SyncIntent | undefined => {
  if (!isFields(u) || !Object.hasOwn(u, "_tag")) return undefined
  const { leadId, at } = u
  if (typeof leadId !== "string" || !isFiniteNumber(at)) return undefined
  switch (u._tag) {
    case "CreateLead": {
      const { state, metadata } = u
      return typeof state === "string" && isMetadata(metadata)
        ? { _tag: "CreateLead", leadId, state, metadata, at }
        : undefined
    }
    case "SetState": {
      const { from, to } = u
      if (typeof from !== "string" || typeof to !== "string") return undefined
      const out: { [key: string]: unknown } = { _tag: "SetState", leadId, from, to }
      if (
        !optionalField(u, out, "disposition", isString) ||
        !optionalField(u, out, "note", isString) ||
        !optionalField(u, out, "metadata", isMetadata) ||
        !optionalField(u, out, "actor", isString) ||
        !optionalField(u, out, "snoozeUntil", isFiniteNumber)
      ) {
        return undefined
      }
      out.at = at
      // Built field by field to keep the schema's key order; every field was checked above.
      return out as unknown as SyncIntent.SetState
    }
    case "MergeMetadata": {
      const { metadata } = u
      if (!isMetadata(metadata)) return undefined
      const out: { [key: string]: unknown } = { _tag: "MergeMetadata", leadId, metadata }
      if (!optionalField(u, out, "actor", isString)) return undefined
      out.at = at
      return out as unknown as SyncIntent.MergeMetadata
    }
    default:
      return undefined
  }
}

type FailureValue = NonNullable<LeadStore.OutboxEntry["failure"]>

/** The `failure` of an entry decoded (or encoded), as a copy. */
const plainFailure = (u: unknown): FailureValue | undefined => {
  if (!isFields(u)) return undefined
  const { reason, message } = u
  return typeof reason === "string" && isReasonTag(reason) && typeof message === "string"
    ? { reason, message }
    : undefined
}

const plainLeadRow = (row: unknown): LeadRowValue | undefined => {
  if (!isFields(row)) return undefined
  const { lead_id, vendor_lead_id } = row
  if (typeof lead_id !== "string" || (vendor_lead_id !== null && typeof vendor_lead_id !== "string")) return undefined
  const snapshot = jsonColumn(row.snapshot)
  return snapshot === notJson ? undefined : { lead_id, snapshot, vendor_lead_id }
}

const plainOutboxRecord = (row: unknown): OutboxRecord | undefined => {
  if (!isFields(row)) return undefined
  const seq = safeInteger(row.seq)
  const attempts = safeInteger(row.attempts)
  const availableAt = safeInteger(row.available_at)
  const { id, lead_id: leadId, status, correlation_id: correlationId } = row
  if (
    seq === undefined ||
    attempts === undefined ||
    availableAt === undefined ||
    typeof id !== "string" ||
    typeof leadId !== "string" ||
    !isStatus(status) ||
    (correlationId !== null && typeof correlationId !== "string")
  ) {
    return undefined
  }
  const intent = plainIntent(jsonColumn(row.intent))
  const failure = row.failure === null ? null : plainFailure(jsonColumn(row.failure))
  if (intent === undefined || failure === undefined) return undefined
  const entry: Mutable<LeadStore.OutboxEntry> = { id, leadId, intent, status, attempts, availableAt }
  if (correlationId !== null) entry.correlationId = correlationId
  if (failure !== null) entry.failure = failure
  return { seq, entry }
}

const plainOutboxValues = (entry: LeadStore.OutboxEntry): OutboxValues | undefined => {
  const intent = plainIntent(entry.intent)
  const failure = entry.failure === undefined ? null : plainFailure(entry.failure)
  const availableAt = Math.ceil(entry.availableAt)
  if (intent === undefined || failure === undefined || !Number.isSafeInteger(availableAt)) return undefined
  return rowValues(entry, intent, failure, availableAt)
}

/**
 * Each codec twice, alone: `schema` (the specification) and `plain` (`undefined` for a refusal,
 * with no Schema fallback). For the equivalence test and the bench; the store uses the exports
 * below.
 *
 * @internal
 */
export const codecs = {
  schema: {
    leadRow: decodeLeadRow,
    storedLead: schemaStoredLead,
    outboxRecord: schemaOutboxRecord,
    outboxValues: schemaOutboxValues,
    integer: schemaInteger,
  },
  plain: {
    leadRow: plainLeadRow,
    outboxRecord: plainOutboxRecord,
    outboxValues: plainOutboxValues,
    integer: safeInteger,
  },
} as const

// ---------------------------------------------------------------------------------------------
// What the store calls: the plain codec, and the Schema one for what it refuses
// ---------------------------------------------------------------------------------------------

/** Decodes a lead row; `Left` is a detail naming the lead. */
export const toStoredLead = (row: unknown): Either.Either<LeadStore.StoredLead, string> => {
  const decoded = plainLeadRow(row)
  return decoded === undefined ? schemaStoredLead(row) : storedLead(decoded)
}

/** Decodes an outbox row; `Left` is a detail naming the entry. */
export const toOutboxRecord = (row: unknown): Either.Either<OutboxRecord, string> => {
  const record = plainOutboxRecord(row)
  return record === undefined ? schemaOutboxRecord(row) : Either.right(record)
}

/** Decodes an integer column (e.g. a version read back); `Left` is a detail. */
export const toInteger = (value: unknown, what: string): Either.Either<number, string> => {
  const integer = safeInteger(value)
  return integer === undefined ? schemaInteger(value, what) : Either.right(integer)
}

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

/** Encodes an entry into its column values; `Left` is a detail naming the entry. */
export const toOutboxValues = (entry: LeadStore.OutboxEntry): Either.Either<OutboxValues, string> => {
  const values = plainOutboxValues(entry)
  return values === undefined ? schemaOutboxValues(entry) : Either.right(values)
}

/** The snapshot's JSON text; `Left` is a detail naming the lead. */
export const toSnapshotJson = (snapshot: LeadSnapshot.LeadSnapshot): Either.Either<string, string> =>
  Either.try({
    try: () => LeadSnapshot.toJson(snapshot),
    catch: (e) =>
      `the snapshot of lead ${JSON.stringify(snapshot.leadId)} is invalid: ${e instanceof Error ? e.message : String(e)}`,
  })
