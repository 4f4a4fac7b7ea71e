/**
 * The persisted lead: its state, disposition, metadata, pending deadline and history.
 * Plain data (JSON round-trips), carrying a schema version so that a snapshot written by
 * another release either decodes or fails with a clear error.
 *
 * @since 0.1.0
 */
import { Either, ParseResult, Schema } from "effect"
import * as InputLimits from "./InputLimits.js"
import { Metadata } from "./Metadata.js"

/** The snapshot format this release writes and reads. */
export const currentSchemaVersion = 1 as const

/** One accepted move, as recorded in the snapshot's history. */
export const HistoryEntry = Schema.Struct({
  event: Schema.String,
  from: Schema.String,
  to: Schema.String,
  disposition: Schema.optional(Schema.String),
  note: Schema.optional(Schema.String),
  actor: Schema.optional(Schema.String),
  at: Schema.Finite,
})
export type HistoryEntry = typeof HistoryEntry.Type

/** A deadline stored as data: when `at` passes, `event` is due (see `Scheduler.dueEvents`). */
export const Deadline = Schema.Struct({
  event: Schema.Literal("wake", "followUpDue"),
  at: Schema.Finite,
})
export type Deadline = typeof Deadline.Type

/** Schema of a lead snapshot. Empty `metadata` and `history` may be left out of the JSON. */
export const LeadSnapshot = Schema.Struct({
  schemaVersion: Schema.Literal(currentSchemaVersion),
  leadId: Schema.String,
  state: Schema.String,
  previousState: Schema.optional(Schema.String),
  disposition: Schema.optional(Schema.String),
  /** When the lead entered its current state (epoch ms). */
  enteredAt: Schema.Finite,
  /** When the lead last accepted an event (epoch ms). */
  updatedAt: Schema.Finite,
  /** Accepted events so far; stores use it for optimistic concurrency. */
  version: Schema.NonNegativeInt,
  metadata: Schema.optionalWith(Metadata, { default: () => ({}) }),
  /** The state a snoozed lead wakes back to. */
  snoozedFrom: Schema.optional(Schema.String),
  due: Schema.optional(Deadline),
  history: Schema.optionalWith(Schema.Array(HistoryEntry), { default: () => [] }),
}).annotations({ identifier: "LeadSnapshot" })
export type LeadSnapshot = typeof LeadSnapshot.Type
export type LeadSnapshotJson = typeof LeadSnapshot.Encoded

/** The stored value is not a snapshot, or was written by a release this one cannot read. */
export class InvalidSnapshot extends Schema.TaggedError<InvalidSnapshot>()("InvalidSnapshot", {
  reason: Schema.Literal("NotJson", "UnsupportedVersion", "Shape"),
  detail: Schema.String,
}) {
  override get message(): string {
    return `Cannot restore lead snapshot: ${this.detail}`
  }
}

const decodeStruct = Schema.decodeUnknownEither(LeadSnapshot, { errors: "all", onExcessProperty: "ignore" })
const encodeStruct = Schema.encodeSync(LeadSnapshot)

/**
 * Why `input` (an object) cannot even be handed to the decoder: its metadata breaks the input
 * limits (see `Metadata.check`), or another field is not plain JSON or nested deeper than
 * `InputLimits.maxDepth`. Checked iteratively, before the Schema decoder (which recurses).
 */
const limitProblem = (input: object): string | undefined => {
  const record = input as Readonly<Record<string, unknown>>
  for (const key of Object.keys(record)) {
    const value = record[key]
    // An undefined field is an absent optional one (JSON.stringify leaves it out).
    const problem =
      value === undefined
        ? undefined
        : key === "metadata"
          ? InputLimits.checkJson(value, { maxSize: InputLimits.maxMetadataSize, path: "metadata" })
          : InputLimits.checkJson(value, { path: key, skipUndefinedProperties: true })
    if (problem !== undefined) return problem.message
  }
  return undefined
}

/**
 * Decodes a snapshot value (already parsed from JSON), checking its schema version first so
 * that a newer or unknown format is reported as such rather than as a shape error. Metadata
 * over the input limits (`InputLimits.maxDepth`, `InputLimits.maxMetadataSize`) or values that
 * are not plain JSON are refused as `Shape`.
 */
export const decode = (input: unknown): Either.Either<LeadSnapshot, InvalidSnapshot> => {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return Either.left(new InvalidSnapshot({ reason: "Shape", detail: "expected a JSON object." }))
  }
  const version = (input as { readonly schemaVersion?: unknown }).schemaVersion
  if (version !== currentSchemaVersion) {
    const detail =
      typeof version === "number" && version > currentSchemaVersion
        ? `it has schema version ${version}, written by a newer leadstate; this release reads version ${currentSchemaVersion}. Upgrade @leadstate/core.`
        : `it has schema version ${version === undefined ? "(missing)" : typeof version === "number" || typeof version === "string" ? JSON.stringify(version) : `of type ${typeof version}`}, which this release does not know; it reads version ${currentSchemaVersion}.`
    return Either.left(new InvalidSnapshot({ reason: "UnsupportedVersion", detail }))
  }
  const problem = limitProblem(input)
  if (problem !== undefined) return Either.left(new InvalidSnapshot({ reason: "Shape", detail: problem }))
  return Either.mapLeft(
    decodeStruct(input),
    (e) => new InvalidSnapshot({ reason: "Shape", detail: ParseResult.TreeFormatter.formatErrorSync(e) }),
  )
}

/** Encodes a snapshot to its JSON value, leaving out empty metadata and history. */
export const encode = (snapshot: LeadSnapshot): LeadSnapshotJson => {
  const { history, metadata, ...rest } = encodeStruct(snapshot)
  return {
    ...rest,
    ...(metadata !== undefined && Object.keys(metadata).length > 0 ? { metadata } : {}),
    ...(history !== undefined && history.length > 0 ? { history } : {}),
  }
}

/** The snapshot as a JSON string. */
export const toJson = (snapshot: LeadSnapshot): string => JSON.stringify(encode(snapshot))

/** Parses and decodes a JSON string written by {@link toJson}. */
export const fromJson = (json: string): Either.Either<LeadSnapshot, InvalidSnapshot> => {
  let parsed: unknown
  try {
    parsed = JSON.parse(json)
  } catch (e) {
    return Either.left(new InvalidSnapshot({ reason: "NotJson", detail: `not valid JSON (${String(e)}).` }))
  }
  return decode(parsed)
}

/**
 * When the lead last entered each state it has been in, from its history (the current
 * state's entry is `enteredAt`). States entered before a trimmed history are missing.
 */
export const timeEnteredPerState = (snapshot: LeadSnapshot): Readonly<Record<string, number>> => {
  const out: Record<string, number> = {}
  // defineProperty, not `out[name] =`: a state named "__proto__" must stay a key, not a prototype.
  const set = (name: string, at: number) =>
    Object.defineProperty(out, name, { value: at, enumerable: true, writable: true, configurable: true })
  for (const h of snapshot.history) set(h.to, h.at)
  set(snapshot.state, snapshot.enteredAt)
  return out
}
