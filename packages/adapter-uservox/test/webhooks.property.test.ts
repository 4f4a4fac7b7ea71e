import { describe, expect, it } from "@effect/vitest"
import { UservoxWebhooks } from "@leadstate/adapter-uservox"
import { InputLimits, StateMap } from "@leadstate/core"
import { Effect, Either, Exit, FastCheck as fc, Redacted } from "effect"
import { CALLBACK_TOKEN, dealer, dealerMap, PROCESS } from "./fixtures.js"

const map = Either.getOrThrow(StateMap.make(dealer, dealerMap, { vendor: "uservox", inbound: true }))
const decoder = UservoxWebhooks.make({ auth: { bearer: Redacted.make(CALLBACK_TOKEN) }, map })
const headers = { authorization: `Bearer ${CALLBACK_TOKEN}` }
const decode = (payload: unknown) =>
  Effect.runSyncExit(decoder.decode({ headers, body: new TextEncoder().encode(JSON.stringify(payload)) }))

const objectId = fc.stringMatching(/^[0-9a-f]{24}$/)
const timestamp = fc.integer({ min: 1_600_000_000_000, max: 2_000_000_000_000 })
const vendorStates = Object.values(dealerMap.states)

const updateResult = fc.record({
  action_type: fc.constant("update" as const),
  updateId: objectId,
  success: fc.boolean(),
  error: fc.oneof(
    fc.constant(null),
    fc.constant("Lead update is not allowed while a call is in progress for this lead"),
    fc.string(),
  ),
  leadId: objectId,
  referenceId: fc.string({ minLength: 1, maxLength: 20 }),
  timestamp,
  data: fc.constant(null),
})

const activity = fc.record({
  action_type: fc.constant("update" as const),
  activityId: objectId,
  lastActivityId: objectId,
  leadId: objectId,
  processId: fc.constant(PROCESS),
  referenceId: fc.string({ minLength: 1, maxLength: 20 }),
  timestamp,
  activity: fc.record({
    type: fc.constant("call"),
    status: fc.constant("success"),
    fromState: fc.constantFrom(...vendorStates),
    toState: fc.constantFrom(...vendorStates),
    scheduledAt: timestamp,
    result: fc.record({
      analysis: fc.record({
        success: fc.boolean(),
        disposition: fc.constantFrom("No Connect", "Wrong Number", "Interested - Follow Up"),
        dispositionType: fc.constantFrom("success" as const, "failure" as const, "neutral" as const),
        summary: fc.string(),
      }),
    }),
  }),
})

describe("uservox webhook decoding (properties)", () => {
  it.prop(
    "an update result decodes to one outcome for the right lead, confirmed iff success",
    { p: updateResult },
    ({ p }) => {
      const exit = decode(p)
      expect(Exit.isSuccess(exit)).toBe(true)
      if (!Exit.isSuccess(exit)) return
      const [event, ...rest] = exit.value
      expect(rest).toEqual([])
      expect(event?.vendorEventId).toBe(p.updateId)
      expect(event?.ref).toEqual({ leadId: p.referenceId, vendorLeadId: p.leadId })
      expect(event?.at).toBe(p.timestamp)
      expect(event?._tag).toBe(p.success ? "SyncConfirmed" : "SyncFailed")
      if (event?._tag === "SyncFailed") {
        expect(event.reason._tag).toBe(p.error?.includes("call is in progress") ? "CallInProgress" : "InvalidRequest")
      }
    },
  )

  it.prop(
    "an activity decodes to the reverse-mapped move, or to a metadata update when it did not move",
    { p: activity },
    ({ p }) => {
      const exit = decode(p)
      expect(Exit.isSuccess(exit)).toBe(true)
      if (!Exit.isSuccess(exit)) return
      const [event] = exit.value
      expect(event?._tag).toBe("LeadChanged")
      if (event?._tag !== "LeadChanged") return
      expect(event.vendorEventId).toBe(p.activityId)
      expect(event.fromState).toBe(map.fromVendor(p.activity.fromState))
      if (p.activity.fromState === p.activity.toState) expect(event.event.type).toBe("updateMetadata")
      else
        expect(event.event).toMatchObject({
          type: "transition",
          to: map.fromVendor(p.activity.toState),
          at: p.timestamp,
        })
    },
  )

  it.prop(
    "anything with a wrong or missing token is InvalidSignature, whatever the body",
    { body: fc.uint8Array({ maxLength: 200 }), token: fc.option(fc.string(), { nil: undefined }) },
    ({ body, token }) => {
      const exit = Effect.runSyncExit(
        decoder.decode({ headers: token === undefined ? {} : { authorization: `Bearer ${token}x` }, body }),
      )
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error.reason).toBe("InvalidSignature")
    },
  )
})

describe("uservox webhook decoding: hostile bodies (issue 11, item 7)", () => {
  const reasonOf = (body: Uint8Array | unknown) => {
    const bytes = body instanceof Uint8Array ? body : new TextEncoder().encode(JSON.stringify(body))
    const exit = Effect.runSyncExit(decoder.decode({ headers, body: bytes }))
    if (Exit.isSuccess(exit)) return "decoded"
    return exit.cause._tag === "Fail" ? `${exit.cause.error.reason}: ${exit.cause.error.detail}` : "defect"
  }
  const update = {
    action_type: "update",
    updateId: "0123456789abcdef01234567",
    success: true,
    error: null,
    leadId: "0123456789abcdef01234567",
    referenceId: "L-1",
    timestamp: 1_768_300_000_000,
    data: null,
  }

  it("a body nested 2,000 deep is Malformed, not a stack overflow", () => {
    const deep = `{"updateId":"x","data":${'{"a":'.repeat(2_000)}1${"}".repeat(2_000)}}`
    expect(reasonOf(new TextEncoder().encode(deep))).toMatch(/^Malformed: body\.data(\.a)+ is nested more than 32/)
  })

  it("a body over maxWebhookBodySize is Malformed", () => {
    expect(reasonOf({ ...update, error: "x".repeat(InputLimits.maxWebhookBodySize) })).toMatch(
      /^Malformed: the body is \d+ bytes, over the 1048576-byte limit/,
    )
  })

  it("a timestamp past the last Date, fractional or negative, is Malformed", () => {
    for (const timestamp of [InputLimits.maxTime + 1, 1.5, -1]) {
      expect(reasonOf({ ...update, timestamp })).toMatch(/^Malformed: timestamp .* is not epoch milliseconds/)
    }
    expect(reasonOf(update)).toBe("decoded")
  })
})

describe("uservox update results name our write", () => {
  const base = {
    action_type: "update",
    updateId: "6651c0de0000000000000001",
    success: true,
    error: null,
    leadId: "6651c0de00000000000000aa",
    referenceId: "L-1",
    timestamp: 1_700_000_000_000,
  }

  it("a success carries the write id found in the lead's metadata after the update", () => {
    const exit = decode({ ...base, data: { city: "Pune", leadstate_write_id: "L-1/3/0" } })
    expect(Exit.isSuccess(exit) && exit.value[0]?.ref.writeId).toBe("L-1/3/0")
  })

  it("without one (or with a failure), no write is named", () => {
    const plain = decode({ ...base, data: { city: "Pune" } })
    expect(Exit.isSuccess(plain) && plain.value[0]?.ref.writeId).toBeUndefined()
    const failed = decode({ ...base, success: false, error: "x", data: null })
    expect(Exit.isSuccess(failed) && failed.value[0]?.ref.writeId).toBeUndefined()
  })
})
