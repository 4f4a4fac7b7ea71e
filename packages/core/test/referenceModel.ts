/**
 * A small, independent statement of the lifecycle rules, read straight off the raw definition:
 * no compiled table, no shared helpers with `transition.ts`. Slow (linear scans) and obvious on
 * purpose; the property tests check that the real `transition` agrees with it step by step.
 */
import type { LeadSnapshot } from "../src/LeadSnapshot.js"
import type { LifecycleDefinition } from "../src/LifecycleDefinition.js"

type Def = LifecycleDefinition
type Json = unknown
type Record_ = { readonly [key: string]: Json }

/** What the model says a lead looks like (absent fields are `undefined`). */
export interface ModelLead {
  readonly state: string
  readonly previousState: string | undefined
  readonly disposition: string | undefined
  readonly snoozedFrom: string | undefined
  readonly version: number
  readonly enteredAt: number
  readonly updatedAt: number
  readonly due: { readonly event: "wake" | "followUpDue"; readonly at: number } | undefined
  readonly metadata: Record_
  readonly historyLength: number
}

export type ModelErrorTag =
  | "InvalidTransition"
  | "DispositionRequired"
  | "UnknownDisposition"
  | "LeadIsFinal"
  | "UnknownState"
  | "InvalidEvent"

export type ModelStep =
  | { readonly accepted: true; readonly lead: ModelLead; readonly intent: "SetState" | "MergeMetadata" }
  | { readonly accepted: false; readonly error: ModelErrorTag }

/** The fields of a real snapshot that the model predicts. */
/** The lead as the model sees it; `logged`: history entries the steps appended to the log so far. */
export const observe = (s: LeadSnapshot, logged: number): ModelLead => ({
  state: s.state,
  previousState: s.previousState,
  disposition: s.disposition,
  snoozedFrom: s.snoozedFrom,
  version: s.version,
  enteredAt: s.enteredAt,
  updatedAt: s.updatedAt,
  due: s.due,
  metadata: s.metadata,
  historyLength: logged,
})

// --- the rules, over the raw definition ---------------------------------------------------------

const declared = (def: Def, name: string) => def.states.find((s) => s.name === name)
const isFinal = (def: Def, name: string) => declared(def, name)?.final === true

/** Forward-only ordering forbids moving to a lower rank (unranked states are free). */
const isBackward = (def: Def, from: string, to: string): boolean => {
  const rf = declared(def, from)?.rank
  const rt = declared(def, to)?.rank
  return def.ordering === "forward-only" && rf !== undefined && rt !== undefined && rt < rf
}

/** May a `transition` event move a lead from `from` to `to`? ("*": every non-final state but `to`.) */
const canMove = (def: Def, from: string, to: string): boolean =>
  to !== def.snooze?.state &&
  !isFinal(def, from) &&
  !isBackward(def, from, to) &&
  def.transitions.some(
    (t) =>
      t.to === to && (t.from === "*" ? from !== to : (typeof t.from === "string" ? [t.from] : t.from).includes(from)),
  )

const dispositionRule = (def: Def, state: string) =>
  def.dispositions !== undefined && Object.hasOwn(def.dispositions, state) ? def.dispositions[state] : undefined

const isSnoozable = (def: Def, state: string): boolean =>
  def.snooze !== undefined &&
  state !== def.snooze.state &&
  !isFinal(def, state) &&
  (def.snooze.from === undefined || def.snooze.from.includes(state))

/** Where a `followUpDue` leads from `state`: the next step, the first step, or the exhaustion target. */
const followUpNext = (def: Def, state: string): { to: string; disposition: string | undefined } | undefined => {
  const fu = def.followUps
  if (fu === undefined) return undefined
  const i = fu.states.indexOf(state)
  if (i >= 0) {
    const next = fu.states[i + 1]
    return next !== undefined
      ? { to: next, disposition: undefined }
      : { to: fu.exhausted.to, disposition: fu.exhausted.disposition }
  }
  return fu.startFrom.includes(state) ? { to: fu.states[0], disposition: undefined } : undefined
}

const dueOnEntering = (def: Def, state: string, at: number): ModelLead["due"] =>
  def.followUps !== undefined && followUpNext(def, state) !== undefined
    ? { event: "followUpDue", at: at + def.followUps.intervalMs }
    : undefined

const mergeMetadata = (base: Record_, patch: Record_): Record_ => {
  const out: { [key: string]: Json } = { ...base }
  for (const [key, value] of Object.entries(patch)) {
    if (value === null || value === undefined) delete out[key]
    else out[key] = value
  }
  return out
}

const isPlainRecord = (u: unknown): u is Record_ => typeof u === "object" && u !== null && !Array.isArray(u)
const isTime = (u: unknown): u is number => typeof u === "number" && Number.isFinite(u)
const isOptionalString = (u: unknown) => u === undefined || typeof u === "string"

// --- start and step -----------------------------------------------------------------------------

