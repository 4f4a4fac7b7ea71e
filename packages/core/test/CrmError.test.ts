import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, FastCheck as fc, Schema } from "effect"
import { CrmError, CrmErrorReason, isRetryable, withAttempts } from "../src/CrmError.js"

type Tag = CrmErrorReason["_tag"]

/** Every reason, with whether it is retryable. A missing tag is a compile error. */
const table: { readonly [K in Tag]: ReadonlyArray<readonly [Extract<CrmErrorReason, { readonly _tag: K }>, boolean]> } =
  {
    Unauthorized: [[{ _tag: "Unauthorized", detail: "HTTP 401" }, false]],
    NotFound: [[{ _tag: "NotFound", detail: "HTTP 404" }, false]],
    Conflict: [[{ _tag: "Conflict", detail: "HTTP 409" }, false]],
    DuplicateLead: [
      [{ _tag: "DuplicateLead", detail: "exists" }, false],
      [{ _tag: "DuplicateLead", detail: "exists", existingId: "V1" }, false],
    ],
    InvalidRequest: [[{ _tag: "InvalidRequest", detail: "HTTP 422", fields: ["phone"] }, false]],
    CallInProgress: [[{ _tag: "CallInProgress", detail: "on a call" }, true]],
    RateLimited: [
      [{ _tag: "RateLimited", detail: "HTTP 429" }, true],
      [{ _tag: "RateLimited", detail: "HTTP 429", retryAfterMs: 2_000 }, true],
      [{ _tag: "RateLimited", detail: "HTTP 429", blocked: false }, true],
      [{ _tag: "RateLimited", detail: "duplicate submission", blocked: true }, false],
      [{ _tag: "RateLimited", detail: "duplicate submission", blocked: true, retryAfterMs: 1 }, false],
    ],
    VendorUnavailable: [[{ _tag: "VendorUnavailable", detail: "HTTP 503", status: 503 }, true]],
    Transport: [
      [{ _tag: "Transport", detail: "t", kind: "Timeout" }, true],
      [{ _tag: "Transport", detail: "t", kind: "Reset" }, true],
      [{ _tag: "Transport", detail: "t", kind: "Refused" }, true],
      [{ _tag: "Transport", detail: "t", kind: "Other" }, true],
    ],
    MalformedResponse: [[{ _tag: "MalformedResponse", detail: "bad", status: 200 }, false]],
    Unsupported: [[{ _tag: "Unsupported", detail: "no", capability: "create" }, false]],
    VendorIgnoredWrite: [[{ _tag: "VendorIgnoredWrite", detail: "ignored", expected: "won", actual: "open" }, false]],
  }
const rows: ReadonlyArray<readonly [CrmErrorReason, boolean]> = Object.values(table).flat()

/** The spec, restated independently of the implementation. */
const shouldRetry = (r: CrmErrorReason): boolean =>
  r._tag === "RateLimited"
    ? r.blocked !== true
    : r._tag === "VendorUnavailable" || r._tag === "Transport" || r._tag === "CallInProgress"

const reasonArb = Arbitrary.make(CrmErrorReason)
const wordArb = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,9}$/)

