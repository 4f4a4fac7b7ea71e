/**
 * The functional core: start a lead, and apply an event to a snapshot. Pure and total: for
 * any input it returns either the next snapshot with the vendor-neutral intents it implies,
 * or a typed `LifecycleError`. It runs on the compiled transition table (map lookups, no
 * XState interpretation, no Effect per event); the XState machine generated from the same
 * definition is tested to agree with it.
 *
 * @since 0.1.0
 */
import { Either } from "effect"
import * as InputLimits from "./InputLimits.js"
import { currentSchemaVersion, type Deadline, type HistoryEntry, type LeadSnapshot } from "./LeadSnapshot.js"
import type { Lifecycle } from "./Lifecycle.js"
import {
  DispositionRequired,
  InvalidEvent,
  InvalidTransition,
  LeadIsFinal,
  type LifecycleError,
  UnknownDisposition,
  UnknownState,
} from "./LifecycleError.js"
import * as Metadata from "./Metadata.js"
import type { CreateLead, SetState, SyncIntent } from "./SyncIntent.js"

/** A successful step: the next snapshot, what the vendor should be told, and what it adds to the history. */
export interface Transitioned {
  readonly snapshot: LeadSnapshot
  readonly intents: ReadonlyArray<SyncIntent>
  /**
   * The history entries this step appends to the lead's log (none for a metadata update); a
   * store saves them with the snapshot (`LeadStore.save`). The snapshot's `recent` has them too,
   * within the lifecycle's `historyLimit`.
   */
  readonly history: ReadonlyArray<HistoryEntry>
}

/** What {@link start} needs to create a lead. */
export interface StartOptions {
  readonly leadId: string
  /** Creation time, epoch milliseconds (a valid `InputLimits.Time`; only {@link startChecked} checks it). */
  readonly at: number
  readonly metadata?: Metadata.Metadata
}

/**
 * A new lead in the initial state, with the `CreateLead` intent for the vendor. The options are
 * trusted; use {@link startChecked} for `at` or `metadata` from outside.
 */
export const start = (lifecycle: Lifecycle, options: StartOptions): Transitioned => {
  const metadata = options.metadata ?? Metadata.empty
  const entry: HistoryEntry = { event: "start", from: lifecycle.initial, to: lifecycle.initial, at: options.at }
  const snapshot: LeadSnapshot = {
    schemaVersion: currentSchemaVersion,
    leadId: options.leadId,
    state: lifecycle.initial,
    enteredAt: options.at,
    updatedAt: options.at,
    version: 0,
    metadata,
    ...followUpDeadline(lifecycle, lifecycle.initial, options.at),
    recent: lifecycle.historyLimit > 0 ? [entry] : [],
  }
  const create: CreateLead = {
    _tag: "CreateLead",
    leadId: options.leadId,
    state: lifecycle.initial,
    metadata,
    at: options.at,
  }
  return { snapshot, intents: [create], history: [entry] }
}

/**
 * {@link start}, for untrusted options: `at` must be a valid time (`InputLimits.isTime`), with
 * any first follow-up deadline still one, and `metadata` valid metadata (`Metadata.check`);
 * otherwise `InvalidEvent`. Never throws.
 */
export const startChecked = (
  lifecycle: Lifecycle,
  options: StartOptions,
): Either.Either<Transitioned, InvalidEvent> => {
  const fail = (detail: string) => Either.left(new InvalidEvent({ leadId: String(options.leadId), detail }))
  if (typeof options.leadId !== "string") return fail('"leadId" must be a string.')
  if (!InputLimits.isTime(options.at)) {
    return fail(`"at" must be epoch milliseconds, ${timeRange} (got ${describe(options.at)}).`)
  }
  const problem = options.metadata === undefined ? undefined : Metadata.check(options.metadata)
  if (problem !== undefined) return fail(problem.message)
  const due = followUpDeadline(lifecycle, lifecycle.initial, options.at).due
  if (due !== undefined && !InputLimits.isTime(due.at)) {
    return fail(
      `the follow-up deadline (${due.at}) would fall after the last date JavaScript can represent (${InputLimits.maxTime}); use an earlier "at".`,
    )
  }
  return Either.right(start(lifecycle, options))
}

