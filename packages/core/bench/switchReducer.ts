/**
 * Baseline for the benchmark only: the auto-dealer rules written by hand as a switch, the way
 * an app would without leadstate. It does the same work as the pure `transition` (checks the
 * same fields in the same order, builds a new immutable snapshot with the same fields and a
 * history append, the same `SetState` / `MergeMetadata` intent, and an error object for each
 * rejection) but with the rules hard-coded instead of looked up in a compiled table.
 *
 * Errors are plain tagged objects (not `Error` subclasses), as a hand-written reducer that
 * returns errors as values would make them: no stack trace is captured.
 */
import type { Deadline, HistoryEntry, LeadSnapshot } from "../src/LeadSnapshot.js"
import type { Json, Metadata } from "../src/Metadata.js"
import type { SetState, SyncIntent } from "../src/SyncIntent.js"

const DAY = 24 * 60 * 60 * 1000
const FOLLOW_UP_MS = 2 * DAY
const SNOOZE_MS = 7 * DAY

export type SwitchErrorTag =
  | "InvalidTransition"
  | "DispositionRequired"
  | "UnknownDisposition"
  | "LeadIsFinal"
  | "UnknownState"
  | "InvalidEvent"

export class SwitchError {
  constructor(
    readonly _tag: SwitchErrorTag,
    readonly leadId: string,
    readonly state: string,
    readonly to: string | undefined,
    readonly allowed: ReadonlyArray<string>,
    readonly detail: string | undefined,
  ) {}
}

export type SwitchResult =
  | { readonly ok: true; readonly snapshot: LeadSnapshot; readonly intents: ReadonlyArray<SyncIntent> }
  | { readonly ok: false; readonly error: SwitchError }

const STATES = [
  "new",
  "contacted",
  "followup_1",
  "followup_2",
  "followup_3",
  "interested",
  "test_drive_booked",
  "converted",
  "lost",
  "snoozed",
] as const
const NONE: ReadonlyArray<string> = []
const TO_CONTACTED_LOST = ["contacted", "lost"]
const TO_INTERESTED_LOST = ["interested", "lost"]
const TO_TDB_CONVERTED_LOST = ["test_drive_booked", "converted", "lost"]
const TO_CONVERTED_LOST = ["converted", "lost"]
const TO_LOST = ["lost"]
const REOPEN_LOST = ["contacted"]
const REOPEN_REASONS = ["customer_called_back", "new_inquiry"]
const D_INTERESTED = ["wants_callback", "price_inquiry", "trade_in_inquiry"]
const D_TDB = ["showroom", "home_delivery"]
const D_CONVERTED = ["purchased", "leased", "financed"]
const D_LOST = ["not_interested", "wrong_number", "bought_elsewhere", "unreachable", "do_not_call"]

const isState = (s: string): boolean => {
  switch (s) {
    case "new":
    case "contacted":
    case "followup_1":
    case "followup_2":
    case "followup_3":
    case "interested":
    case "test_drive_booked":
    case "converted":
    case "lost":
    case "snoozed":
      return true
    default:
      return false
  }
}

/** Targets of a `transition` event; undefined for an unknown state. */
const targetsOf = (s: string): ReadonlyArray<string> | undefined => {
  switch (s) {
    case "new":
      return TO_CONTACTED_LOST
    case "contacted":
    case "followup_1":
    case "followup_2":
    case "followup_3":
      return TO_INTERESTED_LOST
    case "interested":
      return TO_TDB_CONVERTED_LOST
    case "test_drive_booked":
      return TO_CONVERTED_LOST
    case "snoozed":
      return TO_LOST
    case "converted":
    case "lost":
      return NONE
    default:
      return undefined
  }
}

const canMove = (from: string, to: string): boolean => {
  switch (from) {
    case "new":
      return to === "contacted" || to === "lost"
    case "contacted":
    case "followup_1":
    case "followup_2":
    case "followup_3":
      return to === "interested" || to === "lost"
    case "interested":
      return to === "test_drive_booked" || to === "converted" || to === "lost"
    case "test_drive_booked":
      return to === "converted" || to === "lost"
    case "snoozed":
      return to === "lost"
    default:
      return false
  }
}

/** Dispositions a target takes, and whether it requires one. */
const dispositionsOf = (to: string): ReadonlyArray<string> | undefined => {
  switch (to) {
    case "interested":
      return D_INTERESTED
    case "test_drive_booked":
      return D_TDB
    case "converted":
      return D_CONVERTED
    case "lost":
      return D_LOST
    default:
      return undefined
  }
}

const followUpNext = (s: string): string | undefined => {
  switch (s) {
    case "contacted":
      return "followup_1"
    case "followup_1":
      return "followup_2"
    case "followup_2":
      return "followup_3"
    case "followup_3":
      return "lost"
    default:
      return undefined
  }
}