export const modelStart = (def: Def, at: number): ModelLead => ({
  state: def.initial,
  previousState: undefined,
  disposition: undefined,
  snoozedFrom: undefined,
  version: 0,
  enteredAt: at,
  updatedAt: at,
  due: dueOnEntering(def, def.initial, at),
  metadata: {},
  historyLength: 1,
})

const reject = (error: ModelErrorTag): ModelStep => ({ accepted: false, error })

export const modelStep = (def: Def, lead: ModelLead, event: unknown): ModelStep => {
  if (declared(def, lead.state) === undefined) return reject("UnknownState")
  if (!isPlainRecord(event)) return reject("InvalidEvent")
  if (event.at !== undefined && !isTime(event.at)) return reject("InvalidEvent")
  if (!isOptionalString(event.actor) || !isOptionalString(event.note)) return reject("InvalidEvent")
  if (event.metadata !== undefined && !isPlainRecord(event.metadata)) return reject("InvalidEvent")
  const at = event.at ?? lead.updatedAt
  const type = event.type

  // A final state absorbs every known event but reopen.
  const absorbed = ["transition", "updateMetadata", "snooze", "wake", "followUpDue"]
  if (isFinal(def, lead.state) && typeof type === "string" && absorbed.includes(type)) return reject("LeadIsFinal")

  const move = (
    to: string,
    extra: {
      disposition?: string | undefined
      snoozedFrom?: string
      due?: ModelLead["due"] | null
      metadata?: Record_
    },
  ): ModelStep => ({
    accepted: true,
    intent: "SetState",
    lead: {
      state: to,
      previousState: lead.state,
      disposition: extra.disposition,
      snoozedFrom: extra.snoozedFrom,
      version: lead.version + 1,
      enteredAt: at,
      updatedAt: at,
      due: extra.due === null ? undefined : (extra.due ?? dueOnEntering(def, to, at)),
      metadata: extra.metadata === undefined ? lead.metadata : mergeMetadata(lead.metadata, extra.metadata),
      historyLength: lead.historyLength + 1,
    },
  })

  switch (type) {
    case "transition": {
      const { to, disposition } = event
      if (typeof to !== "string" || !isOptionalString(disposition)) return reject("InvalidEvent")
      if (declared(def, to) === undefined) return reject("UnknownState")
      if (!canMove(def, lead.state, to)) return reject("InvalidTransition")
      const rule = dispositionRule(def, to)
      if (typeof disposition === "string") {
        if (rule === undefined || !rule.allowed.includes(disposition)) return reject("UnknownDisposition")
      } else if (rule?.required === true) return reject("DispositionRequired")
      return move(to, {
        disposition: disposition as string | undefined,
        ...(event.metadata === undefined ? {} : { metadata: event.metadata as Record_ }),
      })
    }
    case "updateMetadata": {
      if (event.metadata === undefined) return reject("InvalidEvent")
      return {
        accepted: true,
        intent: "MergeMetadata",
        lead: {
          ...lead,
          metadata: mergeMetadata(lead.metadata, event.metadata as Record_),
          updatedAt: at,
          version: lead.version + 1,
        },
      }
    }
    case "snooze": {
      const snooze = def.snooze
      if (snooze === undefined) return reject("InvalidEvent")
      if (event.until !== undefined && !isTime(event.until)) return reject("InvalidEvent")
      if (!isSnoozable(def, lead.state)) return reject("InvalidTransition")
      const until = event.until ?? (snooze.defaultMs === undefined ? undefined : at + snooze.defaultMs)
      if (until !== undefined && until <= at) return reject("InvalidEvent")
      return move(snooze.state, {
        snoozedFrom: lead.state,
        due: until === undefined ? null : { event: "wake", at: until },
      })
    }
    case "wake": {
      if (def.snooze === undefined || lead.state !== def.snooze.state || lead.snoozedFrom === undefined) {
        return reject("InvalidTransition")
      }
      if (declared(def, lead.snoozedFrom) === undefined) return reject("UnknownState")
      return move(lead.snoozedFrom, {})
    }
    case "followUpDue": {
      const next = followUpNext(def, lead.state)
      if (next === undefined) return reject("InvalidTransition")
      return move(next.to, { disposition: next.disposition })
    }
    case "reopen": {
      const { to, reason } = event
      if (typeof to !== "string" || !isOptionalString(reason)) return reject("InvalidEvent")
      if (declared(def, to) === undefined) return reject("UnknownState")
      if (!isFinal(def, lead.state)) return reject("InvalidTransition")
      const rule = def.reopen?.find((r) => r.from === lead.state && r.to === to)
      if (rule === undefined) return reject("InvalidTransition")
      if (rule.reasons !== undefined && (typeof reason !== "string" || !rule.reasons.includes(reason))) {
        return reject("InvalidEvent")
      }
      return move(to, {})
    }
    default:
      return reject("InvalidEvent")
  }
}