const followUpDeadline = (lifecycle: Lifecycle, state: string, at: number): { readonly due?: Deadline } => {
  const interval = lifecycle.followUpIntervalMs
  return interval !== undefined && lifecycle.states.get(state)?.followUpNext !== undefined
    ? { due: { event: "followUpDue", at: at + interval } }
    : {}
}

// Errors are built without re-validating their fields: they are constructed from checked data.
const NO_VALIDATION = true

type Result = Either.Either<Transitioned, LifecycleError>

/**
 * A rejection. Its stack trace would only point into this function, and capturing it is most
 * of the cost of a rejected event (measured by `pnpm bench`), so none is captured.
 */
const reject = (make: () => LifecycleError): Result => {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return Either.left(make())
  } finally {
    Error.stackTraceLimit = limit
  }
}

const invalid = (leadId: string, detail: string): Result =>
  reject(() => new InvalidEvent({ leadId, detail }, NO_VALIDATION))

const optionalString = (e: Record<string, unknown>, key: string): string | undefined | false => {
  const v = e[key]
  return v === undefined || typeof v === "string" ? v : false
}

interface Move {
  readonly event: string
  readonly to: string
  readonly at: number
  readonly disposition: string | undefined
  readonly note: string | undefined
  readonly actor: string | undefined
  readonly metadata: Metadata.Metadata | undefined
  readonly snoozedFrom: string | undefined
  readonly due: Deadline | undefined
  readonly snoozeUntil: number | undefined
}

/**
 * `recent` with `entry` appended, keeping the last `lifecycle.historyLimit` entries: bounded,
 * so a move costs the same however long the lead's history (the log is the store's).
 */
export const appendRecent = (
  lifecycle: Lifecycle,
  recent: ReadonlyArray<HistoryEntry>,
  entry: HistoryEntry,
): ReadonlyArray<HistoryEntry> => {
  const limit = lifecycle.historyLimit
  if (limit <= 0) return recent.length === 0 ? recent : []
  const next = recent.length >= limit ? recent.slice(recent.length - limit + 1) : recent.slice()
  next.push(entry)
  return next
}

/** The lead's metadata after merging `patch`, or why it would break the limits. */
const merged = (base: Metadata.Metadata, patch: Metadata.Metadata): Either.Either<Metadata.Metadata, string> =>
  Either.mapLeft(Metadata.mergeWithin(base, patch), (problem) =>
    problem.kind === "TooLarge"
      ? `with this metadata, the lead's metadata would be more than ${InputLimits.maxMetadataSize} characters as JSON (the limit per lead); remove keys (set them to null) or store less.`
      : `the lead's stored metadata is not valid: ${problem.message}`,
  )

