import { describe, expect, it } from "vitest"
import { autoDealer } from "../src/examples/autoDealer.js"
import * as Lifecycle from "../src/Lifecycle.js"
import { simulate } from "../src/simulate.js"

const dealer = Lifecycle.unsafeMake(autoDealer)
const DAY = 86_400_000

describe("simulate", () => {
  it("returns every step, records rejections and goes on from the last good snapshot", () => {
    const run = simulate(
      dealer,
      [
        { type: "transition", to: "contacted", at: 1 },
        { type: "transition", to: "converted", at: 2 },
        { type: "transition", to: "interested", disposition: "price_inquiry", at: 3 },
        { type: "transition", to: "lost", at: 4 },
        { type: "transition", to: "test_drive_booked", disposition: "showroom", at: 5 },
        { type: "transition", to: "converted", disposition: "financed", at: 6 },
      ],
      { leadId: "sim-1" },
    )
    expect(run.steps.map((s) => (s._tag === "Applied" ? `${s.from}->${s.to}` : `${s.from}!${s.error._tag}`))).toEqual([
      "new->contacted",
      "contacted!InvalidTransition",
      "contacted->interested",
      "interested!DispositionRequired",
      "interested->test_drive_booked",
      "test_drive_booked->converted",
    ])
    expect(run).toMatchObject({ applied: 4, rejected: 2 })
    expect(run.final).toMatchObject({ leadId: "sim-1", state: "converted", disposition: "financed" })
  })

  it("fires passed deadlines before each event when asked", () => {
    const run = simulate(
      dealer,
      [
        { type: "transition", to: "contacted", at: 0 },
        { type: "transition", to: "interested", at: 5 * DAY },
      ],
      { fireDeadlines: true },
    )
    expect(run.steps.map((s) => (s._tag === "Applied" ? `${s.to}${s.scheduled ? "*" : ""}` : "x"))).toEqual([
      "contacted",
      "followup_1*",
      "followup_2*",
      "interested",
    ])
  })
})
