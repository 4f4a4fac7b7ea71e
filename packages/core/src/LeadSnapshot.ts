/**
 * The persisted lead: its state, disposition, metadata, pending deadline and its latest
 * history entries (`recent`, bounded by the lifecycle's `historyLimit`; the full history is an
 * append-only log in the store, `LeadStore.history`). Plain data (JSON round-trips), carrying
 * a schema version so that a snapshot written by another release either decodes or fails with
 * a clear error. Version 1 snapshots (the whole history embedded) still decode: see
 * {@link decodeWithHistory}.
 *
 * @since 0.1.0
 */
import { Either, ParseResult, Schema } from "effect"
import * as InputLimits from "./InputLimits.js"
import { isRecord as isMetadataRecord, Metadata } from "./Metadata.js"

/** The snapshot format this release writes (it also reads version 1). */
export const currentSchemaVersion = 2 as const

/** One accepted move, as recorded in the lead's history. */
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

const fields = {
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
} as const

/** Schema of a lead snapshot. Empty `metadata` and `recent` may be left out of the JSON. */
export const LeadSnapshot = Schema.Struct({
  schemaVersion: Schema.Literal(currentSchemaVersion),
  ...fields,
  /**
   * The latest history entries, oldest first, at most the lifecycle's `historyLimit`. The
   * whole history is the store's log (`LeadStore.history`), one row per move.
   */
  recent: Schema.optionalWith(Schema.Array(HistoryEntry), { default: () => [] }),
}).annotations({ identifier: "LeadSnapshot" })
export type LeadSnapshot = typeof LeadSnapshot.Type
export type LeadSnapshotJson = typeof LeadSnapshot.Encoded

/** Schema of a version 1 snapshot: the same fields, with the whole history embedded. */
export const LeadSnapshotV1 = Schema.Struct({
  schemaVersion: Schema.Literal(1),
  ...fields,
  history: Schema.optionalWith(Schema.Array(HistoryEntry), { default: () => [] }),
}).annotations({ identifier: "LeadSnapshotV1" })
export type LeadSnapshotV1 = typeof LeadSnapshotV1.Type

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
const decodeStructV1 = Schema.decodeUnknownEither(LeadSnapshotV1, { errors: "all", onExcessProperty: "ignore" })
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

/** A decoded snapshot and the history entries it carried that belong in the store's log. */
export interface DecodedWithHistory {
  readonly snapshot: LeadSnapshot
  /**
   * A version 1 snapshot's embedded history (its whole history as far as it was kept), which a
   * store migrating the snapshot appends to its log; empty for version 2.
   */
  readonly history: ReadonlyArray<HistoryEntry>
}

/**
 * Decodes a snapshot value (already parsed from JSON), checking its schema version first so
 * that a newer or unknown format is reported as such rather than as a shape error. A version 1
 * snapshot is migrated: its embedded history is returned apart, and its last `keepRecent`
 * entries (default 10) become `recent`. Metadata over the input limits
 * (`InputLimits.maxDepth`, `InputLimits.maxMetadataSize`) or values that are not plain JSON
 * are refused as `Shape`.
 */
export const decodeWithHistory = (
  input: unknown,
  keepRecent = defaultKeepRecent,
): Either.Either<DecodedWithHistory, InvalidSnapshot> => {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return Either.left(new InvalidSnapshot({ reason: "Shape", detail: "expected a JSON object." }))
  }
  const version = (input as { readonly schemaVersion?: unknown }).schemaVersion
  if (version !== currentSchemaVersion && version !== 1) {
    const detail =
      typeof version === "number" && version > currentSchemaVersion
        ? `it has schema version ${version}, written by a newer leadstate; this release reads versions 1 and ${currentSchemaVersion}. Upgrade @leadstate/core.`
        : `it has schema version ${version === undefined ? "(missing)" : typeof version === "number" || typeof version === "string" ? JSON.stringify(version) : `of type ${typeof version}`}, which this release does not know; it reads versions 1 and ${currentSchemaVersion}.`
    return Either.left(new InvalidSnapshot({ reason: "UnsupportedVersion", detail }))
  }
  const problem = limitProblem(input)
  if (problem !== undefined) return Either.left(new InvalidSnapshot({ reason: "Shape", detail: problem }))
  const shape = (e: ParseResult.ParseError) =>
    new InvalidSnapshot({ reason: "Shape", detail: ParseResult.TreeFormatter.formatErrorSync(e) })
  if (version === currentSchemaVersion) {
    // A snapshot as this release writes it takes the plain check below; anything else (and
    // every error message) goes through the Schema decoder. Both accept the same values.
    const fast = readCurrent(input as Readonly<Record<string, unknown>>)
    if (fast !== undefined) return Either.right({ snapshot: fast, history: [] })
    return Either.map(Either.mapLeft(decodeStruct(input), shape), (snapshot) => ({ snapshot, history: [] }))
  }
  return Either.map(Either.mapLeft(decodeStructV1(input), shape), fromV1(keepRecent))
}

const isString = (u: unknown): u is string => typeof u === "string"
const isFiniteNumber = (u: unknown): u is number => typeof u === "number" && Number.isFinite(u)
const optionalString = (u: unknown): boolean => u === undefined || typeof u === "string"

