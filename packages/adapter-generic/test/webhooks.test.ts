import { describe, expect, it } from "@effect/vitest"
import { GenericWebhooks } from "@leadstate/adapter-generic"
import { type CrmWebhooks, InputLimits, StateMap } from "@leadstate/core"
import { Effect, Either, Exit, Redacted } from "effect"
import { dealer, dealerMap, signed, WEBHOOK_SECRET } from "./fixtures.js"

const map = Either.getOrThrow(StateMap.make(dealer, dealerMap, { vendor: "generic", inbound: true }))
const decoder = GenericWebhooks.make({ secret: Redacted.make(WEBHOOK_SECRET), map })

/** A `lead.updated` delivery whose lead metadata has `extra` in it, as JSON text. */
const delivery = (extra: string, createdAt = "2026-11-02T10:00:00.000Z") =>
  new TextEncoder().encode(
    `{"id":"evt_1","event":"lead.updated","createdAt":"${createdAt}","data":{"lead":{"id":"lead_1","status":"contacted","metadata":{"external_id":"L-1","extra":${extra}}}}}`,
  )

const failure = (body: Uint8Array) => {
  const exit = Effect.runSyncExit(decoder.decode(signed(body)))
  if (Exit.isSuccess(exit)) return "decoded"
  if (exit.cause._tag !== "Fail") return `defect: ${String(exit.cause)}`
  const error: CrmWebhooks.WebhookError = exit.cause.error
  return `${error.reason}: ${error.detail}`
}

describe("generic webhook decoding: hostile bodies (issue 11, item 7)", () => {
  it("a signed delivery with metadata 2,000 deep is Malformed, not a stack overflow", () => {
    const deep = `${'{"a":'.repeat(2_000)}1${"}".repeat(2_000)}`
    expect(failure(delivery(deep))).toMatch(
      /^Malformed: body\.data\.lead\.metadata\.extra(\.a)+ is nested more than 32/,
    )
  })

  it("a signed body over maxWebhookBodySize is Malformed", () => {
    const big = JSON.stringify("x".repeat(InputLimits.maxWebhookBodySize))
    expect(failure(delivery(big))).toMatch(/^Malformed: the body is \d+ bytes, over the 1048576-byte limit/)
  })

  it('a "__proto__" key in the lead metadata is Malformed, not a prototype', () => {
    expect(failure(delivery('{"__proto__":{"polluted":true}}'))).toMatch(/^Malformed: .*"__proto__" key/)
  })

  it("a createdAt before 1970 is Malformed", () => {
    expect(failure(delivery("1", "1969-12-31T23:59:59.000Z"))).toMatch(/^Malformed: createdAt/)
  })

  it("a delivery within the limits still decodes", () => {
    expect(failure(delivery('{"ok":[1,2,{"b":null}]}'))).toBe("decoded")
  })
})
