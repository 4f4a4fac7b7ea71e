import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { autoDealer } from "../src/examples/autoDealer.js"
import { b2b } from "../src/examples/b2b.js"
import type { LeadSnapshot } from "../src/LeadSnapshot.js"
import * as Lifecycle from "../src/Lifecycle.js"
import { start, transition } from "../src/transition.js"

const dealer = Lifecycle.unsafeMake(autoDealer)
const DAY = 86_400_000

const run = (snapshot: LeadSnapshot, ...events: ReadonlyArray<unknown>): LeadSnapshot =>
  events.reduce<LeadSnapshot>((s, e) => Either.getOrThrow(transition(dealer, s, e)).snapshot, snapshot)

const fresh = () => start(dealer, { leadId: "L-1", at: 1_000 }).snapshot
const errorOf = (snapshot: LeadSnapshot, event: unknown) => {
  const result = transition(dealer, snapshot, event)
  if (Either.isRight(result)) throw new Error(`expected a rejection, got ${result.right.snapshot.state}`)
  return result.left
}

describe("start", () => {
  it("creates the lead in the initial state with a CreateLead intent", () => {
    const { snapshot, intents } = start(dealer, { leadId: "L-1", at: 5, metadata: { source: "web" } })
    expect(snapshot.state).toBe("new")
    expect(snapshot.version).toBe(0)
    expect(snapshot.metadata).toEqual({ source: "web" })
    expect(intents).toEqual([{ _tag: "CreateLead", leadId: "L-1", state: "new", metadata: { source: "web" }, at: 5 }])
  })
})

