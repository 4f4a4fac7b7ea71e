import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { availableActions } from "../src/AvailableActions.js"
import { autoDealer } from "../src/examples/autoDealer.js"
import type { LeadSnapshot } from "../src/LeadSnapshot.js"
import * as Lifecycle from "../src/Lifecycle.js"
import { start, transition } from "../src/transition.js"

const dealer = Lifecycle.unsafeMake(autoDealer)
const step = (s: LeadSnapshot, event: unknown) => Either.getOrThrow(transition(dealer, s, event)).snapshot
const fresh = start(dealer, { leadId: "L", at: 0 }).snapshot

describe("availableActions", () => {
  it("lists the moves open from a state with the dispositions each needs", () => {
    const contacted = step(fresh, { type: "transition", to: "contacted" })
    expect(availableActions(dealer, contacted)).toEqual([
      {
        type: "transition",
        to: "interested",
        disposition: { required: false, allowed: ["wants_callback", "price_inquiry", "trade_in_inquiry"] },
      },
      {
        type: "transition",
        to: "lost",
        disposition: {
          required: true,
          allowed: ["not_interested", "wrong_number", "bought_elsewhere", "unreachable", "do_not_call"],
        },
      },
      { type: "updateMetadata" },
      { type: "snooze", to: "snoozed" },
      { type: "followUpDue", to: "followup_1", disposition: undefined },
    ])
  })

  it("offers wake back to the remembered state only", () => {
    const snoozed = step(step(fresh, { type: "transition", to: "contacted" }), { type: "snooze" })
    const wakes = availableActions(dealer, snoozed).filter((a) => a.type === "wake")
    expect(wakes).toEqual([{ type: "wake", to: "contacted" }])
  })

  it("offers only reopen moves on a final lead, and nothing on an unknown state", () => {
    const lost = step(fresh, { type: "transition", to: "lost", disposition: "do_not_call" })
    expect(availableActions(dealer, lost)).toEqual([
      { type: "reopen", to: "contacted", reasons: ["customer_called_back", "new_inquiry"] },
    ])
    expect(availableActions(dealer, { ...fresh, state: "archived" })).toEqual([])
  })

  it("offers exactly the moves the pure transition accepts", () => {
    const states = [
      fresh,
      step(fresh, { type: "transition", to: "contacted" }),
      step(step(fresh, { type: "transition", to: "contacted" }), { type: "snooze" }),
      step(fresh, { type: "transition", to: "lost", disposition: "wrong_number" }),
    ]
    const offered = (s: LeadSnapshot) => availableActions(dealer, s).map((a) => `${a.type}:${"to" in a ? a.to : ""}`)
    for (const s of states) {
      // Completeness: every event the pure transition accepts is offered.
      for (const to of dealer.stateNames) {
        const d = dealer.states.get(to)?.dispositions
        const candidates = [
          { type: "transition", to, ...(d?.required ? { disposition: d.list[0] } : {}) },
          { type: "reopen", to, reason: "customer_called_back" },
        ]
        for (const event of candidates) {
          if (Either.isRight(transition(dealer, s, event))) expect(offered(s)).toContain(`${event.type}:${to}`)
        }
      }
      for (const type of ["snooze", "wake", "followUpDue"]) {
        const result = transition(dealer, s, { type })
        if (Either.isRight(result)) expect(offered(s)).toContain(`${type}:${result.right.snapshot.state}`)
      }
      // Soundness: every offered action is accepted.
      for (const a of availableActions(dealer, s)) {
        const event =
          a.type === "transition"
            ? { type: a.type, to: a.to, ...(a.disposition?.required ? { disposition: a.disposition.allowed[0] } : {}) }
            : a.type === "reopen"
              ? { type: a.type, to: a.to, reason: a.reasons?.[0] }
              : a.type === "updateMetadata"
                ? { type: a.type, metadata: { k: 1 } }
                : { type: a.type }
        expect(Either.isRight(transition(dealer, s, event)), `${s.state} ${JSON.stringify(event)}`).toBe(true)
      }
    }
  })
})