const move = (lifecycle: Lifecycle, s: LeadSnapshot, m: Move): Result => {
  if (m.due !== undefined && !InputLimits.isTime(m.due.at)) {
    return invalid(
      s.leadId,
      `the ${m.due.event === "wake" ? "wake-up" : "follow-up"} deadline (${m.due.at}) would fall after the last date JavaScript can represent (${InputLimits.maxTime}); use an earlier "at".`,
    )
  }
  const nextMetadata = m.metadata === undefined ? Either.right(s.metadata) : merged(s.metadata, m.metadata)
  if (Either.isLeft(nextMetadata)) return invalid(s.leadId, nextMetadata.left)
  const entry: HistoryEntry = { event: m.event, from: s.state, to: m.to, at: m.at }
  if (m.disposition !== undefined) (entry as { disposition?: string }).disposition = m.disposition
  if (m.note !== undefined) (entry as { note?: string }).note = m.note
  if (m.actor !== undefined) (entry as { actor?: string }).actor = m.actor
  const snapshot: { -readonly [K in keyof LeadSnapshot]: LeadSnapshot[K] } = {
    schemaVersion: currentSchemaVersion,
    leadId: s.leadId,
    state: m.to,
    previousState: s.state,
    enteredAt: m.at,
    updatedAt: m.at,
    version: s.version + 1,
    metadata: nextMetadata.right,
    recent: appendRecent(lifecycle, s.recent, entry),
  }
  if (m.disposition !== undefined) snapshot.disposition = m.disposition
  if (m.snoozedFrom !== undefined) snapshot.snoozedFrom = m.snoozedFrom
  if (m.due !== undefined) snapshot.due = m.due
  const intent: { -readonly [K in keyof SetState]: SetState[K] } = {
    _tag: "SetState",
    leadId: s.leadId,
    from: s.state,
    to: m.to,
    at: m.at,
  }
  if (m.disposition !== undefined) intent.disposition = m.disposition
  if (m.note !== undefined) intent.note = m.note
  if (m.metadata !== undefined) intent.metadata = m.metadata
  if (m.actor !== undefined) intent.actor = m.actor
  if (m.snoozeUntil !== undefined) intent.snoozeUntil = m.snoozeUntil
  return Either.right({ snapshot, intents: [intent], history: [entry] })
}

/**
 * Applies one event to a lead. Never throws: malformed events give `InvalidEvent`, a snapshot
 * in a state the lifecycle does not know gives `UnknownState`.
 *
 * @example
 * const step = transition(lifecycle, snapshot, { type: "transition", to: "lost", disposition: "wrong_number", at: Date.now() })
 * if (Either.isRight(step)) save(step.right.snapshot)
 */
