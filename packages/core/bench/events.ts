/**
 * Deterministic event stream for the transition benchmark: a seeded PRNG drives 10,000
 * auto-dealer leads through realistic journeys (calls, follow-ups, snoozes, metadata updates,
 * losses, reopens, sales), with a share of invalid events of the kinds a CRM integration
 * really sees (duplicate or stale webhooks, wrong targets, missing or unknown dispositions,
 * events on final leads...).
 *
 * The generator keeps its own model of each lead, so every event carries the outcome it
 * expects; the benchmark checks that expectation against the real `transition` before timing.
 */
import type { Metadata } from "../src/Metadata.js"

/** An inbound event as the benchmark sends it (plain data, like a decoded webhook). */
export interface BenchEvent {
  readonly type: string
  readonly at: number
  readonly to?: string
  readonly disposition?: string
  readonly note?: string
  readonly actor?: string
  readonly metadata?: Metadata
  readonly until?: number
  readonly reason?: string
}

/** Why an event was generated: valid kinds first, then the invalid ones. */
export const kindNames = [
  "transition",
  "updateMetadata",
  "snooze",
  "wake",
  "followUpDue",
  "reopen",
  "invalid: wrong target",
  "invalid: missing disposition",
  "invalid: unknown disposition",
  "invalid: event on final lead",
  "invalid: wake when not snoozed",
  "invalid: stale followUpDue",
  "invalid: snooze when snoozed",
  "invalid: snooze until in the past",
  "invalid: bad reopen",
  "invalid: unknown target state",
  "invalid: unknown event type",
] as const
export type KindName = (typeof kindNames)[number]
const kind = (name: KindName): number => kindNames.indexOf(name)

export interface EventStream {
  readonly seed: number
  readonly leadIds: ReadonlyArray<string>
  /** When every lead was created (epoch ms); the first event comes after it. */
  readonly createdAt: number
  /** Lead index of each event. */
  readonly lead: Int32Array
  readonly events: ReadonlyArray<BenchEvent>
  /** 1 when the generator's model expects the event to be accepted. */
  readonly expectValid: Uint8Array
  /** Index into {@link kindNames}. */
  readonly kind: Uint8Array
}

export interface StreamOptions {
  readonly seed: number
  readonly leads: number
  readonly events: number
  /** Share of events that should be rejected (0..1). */
  readonly invalidShare: number
}

/** sfc32: small, fast, good enough statistically, and reproducible from a seed. */
export const makeRng = (seed: number): (() => number) => {
  let a = 0x9e3779b9
  let b = 0x243f6a88
  let c = 0xb7e15162
  let d = seed | 0
  const next = (): number => {
    a |= 0
    b |= 0
    c |= 0
    d |= 0
    const t = (((a + b) | 0) + d) | 0
    d = (d + 1) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) | 0
    return (t >>> 0) / 4294967296
  }
  for (let i = 0; i < 16; i++) next()
  return next
}

const HOUR = 60 * 60 * 1000
const DAY = 24 * HOUR

/** The states of the auto-dealer lifecycle, in the model's own terms. */
const FINAL = new Set(["converted", "lost"])
const TARGETS: Readonly<Record<string, ReadonlyArray<string>>> = {
  new: ["contacted", "lost"],
  contacted: ["interested", "lost"],
  followup_1: ["interested", "lost"],
  followup_2: ["interested", "lost"],
  followup_3: ["interested", "lost"],
  interested: ["test_drive_booked", "converted", "lost"],
  test_drive_booked: ["converted", "lost"],
  snoozed: ["lost"],
  converted: [],
  lost: [],
}
const ALL_STATES = Object.keys(TARGETS)
const FOLLOW_UP_NEXT: Readonly<Record<string, string>> = {
  contacted: "followup_1",
  followup_1: "followup_2",
  followup_2: "followup_3",
  followup_3: "lost",
}
const DISPOSITIONS: Readonly<Record<string, ReadonlyArray<string>>> = {
  interested: ["wants_callback", "price_inquiry", "trade_in_inquiry"],
  test_drive_booked: ["showroom", "home_delivery"],
  converted: ["purchased", "leased", "financed"],
  lost: ["not_interested", "wrong_number", "bought_elsewhere", "do_not_call"],
}
const AGENTS = ["voice-agent-1", "voice-agent-2", "voice-agent-3", "rep-anna", "rep-marco"]
const OUTCOMES = ["no_answer", "voicemail", "answered", "busy"]
const VEHICLES = ["suv", "sedan", "pickup", "ev", "hatchback"]
const NOTES = ["asked about financing", "prefers evening calls", "comparing two models", "spouse decides"]