const hasFollowUp = (s: string): boolean =>
  s === "contacted" || s === "followup_1" || s === "followup_2" || s === "followup_3"

const fail = (
  tag: SwitchErrorTag,
  leadId: string,
  state: string,
  to: string | undefined,
  allowed: ReadonlyArray<string>,
  detail?: string,
): SwitchResult => ({ ok: false, error: new SwitchError(tag, leadId, state, to, allowed, detail) })

/** Entries a snapshot keeps in `recent` (`Lifecycle.defaultHistoryLimit`). */
const RECENT = 10

const invalid = (leadId: string, state: string, detail: string): SwitchResult =>
  fail("InvalidEvent", leadId, state, undefined, NONE, detail)

const mergeMetadata = (base: Metadata, patch: Metadata): Metadata => {
  const out: { [key: string]: Json } = { ...base }
  for (const key of Object.keys(patch)) {
    const value = patch[key]
    if (value === null || value === undefined) delete out[key]
    else out[key] = value
  }
  return out
}

const isRecord = (u: unknown): u is Metadata => typeof u === "object" && u !== null && !Array.isArray(u)

const str = (v: unknown): string | undefined | false => (v === undefined || typeof v === "string" ? v : false)

const moveTo = (
  s: LeadSnapshot,
  event: string,
  to: string,
  at: number,
  disposition: string | undefined,
  note: string | undefined,
  actor: string | undefined,
  metadata: Metadata | undefined,
  snoozedFrom: string | undefined,
  snoozeUntil: number | undefined,
): SwitchResult => {
  const entry: { -readonly [K in keyof HistoryEntry]: HistoryEntry[K] } = { event, from: s.state, to, at }
  if (disposition !== undefined) entry.disposition = disposition
  if (note !== undefined) entry.note = note
  if (actor !== undefined) entry.actor = actor
  // The snapshot keeps the last RECENT entries (the lifecycle's default historyLimit).
  const recent = s.recent.length >= RECENT ? s.recent.slice(s.recent.length - RECENT + 1) : s.recent.slice()
  recent.push(entry)
  const next: { -readonly [K in keyof LeadSnapshot]: LeadSnapshot[K] } = {
    schemaVersion: 2,
    leadId: s.leadId,
    state: to,
    previousState: s.state,
    enteredAt: at,
    updatedAt: at,
    version: s.version + 1,
    metadata: metadata === undefined ? s.metadata : mergeMetadata(s.metadata, metadata),
    recent,
  }
  if (disposition !== undefined) next.disposition = disposition
  if (snoozedFrom !== undefined) next.snoozedFrom = snoozedFrom
  let due: Deadline | undefined
  if (snoozeUntil !== undefined) due = { event: "wake", at: snoozeUntil }
  else if (hasFollowUp(to)) due = { event: "followUpDue", at: at + FOLLOW_UP_MS }
  if (due !== undefined) next.due = due
  const intent: { -readonly [K in keyof SetState]: SetState[K] } = {
    _tag: "SetState",
    leadId: s.leadId,
    from: s.state,
    to,
    at,
  }
  if (disposition !== undefined) intent.disposition = disposition
  if (note !== undefined) intent.note = note
  if (metadata !== undefined) intent.metadata = metadata
  if (actor !== undefined) intent.actor = actor
  if (snoozeUntil !== undefined) intent.snoozeUntil = snoozeUntil
  return { ok: true, snapshot: next, intents: [intent] }
}