export const transition = (lifecycle: Lifecycle, snapshot: LeadSnapshot, event: unknown): Result => {
  const leadId = snapshot.leadId
  const current = lifecycle.states.get(snapshot.state)
  if (current === undefined) {
    return reject(() => new UnknownState({ leadId, state: snapshot.state, known: lifecycle.stateNames }, NO_VALIDATION))
  }
  if (typeof event !== "object" || event === null || Array.isArray(event)) {
    return invalid(leadId, 'an event must be an object with a "type".')
  }
  const e = event as Record<string, unknown>
  const type = e.type
  const rawAt = e.at
  if (rawAt !== undefined && !InputLimits.isTime(rawAt)) {
    return invalid(leadId, `"at" must be epoch milliseconds, ${timeRange} (got ${describe(rawAt)}).`)
  }
  const at = rawAt ?? snapshot.updatedAt
  if (!InputLimits.isTime(at)) {
    return invalid(
      leadId,
      `the event has no "at" and the lead's updatedAt (${describe(at)}) is not a valid time; give "at", epoch milliseconds ${timeRange}.`,
    )
  }
  const actor = optionalString(e, "actor")
  if (actor === false) return invalid(leadId, '"actor" must be a string.')
  const note = optionalString(e, "note")
  if (note === false) return invalid(leadId, '"note" must be a string.')
  const rawMetadata = e.metadata
  const metadataProblem = rawMetadata === undefined ? undefined : Metadata.check(rawMetadata)
  if (metadataProblem !== undefined) return invalid(leadId, metadataProblem.message)
  const metadata = rawMetadata as Metadata.Metadata | undefined

  if (current.final && type !== "reopen") {
    if (typeof type === "string" && isEventType(type)) {
      return reject(
        () =>
          new LeadIsFinal(
            { leadId, state: current.name, event: type, reopenTo: [...current.reopen.keys()] },
            NO_VALIDATION,
          ),
      )
    }
  }

  switch (type) {
    case "transition": {
      const to = e.to
      if (typeof to !== "string") return invalid(leadId, 'a "transition" event needs "to", the target state.')
      const disposition = optionalString(e, "disposition")
      if (disposition === false) return invalid(leadId, '"disposition" must be a string.')
      const target = lifecycle.states.get(to)
      if (target === undefined) {
        return reject(() => new UnknownState({ leadId, state: to, known: lifecycle.stateNames }, NO_VALIDATION))
      }
      if (!current.targets.has(to)) {
        return reject(
          () => new InvalidTransition({ leadId, from: current.name, to, allowed: current.targetList }, NO_VALIDATION),
        )
      }
      const rule = target.dispositions
      if (disposition !== undefined) {
        if (rule === undefined || !rule.allowed.has(disposition)) {
          return reject(
            () => new UnknownDisposition({ leadId, state: to, disposition, allowed: rule?.list ?? [] }, NO_VALIDATION),
          )
        }
      } else if (rule?.required === true) {
        return reject(() => new DispositionRequired({ leadId, state: to, allowed: rule.list }, NO_VALIDATION))
      }
      return move(lifecycle, snapshot, {
        event: "transition",
        to,
        at,
        disposition,
        note,
        actor,
        metadata,
        snoozedFrom: undefined,
        due: followUpDeadline(lifecycle, to, at).due,
        snoozeUntil: undefined,
      })
    }
    case "updateMetadata": {
      if (metadata === undefined) return invalid(leadId, 'an "updateMetadata" event needs "metadata".')
      const nextMetadata = merged(snapshot.metadata, metadata)
      if (Either.isLeft(nextMetadata)) return invalid(leadId, nextMetadata.left)
      const next: LeadSnapshot = {
        ...snapshot,
        metadata: nextMetadata.right,
        updatedAt: at,
        version: snapshot.version + 1,
      }
      const intent: SyncIntent =
        actor === undefined
          ? { _tag: "MergeMetadata", leadId, metadata, at }
          : { _tag: "MergeMetadata", leadId, metadata, actor, at }
      return Either.right({ snapshot: next, intents: [intent], history: [] })
    }
    case "snooze": {
      const snoozeState = lifecycle.snoozeState
      if (snoozeState === undefined) return invalid(leadId, "this lifecycle has no snooze state.")
      const rawUntil = e.until
      if (rawUntil !== undefined && (typeof rawUntil !== "number" || !Number.isFinite(rawUntil))) {
        return invalid(leadId, `"until" must be epoch milliseconds, ${timeRange} (got ${describe(rawUntil)}).`)
      }
      if (!current.snoozable) {
        return reject(
          () =>
            new InvalidTransition(
              {
                leadId,
                from: current.name,
                to: snoozeState,
                allowed: current.targetList,
                reason:
                  current.name === snoozeState ? "the lead is already snoozed" : `"${current.name}" cannot be snoozed`,
              },
              NO_VALIDATION,
            ),
        )
      }
      const until = rawUntil ?? (lifecycle.snoozeDefaultMs === undefined ? undefined : at + lifecycle.snoozeDefaultMs)
      if (until !== undefined && until <= at) {
        return invalid(leadId, `"until" (${until}) must be later than the event time (${at}).`)
      }
      if (rawUntil !== undefined && !InputLimits.isTime(rawUntil)) {
        return invalid(leadId, `"until" must be epoch milliseconds, ${timeRange} (got ${describe(rawUntil)}).`)
      }
      return move(lifecycle, snapshot, {
        event: "snooze",
        to: snoozeState,
        at,
        disposition: undefined,
        note,
        actor,
        metadata: undefined,
        snoozedFrom: current.name,
        due: until === undefined ? undefined : { event: "wake", at: until },
        snoozeUntil: until,
      })
    }
    case "wake": {
      const back = snapshot.snoozedFrom
      if (current.name !== lifecycle.snoozeState || back === undefined) {
        return reject(
          () =>
            new InvalidTransition(
              {
                leadId,
                from: current.name,
                to: back ?? "(wake)",
                allowed: current.targetList,
                reason: "the lead is not snoozed",
              },
              NO_VALIDATION,
            ),
        )
      }
      if (!lifecycle.states.has(back)) {
        return reject(() => new UnknownState({ leadId, state: back, known: lifecycle.stateNames }, NO_VALIDATION))
      }
      return move(lifecycle, snapshot, {
        event: "wake",
        to: back,
        at,
        disposition: undefined,
        note: undefined,
        actor,
        metadata: undefined,
        snoozedFrom: undefined,
        due: followUpDeadline(lifecycle, back, at).due,
        snoozeUntil: undefined,
      })
    }
    case "followUpDue": {
      const next = current.followUpNext
      if (next === undefined) {
        return reject(
          () =>
            new InvalidTransition(
              {
                leadId,
                from: current.name,
                to: "(next follow-up)",
                allowed: current.targetList,
                reason: `"${current.name}" is not in a follow-up sequence`,
              },
              NO_VALIDATION,
            ),
        )
      }
      return move(lifecycle, snapshot, {
        event: "followUpDue",
        to: next.to,
        at,
        disposition: next.disposition,
        note: undefined,
        actor,
        metadata: undefined,
        snoozedFrom: undefined,
        due: followUpDeadline(lifecycle, next.to, at).due,
        snoozeUntil: undefined,
      })
    }
    case "reopen": {
      const to = e.to
      if (typeof to !== "string") return invalid(leadId, 'a "reopen" event needs "to", the state to reopen into.')
      const reason = optionalString(e, "reason")
      if (reason === false) return invalid(leadId, '"reason" must be a string.')
      if (!lifecycle.states.has(to)) {
        return reject(() => new UnknownState({ leadId, state: to, known: lifecycle.stateNames }, NO_VALIDATION))
      }
      if (!current.final) {
        return reject(
          () =>
            new InvalidTransition(
              {
                leadId,
                from: current.name,
                to,
                allowed: current.targetList,
                reason: "only a final lead can be reopened",
              },
              NO_VALIDATION,
            ),
        )
      }
      const rule = current.reopen.get(to)
      if (rule === undefined) {
        return reject(
          () =>
            new InvalidTransition(
              {
                leadId,
                from: current.name,
                to,
                allowed: [...current.reopen.keys()],
                reason: "no reopen rule leads there",
              },
              NO_VALIDATION,
            ),
        )
      }
      if (rule.reasons !== undefined) {
        if (reason === undefined) {
          return invalid(leadId, `reopening "${current.name}" needs a "reason": one of ${rule.reasons.join(", ")}.`)
        }
        if (!rule.reasons.includes(reason)) {
          return invalid(
            leadId,
            `"${reason}" is not a reason to reopen "${current.name}"; use one of ${rule.reasons.join(", ")}.`,
          )
        }
      }
      return move(lifecycle, snapshot, {
        event: "reopen",
        to,
        at,
        disposition: undefined,
        note: note ?? reason,
        actor,
        metadata: undefined,
        snoozedFrom: undefined,
        due: followUpDeadline(lifecycle, to, at).due,
        snoozeUntil: undefined,
      })
    }
    default:
      return invalid(
        leadId,
        `unknown event type ${describe(type)}; expected one of transition, updateMetadata, snooze, wake, followUpDue, reopen.`,
      )
  }
}

const isEventType = (type: string): boolean =>
  type === "transition" || type === "updateMetadata" || type === "snooze" || type === "wake" || type === "followUpDue"

const describe = (u: unknown): string =>
  u === undefined
    ? "(missing)"
    : typeof u === "string"
      ? JSON.stringify(u.length > 40 ? `${u.slice(0, 40)}…` : u)
      : typeof u === "number"
        ? String(u)
        : `of type ${typeof u}`

const timeRange = `a whole number from ${InputLimits.minTime} to ${InputLimits.maxTime}, the last date JavaScript can represent`