describe("CrmError", () => {
  it.each(rows.map(([reason, retryable]) => [JSON.stringify(reason), reason, retryable] as const))(
    "isRetryable(%s)",
    (_, reason, retryable) => {
      assert.strictEqual(isRetryable(reason), retryable)
      assert.strictEqual(new CrmError({ vendor: "acme", operation: "op", reason }).retryable, retryable)
    },
  )

  it.prop("isRetryable agrees with the spec for every reason", [reasonArb], ([reason]) => {
    assert.strictEqual(isRetryable(reason), shouldRetry(reason))
  })

  it("the message names vendor, operation, lead, reason, detail and what to do", () => {
    const e = new CrmError({
      vendor: "uservox",
      operation: "SetState",
      leadId: "lead-42",
      reason: { _tag: "InvalidRequest", detail: "HTTP 422: bad phone", fields: ["phone", "email"] },
    })
    assert.strictEqual(
      e.message,
      `uservox SetState for lead "lead-42" failed: InvalidRequest: HTTP 422: bad phone (fields: phone, email). Fix the named fields (or the state map) and send again.`,
    )
    assert.strictEqual(e._tag, "CrmError")
    assert.instanceOf(e, Error)
  })

  it("the message leaves out the lead when there is none, and the fields when there are none", () => {
    const e = new CrmError({
      vendor: "voxys",
      operation: "readBack",
      reason: { _tag: "InvalidRequest", detail: "HTTP 400", fields: [] },
    })
    assert.strictEqual(
      e.message,
      "voxys readBack failed: InvalidRequest: HTTP 400. Fix the request's content (or the state map) and send again.",
    )
  })

  it.prop(
    "every message names vendor, operation, lead, reason tag and detail, and ends with advice",
    [wordArb, wordArb, fc.option(wordArb, { nil: undefined }), reasonArb],
    ([vendor, operation, leadId, reason]) => {
      const e = new CrmError({ vendor, operation, ...(leadId === undefined ? {} : { leadId }), reason })
      const m = e.message
      assert.isTrue(m.startsWith(`${vendor} ${operation}`))
      if (leadId !== undefined) assert.include(m, `for lead "${leadId}"`)
      else assert.notInclude(m, "for lead")
      assert.include(m, `failed: ${reason._tag}: ${reason.detail}`)
      if (reason._tag === "InvalidRequest" && reason.fields.length > 0) {
        assert.include(m, `(fields: ${reason.fields.join(", ")})`)
      }
      assert.match(m, /\. [A-Z][\s\S]*\.$/)
    },
  )

  it.prop(
    "every message says what to do once: no repeated sentence, no promise of a retry",
    [reasonArb, fc.option(fc.integer({ min: 1, max: 9 }), { nil: undefined })],
    ([reason, attempts]) => {
      const e = new CrmError({
        vendor: "acme",
        operation: "op",
        reason,
        ...(attempts === undefined ? {} : { attempts }),
      })
      const advice = e.message.slice(e.message.indexOf(`${reason.detail}`) + reason.detail.length)
      assert.notInclude(e.message, "will be retried")
      const sentences = advice.split(". ").filter((x) => x.trim() !== "" && x.trim() !== ".")
      assert.strictEqual(new Set(sentences).size, sentences.length, e.message)
      if (attempts !== undefined && isRetryable(reason)) {
        assert.include(
          e.message,
          `Gave up after ${attempts} attempt${attempts === 1 ? "" : "s"}: the retry policy allows no more.`,
        )
      }
      if (attempts === undefined) assert.notInclude(e.message, "attempt")
    },
  )

  // Regression: a refused connection read "... did not complete: Transport ... it will be retried"
  // even on the last attempt.
  it("a refused connection names the host and port, how many attempts were made, and what to do", () => {
    const refused = new CrmError({
      vendor: "uservox",
      operation: "CreateLead",
      leadId: "L1",
      reason: { _tag: "Transport", kind: "Refused", detail: "connection refused by 127.0.0.1:9 (POST /v1/leads)" },
    })
    assert.strictEqual(
      withAttempts(refused, 5).message,
      `uservox CreateLead for lead "L1" failed: Transport: connection refused by 127.0.0.1:9 (POST /v1/leads). Gave up after 5 attempts: the retry policy allows no more. Check the vendor's base URL (host and port) and that the service is up.`,
    )
    assert.strictEqual(withAttempts(refused, 5).attempts, 5)
    assert.strictEqual(refused.attempts, undefined)
    const notFound = withAttempts(
      new CrmError({ vendor: "v", operation: "op", reason: { _tag: "NotFound", detail: "HTTP 404" } }),
      1,
    )
    assert.strictEqual(
      notFound.message,
      "v op failed: NotFound: HTTP 404. Check the lead reference; the lead may have been deleted at the vendor.",
    )
    const stopped = withAttempts(
      new CrmError({ vendor: "v", operation: "op", reason: { _tag: "NotFound", detail: "HTTP 404" } }),
      3,
    )
    assert.include(stopped.message, "Stopped after 3 attempts: this failure is not retried.")
  })

  it("the advice uses what the reason knows: the vendor's wait, the existing lead, the kind of transport failure", () => {
    const message = (reason: CrmErrorReason) => new CrmError({ vendor: "v", operation: "op", reason }).message
    assert.include(
      message({ _tag: "RateLimited", detail: "HTTP 429", retryAfterMs: 2_500 }),
      "the vendor asks to wait 3 s.",
    )
    assert.include(
      message({ _tag: "RateLimited", detail: "HTTP 429", blocked: true }),
      "do not resend before it lifts.",
    )
    assert.include(message({ _tag: "DuplicateLead", detail: "HTTP 409", existingId: "V7" }), '(vendor id "V7")')
    assert.include(message({ _tag: "Transport", kind: "Timeout", detail: "no answer" }), "raise the request timeout")
  })

  it.prop(
    "a message never contains a secret that is in none of its parts",
    [wordArb, wordArb, reasonArb, fc.string({ minLength: 12, maxLength: 40 })],
    ([vendor, operation, reason, secret]) => {
      fc.pre(!JSON.stringify({ vendor, operation, reason }).includes(secret))
      assert.notInclude(new CrmError({ vendor, operation, reason }).message, secret)
    },
  )

  it.prop(
    "encodes and decodes with its schema (round trip)",
    [reasonArb, fc.option(wordArb, { nil: undefined })],
    ([reason, leadId]) => {
      const e = new CrmError({ vendor: "acme", operation: "op", ...(leadId === undefined ? {} : { leadId }), reason })
      const back = Schema.decodeUnknownSync(CrmError)(Schema.encodeSync(CrmError)(e))
      assert.instanceOf(back, CrmError)
      assert.deepStrictEqual(back.reason, e.reason)
      assert.strictEqual(back.message, e.message)
    },
  )
})