const readHistoryEntry = (u: unknown): HistoryEntry | undefined => {
  if (typeof u !== "object" || u === null || Array.isArray(u)) return undefined
  const e = u as Readonly<Record<string, unknown>>
  if (!isString(e.event) || !isString(e.from) || !isString(e.to) || !isFiniteNumber(e.at)) return undefined
  if (!optionalString(e.disposition) || !optionalString(e.note) || !optionalString(e.actor)) return undefined
  const out: { -readonly [K in keyof HistoryEntry]: HistoryEntry[K] } = {
    event: e.event,
    from: e.from,
    to: e.to,
    at: e.at,
  }
  if ("disposition" in e) out.disposition = e.disposition as string | undefined
  if ("note" in e) out.note = e.note as string | undefined
  if ("actor" in e) out.actor = e.actor as string | undefined
  return out
}

/**
 * The version 2 snapshot `r` as the Schema decoder would return it (the same fields, excess
 * ones left out), or `undefined` when any field is not as written by this release; the caller
 * then runs the decoder for its message. Runs after `limitProblem`, so every field is plain
 * JSON within the limits and `metadata` needs only to be an object. Property-tested against
 * the decoder (`test/snapshot.property.test.ts`).
 */
const readCurrent = (r: Readonly<Record<string, unknown>>): LeadSnapshot | undefined => {
  const { leadId, state, enteredAt, updatedAt, version, metadata, due, recent } = r
  if (!isString(leadId) || !isString(state) || !isFiniteNumber(enteredAt) || !isFiniteNumber(updatedAt)) {
    return undefined
  }
  if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 0) return undefined
  if (!optionalString(r.previousState) || !optionalString(r.disposition) || !optionalString(r.snoozedFrom)) {
    return undefined
  }
  if (metadata !== undefined && !isMetadataRecord(metadata)) return undefined
  let deadline: Deadline | undefined
  if (due !== undefined) {
    if (typeof due !== "object" || due === null || Array.isArray(due)) return undefined
    const d = due as Readonly<Record<string, unknown>>
    if ((d.event !== "wake" && d.event !== "followUpDue") || !isFiniteNumber(d.at)) return undefined
    deadline = { event: d.event, at: d.at }
  }
  let entries: Array<HistoryEntry> = []
  if (recent !== undefined) {
    if (!Array.isArray(recent)) return undefined
    entries = new Array<HistoryEntry>(recent.length)
    for (let i = 0; i < recent.length; i++) {
      const entry = readHistoryEntry(recent[i])
      if (entry === undefined) return undefined
      entries[i] = entry
    }
  }
  const out: { -readonly [K in keyof LeadSnapshot]: LeadSnapshot[K] } = {
    schemaVersion: currentSchemaVersion,
    leadId,
    state,
    enteredAt,
    updatedAt,
    version,
    metadata: (metadata ?? {}) as Metadata,
    recent: entries,
  }
  if ("previousState" in r) out.previousState = r.previousState as string | undefined
  if ("disposition" in r) out.disposition = r.disposition as string | undefined
  if ("snoozedFrom" in r) out.snoozedFrom = r.snoozedFrom as string | undefined
  if ("due" in r) out.due = deadline
  return out
}

/** How many of a version 1 snapshot's history entries {@link decodeWithHistory} keeps in `recent`. */
export const defaultKeepRecent = 10

const fromV1 =
  (keepRecent: number) =>
  (v1: LeadSnapshotV1): DecodedWithHistory => {
    const { history, schemaVersion: _, ...rest } = v1
    const keep = Math.max(0, Math.floor(keepRecent))
    const recent = keep === 0 ? [] : history.slice(Math.max(0, history.length - keep))
    const snapshot: LeadSnapshot = {
      schemaVersion: currentSchemaVersion,
      ...rest,
      recent,
    }
    return { snapshot, history }
  }

/**
 * Decodes a snapshot value: {@link decodeWithHistory} without the log entries (a version 1
 * snapshot keeps its last 10 history entries in `recent`; a store migrating one must use
 * `decodeWithHistory` so that no entry is lost).
 */
export const decode = (input: unknown): Either.Either<LeadSnapshot, InvalidSnapshot> =>
  Either.map(decodeWithHistory(input), (d) => d.snapshot)

/** Encodes a snapshot to its JSON value, leaving out empty metadata and recent history. */
export const encode = (snapshot: LeadSnapshot): LeadSnapshotJson => {
  const { recent, metadata, ...rest } = encodeStruct(snapshot)
  return {
    ...rest,
    ...(metadata !== undefined && Object.keys(metadata).length > 0 ? { metadata } : {}),
    ...(recent !== undefined && recent.length > 0 ? { recent } : {}),
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
 * When the lead last entered each state it has been in, from `history` (oldest first; by
 * default the snapshot's `recent` entries; pass the store's `LeadStore.history` for all of
 * them). The current state's time is `enteredAt`. States entered before `history` are missing.
 */
export const timeEnteredPerState = (
  snapshot: LeadSnapshot,
  history: ReadonlyArray<HistoryEntry> = snapshot.recent,
): Readonly<Record<string, number>> => {
  const out: Record<string, number> = {}
  // defineProperty, not `out[name] =`: a state named "__proto__" must stay a key, not a prototype.
  const set = (name: string, at: number) =>
    Object.defineProperty(out, name, { value: at, enumerable: true, writable: true, configurable: true })
  for (const h of history) set(h.to, h.at)
  set(snapshot.state, snapshot.enteredAt)
  return out
}
