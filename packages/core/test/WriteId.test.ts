import { describe, expect, it } from "@effect/vitest"
import { WriteId } from "@leadstate/core"
import * as fc from "effect/FastCheck"

const leadIds = fc.string({ minLength: 1, maxLength: 12 })
const naturals = fc.integer({ min: 0, max: 1_000_000 })

describe("WriteId", () => {
  it("parse inverts make, also for lead ids that hold slashes", () =>
    fc.assert(
      fc.property(leadIds, naturals, naturals, (leadId, version, index) => {
        expect(WriteId.parse(WriteId.make(leadId, version, index))).toEqual({ leadId, version, index })
      }),
    ))

  it("compare orders one lead's writes by version, then index", () =>
    fc.assert(
      fc.property(leadIds, naturals, naturals, naturals, naturals, (leadId, v1, i1, v2, i2) => {
        const order = WriteId.compare(WriteId.make(leadId, v1, i1), WriteId.make(leadId, v2, i2))
        const expected = v1 !== v2 ? Math.sign(v1 - v2) : Math.sign(i1 - i2)
        expect(Math.sign(order ?? Number.NaN)).toBe(expected)
      }),
    ))

  it("has no order across leads, nor for strings that are not write ids", () => {
    expect(WriteId.compare("a/1/0", "b/1/0")).toBeUndefined()
    for (const bad of ["", "a", "a/1", "/1/0", "a/x/0", "a/1/-1", "a/01/0", "a/1/0.5", "a/1e3/0"]) {
      expect(WriteId.parse(bad)).toBeUndefined()
      expect(WriteId.compare(bad, "a/1/0")).toBeUndefined()
    }
  })
})