/** The auto-dealer rules, by hand. Same contract as `transition(autoDealer, snapshot, event)`. */
export const reduce = (s: LeadSnapshot, event: unknown): SwitchResult => {
  const leadId = s.leadId
  const state = s.state
  if (!isState(state)) return fail("UnknownState", leadId, state, undefined, STATES)
  if (typeof event !== "object" || event === null || Array.isArray(event)) {
    return invalid(leadId, state, 'an event must be an object with a "type".')
  }
  const e = event as Record<string, unknown>
  const type = e.type
  const rawAt = e.at
  if (rawAt !== undefined && (typeof rawAt !== "number" || !Number.isFinite(rawAt))) {
    return invalid(leadId, state, '"at" must be epoch milliseconds (a finite number).')
  }
  const at = rawAt ?? s.updatedAt
  const actor = str(e.actor)
  if (actor === false) return invalid(leadId, state, '"actor" must be a string.')
  const note = str(e.note)
  if (note === false) return invalid(leadId, state, '"note" must be a string.')
  const metadata = e.metadata
  if (metadata !== undefined && !isRecord(metadata)) {
    return invalid(leadId, state, '"metadata" must be an object of JSON values.')
  }
  const final = state === "converted" || state === "lost"
  if (final) {
    switch (type) {
      case "transition":
      case "updateMetadata":
      case "snooze":
      case "wake":
      case "followUpDue":
        return fail("LeadIsFinal", leadId, state, undefined, state === "lost" ? REOPEN_LOST : NONE, type)
    }
  }

  switch (type) {
    case "transition": {
      const to = e.to
      if (typeof to !== "string") return invalid(leadId, state, 'a "transition" event needs "to", the target state.')
      const disposition = str(e.disposition)
      if (disposition === false) return invalid(leadId, state, '"disposition" must be a string.')
      if (!isState(to)) return fail("UnknownState", leadId, to, undefined, STATES)
      if (!canMove(state, to)) return fail("InvalidTransition", leadId, state, to, targetsOf(state) ?? NONE)
      const allowed = dispositionsOf(to)
      if (disposition !== undefined) {
        if (allowed === undefined || !allowed.includes(disposition)) {
          return fail("UnknownDisposition", leadId, to, undefined, allowed ?? NONE, disposition)
        }
      } else if (to === "lost") {
        return fail("DispositionRequired", leadId, to, undefined, D_LOST)
      }
      return moveTo(s, "transition", to, at, disposition, note, actor, metadata, undefined, undefined)
    }
    case "updateMetadata": {
      if (metadata === undefined) return invalid(leadId, state, 'an "updateMetadata" event needs "metadata".')
      const next: LeadSnapshot = {
        ...s,
        metadata: mergeMetadata(s.metadata, metadata),
        updatedAt: at,
        version: s.version + 1,
      }
      const intent: SyncIntent =
        actor === undefined
          ? { _tag: "MergeMetadata", leadId, metadata, at }
          : { _tag: "MergeMetadata", leadId, metadata, actor, at }
      return { ok: true, snapshot: next, intents: [intent] }
    }
    case "snooze": {
      const rawUntil = e.until
      if (rawUntil !== undefined && (typeof rawUntil !== "number" || !Number.isFinite(rawUntil))) {
        return invalid(leadId, state, '"until" must be epoch milliseconds (a finite number).')
      }
      if (state === "snoozed") {
        return fail("InvalidTransition", leadId, state, "snoozed", TO_LOST, "the lead is already snoozed")
      }
      const until = rawUntil ?? at + SNOOZE_MS
      if (until <= at) return invalid(leadId, state, `"until" (${until}) must be later than the event time (${at}).`)
      return moveTo(s, "snooze", "snoozed", at, undefined, note, actor, undefined, state, until)
    }
    case "wake": {
      const back = s.snoozedFrom
      if (state !== "snoozed" || back === undefined) {
        return fail(
          "InvalidTransition",
          leadId,
          state,
          back ?? "(wake)",
          targetsOf(state) ?? NONE,
          "the lead is not snoozed",
        )
      }
      if (!isState(back)) return fail("UnknownState", leadId, back, undefined, STATES)
      return moveTo(s, "wake", back, at, undefined, undefined, actor, undefined, undefined, undefined)
    }
    case "followUpDue": {
      const next = followUpNext(state)
      if (next === undefined) {
        return fail(
          "InvalidTransition",
          leadId,
          state,
          "(next follow-up)",
          targetsOf(state) ?? NONE,
          "not in a sequence",
        )
      }
      const disposition = next === "lost" ? "unreachable" : undefined
      return moveTo(s, "followUpDue", next, at, disposition, undefined, actor, undefined, undefined, undefined)
    }
    case "reopen": {
      const to = e.to
      if (typeof to !== "string")
        return invalid(leadId, state, 'a "reopen" event needs "to", the state to reopen into.')
      const reason = str(e.reason)
      if (reason === false) return invalid(leadId, state, '"reason" must be a string.')
      if (!isState(to)) return fail("UnknownState", leadId, to, undefined, STATES)
      if (!final) {
        return fail(
          "InvalidTransition",
          leadId,
          state,
          to,
          targetsOf(state) ?? NONE,
          "only a final lead can be reopened",
        )
      }
      if (state !== "lost" || to !== "contacted") {
        return fail(
          "InvalidTransition",
          leadId,
          state,
          to,
          state === "lost" ? REOPEN_LOST : NONE,
          "no reopen rule leads there",
        )
      }
      if (reason === undefined) {
        return invalid(leadId, state, `reopening "${state}" needs a "reason": one of ${REOPEN_REASONS.join(", ")}.`)
      }
      if (!REOPEN_REASONS.includes(reason)) {
        return invalid(
          leadId,
          state,
          `"${reason}" is not a reason to reopen "${state}"; use one of ${REOPEN_REASONS.join(", ")}.`,
        )
      }
      return moveTo(s, "reopen", to, at, undefined, note ?? reason, actor, undefined, undefined, undefined)
    }
    default:
      return invalid(
        leadId,
        state,
        `unknown event type ${typeof type === "string" ? JSON.stringify(type) : typeof type}.`,
      )
  }
}