/** What a valid event does next, weighted, per state (lost and converted are handled apart). */
type Move =
  | "contacted"
  | "interested"
  | "test_drive_booked"
  | "converted"
  | "lose"
  | "metadata"
  | "snooze"
  | "followUp"
  | "wake"
const inSequence = (followUp: number): ReadonlyArray<readonly [number, Move]> => [
  [followUp, "followUp"],
  [18, "interested"],
  [30, "metadata"],
  [4, "lose"],
  [7, "snooze"],
]
const MOVES: Readonly<Record<string, ReadonlyArray<readonly [number, Move]>>> = {
  new: [
    [45, "contacted"],
    [25, "metadata"],
    [4, "lose"],
    [6, "snooze"],
  ],
  contacted: inSequence(18),
  followup_1: inSequence(18),
  followup_2: inSequence(18),
  followup_3: inSequence(8),
  interested: [
    [16, "test_drive_booked"],
    [0.1, "converted"],
    [30, "metadata"],
    [5, "lose"],
    [7, "snooze"],
  ],
  test_drive_booked: [
    [0.4, "converted"],
    [30, "metadata"],
    [5, "lose"],
    [7, "snooze"],
  ],
  snoozed: [
    [35, "wake"],
    [25, "metadata"],
    [3, "lose"],
  ],
}

interface LeadModel {
  state: string
  snoozedFrom: string | undefined
  attempts: number
}

type Build = { readonly event: BenchEvent; readonly kind: number; readonly next: string; readonly snoozedFrom?: string }