describe("transition", () => {
  it("moves the lead, records history and emits SetState with disposition, note and actor", () => {
    const s = run(fresh(), { type: "transition", to: "contacted", at: 2_000 })
    const result = Either.getOrThrow(
      transition(dealer, s, {
        type: "transition",
        to: "interested",
        disposition: "price_inquiry",
        note: "asked about the hybrid",
        actor: "agent-7",
        metadata: { model: "corolla" },
        at: 3_000,
      }),
    )
    expect(result.snapshot).toMatchObject({
      state: "interested",
      previousState: "contacted",
      disposition: "price_inquiry",
      enteredAt: 3_000,
      version: 2,
      metadata: { model: "corolla" },
    })
    expect(result.history).toEqual([result.snapshot.recent.at(-1)])
    expect(result.snapshot.recent.at(-1)).toEqual({
      event: "transition",
      from: "contacted",
      to: "interested",
      disposition: "price_inquiry",
      note: "asked about the hybrid",
      actor: "agent-7",
      at: 3_000,
    })
    expect(result.intents).toEqual([
      {
        _tag: "SetState",
        leadId: "L-1",
        from: "contacted",
        to: "interested",
        disposition: "price_inquiry",
        note: "asked about the hybrid",
        metadata: { model: "corolla" },
        actor: "agent-7",
        at: 3_000,
      },
    ])
  })

  it("rejects a move the rules do not allow, listing the moves that are open", () => {
    const e = errorOf(fresh(), { type: "transition", to: "converted", at: 2 })
    expect(e._tag).toBe("InvalidTransition")
    expect(e).toMatchObject({ from: "new", to: "converted", allowed: ["contacted", "lost"] })
    expect(e.message).toBe(
      'Lead "L-1" cannot move from "new" to "converted". Moves open from "new": "contacted", "lost".',
    )
  })

  it("forward-only ordering closes backward moves that a wildcard would open", () => {
    const s = run(fresh(), { type: "transition", to: "contacted" }, { type: "transition", to: "interested" })
    expect(errorOf(s, { type: "transition", to: "contacted" })._tag).toBe("InvalidTransition")
  })

  it("requires a disposition where the target requires one", () => {
    const e = errorOf(fresh(), { type: "transition", to: "lost" })
    expect(e._tag).toBe("DispositionRequired")
    expect(e.message).toContain('needs a disposition to enter "lost"')
    expect(e.message).toContain('"wrong_number"')
  })

  it("rejects a disposition the target does not take", () => {
    const e = errorOf(fresh(), { type: "transition", to: "lost", disposition: "busy" })
    expect(e).toMatchObject({ _tag: "UnknownDisposition", state: "lost", disposition: "busy" })
    const none = errorOf(fresh(), { type: "transition", to: "contacted", disposition: "busy" })
    expect(none.message).toContain('state "contacted" takes no disposition')
  })

  it("treats final states as absorbing except for declared reopens", () => {
    const lost = run(fresh(), { type: "transition", to: "lost", disposition: "wrong_number", at: 10 })
    for (const event of [
      { type: "transition", to: "contacted" },
      { type: "snooze" },
      { type: "updateMetadata", metadata: { a: 1 } },
      { type: "followUpDue" },
      { type: "wake" },
    ]) {
      const e = errorOf(lost, event)
      expect(e._tag).toBe("LeadIsFinal")
      expect(e.message).toContain('Send a "reopen" event to one of: "contacted"')
    }
    const reopened = run(lost, { type: "reopen", to: "contacted", reason: "customer_called_back", at: 20 })
    expect(reopened.state).toBe("contacted")
    expect(errorOf(lost, { type: "reopen", to: "contacted" })._tag).toBe("InvalidEvent")
    expect(errorOf(lost, { type: "reopen", to: "interested", reason: "new_inquiry" })._tag).toBe("InvalidTransition")
  })

  it("reports unknown states, both as targets and in the snapshot", () => {
    expect(errorOf(fresh(), { type: "transition", to: "intrested" })).toMatchObject({
      _tag: "UnknownState",
      state: "intrested",
    })
    const corrupt: LeadSnapshot = { ...fresh(), state: "archived" }
    expect(errorOf(corrupt, { type: "transition", to: "contacted" })).toMatchObject({
      _tag: "UnknownState",
      state: "archived",
    })
  })

  it("answers malformed events with InvalidEvent, never a throw", () => {
    for (const event of [
      null,
      42,
      "transition",
      [],
      {},
      { type: "fly" },
      { type: "transition" },
      { type: "transition", to: 3 },
      { type: "transition", to: "contacted", at: "yesterday" },
      { type: "transition", to: "contacted", at: Number.NaN },
      { type: "transition", to: "contacted", metadata: [1] },
      { type: "transition", to: "lost", disposition: 7 },
      { type: "updateMetadata" },
      { type: "snooze", until: "soon" },
      { type: Symbol("x") },
      { type: 10n },
    ]) {
      expect(errorOf(fresh(), event)._tag).toBe("InvalidEvent")
    }
  })

  it("snoozes, remembers where the lead was, and wakes back to it", () => {
    const contacted = run(fresh(), { type: "transition", to: "contacted", at: 0 })
    const snoozed = run(contacted, { type: "snooze", at: 100 })
    expect(snoozed).toMatchObject({
      state: "snoozed",
      snoozedFrom: "contacted",
      due: { event: "wake", at: 100 + 7 * DAY },
    })
    const custom = Either.getOrThrow(transition(dealer, contacted, { type: "snooze", until: 5_000, at: 100 }))
    expect(custom.intents[0]).toMatchObject({ _tag: "SetState", to: "snoozed", snoozeUntil: 5_000 })
    expect(errorOf(snoozed, { type: "snooze" })).toMatchObject({
      _tag: "InvalidTransition",
      reason: "the lead is already snoozed",
    })
    expect(errorOf(contacted, { type: "snooze", until: 50, at: 100 })._tag).toBe("InvalidEvent")
    const woken = run(snoozed, { type: "wake", at: 200 })
    expect(woken).toMatchObject({ state: "contacted", previousState: "snoozed" })
    expect(woken.snoozedFrom).toBeUndefined()
    expect(woken.due).toEqual({ event: "followUpDue", at: 200 + 2 * DAY })
    expect(errorOf(woken, { type: "wake" })._tag).toBe("InvalidTransition")
    const lostWhileSnoozed = run(snoozed, { type: "transition", to: "lost", disposition: "not_interested" })
    expect(lostWhileSnoozed.snoozedFrom).toBeUndefined()
  })

  it("walks the follow-up sequence and gives up with the configured disposition", () => {
    let s = run(fresh(), { type: "transition", to: "contacted", at: 0 })
    expect(s.due).toEqual({ event: "followUpDue", at: 2 * DAY })
    const seen: Array<string> = []
    for (let i = 1; i <= 4; i++) {
      s = run(s, { type: "followUpDue", at: i * 2 * DAY })
      seen.push(`${s.state}:${s.disposition ?? "-"}`)
    }
    expect(seen).toEqual(["followup_1:-", "followup_2:-", "followup_3:-", "lost:unreachable"])
    expect(s.due).toBeUndefined()
  })

  it("merges metadata without moving the lead; null removes a key", () => {
    const s = run(
      fresh(),
      { type: "updateMetadata", metadata: { a: 1, b: 2 } },
      { type: "updateMetadata", metadata: { b: null } },
    )
    expect(s.state).toBe("new")
    expect(s.metadata).toEqual({ a: 1 })
    expect(s.version).toBe(2)
  })

  it("does not mutate the snapshot it is given", () => {
    const s = Object.freeze(fresh())
    const copy = structuredClone(s)
    run(s, { type: "transition", to: "contacted", metadata: { x: 1 } })
    expect(s).toEqual(copy)
  })

  it("keeps at most historyLimit entries in recent; every step returns its entry for the log", () => {
    const limited = Lifecycle.unsafeMake(b2b, { historyLimit: 2 })
    const first = start(limited, { leadId: "b", at: 0 })
    let s = first.snapshot
    const log = [...first.history]
    for (const to of ["qualified", "proposal_sent", "qualified", "proposal_sent"]) {
      const step = Either.getOrThrow(transition(limited, s, { type: "transition", to }))
      log.push(...step.history)
      s = step.snapshot
    }
    expect(s.recent.map((h) => `${h.from}->${h.to}`)).toEqual(["proposal_sent->qualified", "qualified->proposal_sent"])
    expect(log.map((h) => h.to)).toEqual(["new", "qualified", "proposal_sent", "qualified", "proposal_sent"])
    const metadataOnly = Either.getOrThrow(transition(limited, s, { type: "updateMetadata", metadata: { a: 1 } }))
    expect(metadataOnly.history).toEqual([])
    expect(metadataOnly.snapshot.recent).toEqual(s.recent)
  })

  it("the default historyLimit is 10; 0 keeps none in the snapshot", () => {
    expect(Lifecycle.unsafeMake(b2b).historyLimit).toBe(10)
    const none = Lifecycle.unsafeMake(b2b, { historyLimit: 0 })
    const first = start(none, { leadId: "b", at: 0 })
    expect(first.snapshot.recent).toEqual([])
    const step = Either.getOrThrow(transition(none, first.snapshot, { type: "transition", to: "qualified" }))
    expect(step.snapshot.recent).toEqual([])
    expect(step.history.map((h) => h.to)).toEqual(["qualified"])
  })

  it("the snapshot stays bounded however long the history (recent: the last 10 moves)", () => {
    const b2b_ = Lifecycle.unsafeMake(b2b)
    let s = start(b2b_, { leadId: "b", at: 0 }).snapshot
    for (let i = 0; i < 2_000; i++) {
      s = Either.getOrThrow(
        transition(b2b_, s, { type: "transition", to: i % 2 === 0 ? "qualified" : "proposal_sent" }),
      ).snapshot
    }
    expect(s.version).toBe(2_000)
    expect(s.recent.length).toBe(10)
  })
})