export const generateStream = (options: StreamOptions): EventStream => {
  const rnd = makeRng(options.seed)
  const int = (n: number) => Math.floor(rnd() * n)
  const pick = <A>(xs: ReadonlyArray<A>): A => xs[int(xs.length)] as A
  const chance = (p: number) => rnd() < p
  const weighted = <A>(choices: ReadonlyArray<readonly [number, A]>): A => {
    let total = 0
    for (const [w] of choices) total += w
    let r = rnd() * total
    for (const [w, a] of choices) {
      r -= w
      if (r < 0) return a
    }
    return (choices[choices.length - 1] as readonly [number, A])[1]
  }

  const leadIds = Array.from({ length: options.leads }, (_, i) => `lead-${String(i + 1).padStart(6, "0")}`)
  const models: Array<LeadModel> = leadIds.map(() => ({ state: "new", snoozedFrom: undefined, attempts: 0 }))
  const createdAt = Date.UTC(2026, 0, 5, 8, 0, 0)
  let at = createdAt

  const pickLead = (pred: (m: LeadModel) => boolean): number => {
    for (let tries = 0; tries < 64; tries++) {
      const i = int(models.length)
      if (pred(models[i] as LeadModel)) return i
    }
    return -1
  }

  const withActor = (e: Record<string, unknown>): BenchEvent => {
    if (chance(0.6)) e.actor = pick(AGENTS)
    return e as unknown as BenchEvent
  }
  const callMetadata = (m: LeadModel): Metadata => {
    m.attempts++
    const md: Record<string, Metadata[string]> = { callAttempts: m.attempts }
    if (chance(0.5)) md.lastOutcome = pick(OUTCOMES)
    if (chance(0.1)) md.vehicle = pick(VEHICLES)
    if (chance(0.05)) md.budget = 15_000 + int(40) * 1_000
    if (chance(0.03)) md.lastOutcome = null
    return md
  }
  const move = (to: string, disposition: string | undefined, m: LeadModel): BenchEvent => {
    const e: Record<string, unknown> = { type: "transition", to, at }
    if (disposition !== undefined) e.disposition = disposition
    if (chance(0.15)) e.note = pick(NOTES)
    if (chance(0.2)) e.metadata = { lastOutcome: "answered", callAttempts: ++m.attempts }
    return withActor(e)
  }
  const optionalDisposition = (to: string) => {
    const allowed = DISPOSITIONS[to]
    return allowed !== undefined && chance(0.5) ? pick(allowed) : undefined
  }
  const snoozeUntil = () => (chance(0.5) ? at + (1 + int(14)) * DAY : undefined)

  const T = kind("transition")
  const M = kind("updateMetadata")
  const S = kind("snooze")
  const F = kind("followUpDue")
  const W = kind("wake")

  /** A valid event for the lead, or undefined when it has none (converted). */
  const validFor = (m: LeadModel): Build | undefined => {
    const s = m.state
    if (s === "converted") return undefined
    if (s === "lost") {
      const event = withActor({
        type: "reopen",
        to: "contacted",
        reason: chance(0.6) ? "customer_called_back" : "new_inquiry",
        at,
      })
      return { event, kind: kind("reopen"), next: "contacted" }
    }
    const choices = MOVES[s]
    if (choices === undefined) throw new Error(`model has unknown state ${s}`)
    const choice = weighted(choices)
    switch (choice) {
      case "metadata":
        return { event: withActor({ type: "updateMetadata", metadata: callMetadata(m), at }), kind: M, next: s }
      case "lose":
        return { event: move("lost", pick(DISPOSITIONS.lost ?? []), m), kind: T, next: "lost" }
      case "snooze": {
        const until = snoozeUntil()
        const e: Record<string, unknown> = { type: "snooze", at }
        if (until !== undefined) e.until = until
        if (chance(0.3)) e.note = "call back next week"
        return { event: withActor(e), kind: S, next: "snoozed", snoozedFrom: s }
      }
      case "followUp":
        return { event: { type: "followUpDue", at }, kind: F, next: FOLLOW_UP_NEXT[s] as string }
      case "wake":
        return { event: withActor({ type: "wake", at }), kind: W, next: m.snoozedFrom as string }
      case "contacted":
      case "interested":
      case "test_drive_booked":
      case "converted": {
        const to = choice
        return { event: move(to, optionalDisposition(to), m), kind: T, next: to }
      }
    }
  }

  const nonFinal = (m: LeadModel) => !FINAL.has(m.state)
  /** An invalid event: the lead it goes to and the event, or undefined to try another kind. */
  const invalid = (k: KindName): { readonly lead: number; readonly event: BenchEvent } | undefined => {
    const on = (pred: (m: LeadModel) => boolean, make: (m: LeadModel) => BenchEvent) => {
      const lead = pickLead(pred)
      return lead < 0 ? undefined : { lead, event: make(models[lead] as LeadModel) }
    }
    switch (k) {
      case "invalid: wrong target":
        // A duplicate or out-of-order webhook, a backward move, or a skipped step.
        return on(nonFinal, (m) => {
          const allowed = TARGETS[m.state] ?? []
          const target = pick(ALL_STATES.filter((x) => !allowed.includes(x)))
          return move(target, undefined, m)
        })
      case "invalid: missing disposition":
        return on(nonFinal, (m) => move("lost", undefined, m))
      case "invalid: unknown disposition":
        return on(nonFinal, (m) => {
          const target = pick(TARGETS[m.state] ?? [])
          return move(target, DISPOSITIONS[target] === undefined ? "answered" : "callback_later", m)
        })
      case "invalid: event on final lead":
        return on(
          (m) => FINAL.has(m.state),
          (m) =>
            weighted<() => BenchEvent>([
              [4, () => move("lost", "not_interested", m)],
              [3, () => withActor({ type: "updateMetadata", metadata: { lastOutcome: "answered" }, at })],
              [3, () => ({ type: "followUpDue", at })],
              [1, () => withActor({ type: "snooze", at })],
              [1, () => ({ type: "wake", at })],
            ])(),
        )
      case "invalid: wake when not snoozed":
        return on(
          (m) => nonFinal(m) && m.state !== "snoozed",
          () => ({ type: "wake", at }),
        )
      case "invalid: stale followUpDue":
        return on(
          (m) => nonFinal(m) && FOLLOW_UP_NEXT[m.state] === undefined,
          () => ({ type: "followUpDue", at }),
        )
      case "invalid: snooze when snoozed":
        return on(
          (m) => m.state === "snoozed",
          () => withActor({ type: "snooze", at }),
        )
      case "invalid: snooze until in the past":
        return on(
          (m) => nonFinal(m) && m.state !== "snoozed",
          () => withActor({ type: "snooze", until: at - (1 + int(48)) * HOUR, at }),
        )
      case "invalid: bad reopen":
        return weighted<() => { readonly lead: number; readonly event: BenchEvent } | undefined>([
          [
            2,
            () =>
              on(
                (m) => m.state === "lost",
                () => withActor({ type: "reopen", to: "contacted", at }),
              ),
          ],
          [
            2,
            () =>
              on(
                (m) => m.state === "lost",
                () => ({ type: "reopen", to: "contacted", reason: "bored", at }),
              ),
          ],
          [
            1,
            () =>
              on(
                (m) => m.state === "lost",
                () => ({ type: "reopen", to: "interested", reason: "new_inquiry", at }),
              ),
          ],
          [
            1,
            () =>
              on(
                (m) => m.state === "converted",
                () => ({ type: "reopen", to: "contacted", reason: "new_inquiry", at }),
              ),
          ],
          [2, () => on(nonFinal, () => ({ type: "reopen", to: "contacted", reason: "new_inquiry", at }))],
        ])()
      case "invalid: unknown target state":
        return on(nonFinal, (m) => move(pick(["qualified", "Interested", "closed_won"]), undefined, m))
      case "invalid: unknown event type":
        return on(
          () => true,
          () => ({ type: pick(["callCompleted", "TRANSITION", "lead.updated"]), at }),
        )
      default:
        throw new Error(`not an invalid kind: ${k}`)
    }
  }
  const invalidKinds: ReadonlyArray<readonly [number, KindName]> = [
    [20, "invalid: wrong target"],
    [14, "invalid: missing disposition"],
    [14, "invalid: unknown disposition"],
    [20, "invalid: event on final lead"],
    [5, "invalid: wake when not snoozed"],
    [10, "invalid: stale followUpDue"],
    [4, "invalid: snooze when snoozed"],
    [4, "invalid: snooze until in the past"],
    [5, "invalid: bad reopen"],
    [3, "invalid: unknown target state"],
    [1, "invalid: unknown event type"],
  ]

  const n = options.events
  const lead = new Int32Array(n)
  const expectValid = new Uint8Array(n)
  const kinds = new Uint8Array(n)
  const events: Array<BenchEvent> = new Array(n)
  for (let i = 0; i < n; i++) {
    at += 1 + int(15_000)
    if (chance(options.invalidShare)) {
      for (let tries = 0; ; tries++) {
        if (tries > 1_000) throw new Error(`no invalid event could be built at event #${i}`)
        const made = invalid(weighted(invalidKinds))
        if (made === undefined) continue
        lead[i] = made.lead
        events[i] = made.event
        kinds[i] = kindNames.indexOf(pickKindOf(made.event, models[made.lead] as LeadModel))
        break
      }
      continue
    }
    for (let tries = 0; ; tries++) {
      if (tries > 100_000) throw new Error(`no lead can take a valid event at event #${i}: all converted?`)
      const li = int(models.length)
      const m = models[li] as LeadModel
      // Leads that are lost mostly stay lost; converted ones take no valid event.
      if (m.state === "lost" && !chance(0.15)) continue
      const built = validFor(m)
      if (built === undefined) continue
      lead[i] = li
      events[i] = built.event
      expectValid[i] = 1
      kinds[i] = built.kind
      m.state = built.next
      // Only a move out of the snooze state forgets where the lead was snoozed from.
      if (built.snoozedFrom !== undefined) m.snoozedFrom = built.snoozedFrom
      else if (built.next !== "snoozed") m.snoozedFrom = undefined
      break
    }
  }
  return { seed: options.seed, leadIds, createdAt, lead, events, expectValid, kind: kinds }

  /** The invalid kind, corrected for a lead that turned out final (its event is then "on a final lead"). */
  function pickKindOf(event: BenchEvent, m: LeadModel): KindName {
    const t = event.type
    if (
      FINAL.has(m.state) &&
      t !== "reopen" &&
      ["transition", "updateMetadata", "snooze", "wake", "followUpDue"].includes(t)
    )
      return "invalid: event on final lead"
    if (t === "reopen") return "invalid: bad reopen"
    if (t === "wake") return "invalid: wake when not snoozed"
    if (t === "followUpDue") return "invalid: stale followUpDue"
    if (t === "snooze")
      return event.until === undefined ? "invalid: snooze when snoozed" : "invalid: snooze until in the past"
    if (t !== "transition") return "invalid: unknown event type"
    const to = event.to as string
    if (TARGETS[to] === undefined) return "invalid: unknown target state"
    if (!(TARGETS[m.state] ?? []).includes(to)) return "invalid: wrong target"
    return event.disposition === undefined ? "invalid: missing disposition" : "invalid: unknown disposition"
  }
}
