import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { GenericAdapter } from "@leadstate/adapter-generic"
import { startFakeGenericServer } from "@leadstate/adapter-generic/testing"
import { type CrmError, RetryPolicy, StateMap } from "@leadstate/core"
import { Cause, Effect, Exit, Layer, Redacted } from "effect"
import { API_KEY, dealer, dealerMap } from "./fixtures.js"

const options = (
  baseUrl: string,
  extra: Partial<GenericAdapter.GenericOptions> = {},
): GenericAdapter.GenericOptions => ({
  lifecycle: dealer,
  stateMap: dealerMap,
  baseUrl,
  apiKey: Redacted.make(API_KEY),
  chatbotId: "bot_1",
  retry: { ...RetryPolicy.defaults, baseDelayMs: 1, jitter: 0, maxDelayMs: 2_000 },
  ...extra,
})

const adapterFor = (baseUrl: string, extra: Partial<GenericAdapter.GenericOptions> = {}) =>
  GenericAdapter.make(options(baseUrl, extra)).pipe(Effect.provide(FetchHttpClient.layer))

const failure = <A>(exit: Exit.Exit<A, CrmError.CrmError>): CrmError.CrmError => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const f = Cause.failureOption(exit.cause)
  if (f._tag === "None") throw new Error(Cause.pretty(exit.cause))
  return f.value
}

const create = { _tag: "CreateLead", leadId: "L-1", state: "new", at: 0 } as const

describe("GenericAdapter", () => {
  it.scopedLive("creates a lead on the chatbot-scoped path with the documented body", () =>
    Effect.gen(function* () {
      const fake = yield* startFakeGenericServer({ apiKey: API_KEY })
      const crm = yield* adapterFor(fake.url)
      const receipt = yield* crm.send(
        {
          ...create,
          metadata: {
            name: "Marta Ruiz",
            email: "Marta.Ruiz@example.org",
            phone: "+34-600-000-111",
            source: "landing-page",
            utm_campaign: "q3",
          },
        },
        { leadId: "L-1" },
      )
      const [request] = fake.requests()
      assert.strictEqual(request?.method, "POST")
      assert.strictEqual(request?.path, "/api/v1/chatbots/bot_1/leads")
      assert.strictEqual(request?.headers.authorization, `Bearer ${API_KEY}`)
      assert.deepStrictEqual(request?.body, {
        name: "Marta Ruiz",
        email: "Marta.Ruiz@example.org",
        phone: "+34-600-000-111",
        source: "landing-page",
        status: "new",
        metadata: {
          utm_campaign: "q3",
          external_id: "L-1",
          leadstate: { leadId: "L-1", state: "new", at: "1970-01-01T00:00:00.000Z" },
        },
      })
      assert.strictEqual(receipt._tag, "Confirmed")
      assert.match(receipt.vendorLeadId ?? "", /^lead_[0-9a-f]{16}$/)
    }),
  )

  it.scopedLive("refuses a create without name or email before sending anything", () =>
    Effect.gen(function* () {
      const fake = yield* startFakeGenericServer({ apiKey: API_KEY })
      const crm = yield* adapterFor(fake.url)
      const error = failure(yield* Effect.exit(crm.send({ ...create, metadata: { name: "x" } }, { leadId: "L-1" })))
      assert.strictEqual(error.reason._tag, "InvalidRequest")
      assert.deepStrictEqual(error.reason._tag === "InvalidRequest" ? error.reason.fields : [], ["email"])
      assert.strictEqual(fake.requests().length, 0)
    }),
  )

  it.scopedLive("maps DUPLICATE_EMAIL to DuplicateLead with the existing lead's id", () =>
    Effect.gen(function* () {
      const fake = yield* startFakeGenericServer({ apiKey: API_KEY })
      const existing = fake.putLead({ name: "Ana", email: "ana@example.org" }, { chatbotId: "bot_1" })
      const crm = yield* adapterFor(fake.url)
      const error = failure(
        yield* Effect.exit(
          crm.send({ ...create, metadata: { name: "Ana", email: "ana@example.org" } }, { leadId: "L-1" }),
        ),
      )
      assert.deepStrictEqual(error.reason._tag === "DuplicateLead" ? error.reason.existingId : "", existing.id)
      assert.strictEqual(fake.requests().length, 1, "a duplicate is not retried")
    }),
  )

  it.scopedLive("sends a status outside the vocabulary as the vendor's VALIDATION_ERROR with the field", () =>
    Effect.gen(function* () {
      const fake = yield* startFakeGenericServer({
        apiKey: API_KEY,
        statuses: ["new", "contacted", "qualified", "converted", "lost"],
      })
      const lead = fake.putLead({ name: "Ana", email: "ana@example.org" })
      const crm = yield* adapterFor(fake.url)
      const error = failure(
        yield* Effect.exit(
          crm.send(
            { _tag: "SetState", leadId: "L-1", from: "contacted", to: "followup_1", at: 0 },
            { leadId: "L-1", vendorLeadId: lead.id },
          ),
        ),
      )
      assert.strictEqual(error.reason._tag, "InvalidRequest")
      assert.deepStrictEqual(error.reason._tag === "InvalidRequest" ? error.reason.fields : [], ["status"])
    }),
  )

  it.scopedLive("lists with pagination and filters, reads one lead, deletes one", () =>
    Effect.gen(function* () {
      const fake = yield* startFakeGenericServer({ apiKey: API_KEY })
      for (let i = 0; i < 130; i++)
        fake.putLead({ name: `Lead ${i}`, email: `l${i}@example.org`, status: i % 2 === 0 ? "new" : "lost" })
      const crm = yield* adapterFor(fake.url)
      const ids = new Set<string>()
      for (let page = 1; ; page++) {
        const result = yield* crm.list({ page, limit: 500, status: "new" })
        assert.isAtMost(result.leads.length, 100)
        for (const l of result.leads) ids.add(l.id)
        if (!result.pagination.hasNext) break
      }
      assert.strictEqual(ids.size, 65)
      const [first] = ids
      if (first === undefined) return assert.fail("no lead listed")
      assert.strictEqual((yield* crm.get(first)).id, first)
      yield* crm.remove(first)
      assert.strictEqual(failure(yield* Effect.exit(crm.get(first))).reason._tag, "NotFound")
    }),
  )

  it.scopedLive("waits for X-RateLimit-Reset when X-RateLimit-Remaining reaches 0", () =>
    Effect.gen(function* () {
      const fake = yield* startFakeGenericServer({ apiKey: API_KEY, rateLimitPerHour: 2 })
      const lead = fake.putLead({ name: "Ana", email: "ana@example.org" })
      const crm = yield* adapterFor(fake.url, { retry: { ...RetryPolicy.defaults, maxAttempts: 1 } })
      yield* crm.get(lead.id)
      yield* crm.get(lead.id) // remaining is now 0: the next call must wait for the window (an hour)
      const third = yield* Effect.exit(Effect.timeout(crm.get(lead.id), "300 millis"))
      assert.isTrue(Exit.isFailure(third), "the third request should still be waiting")
      assert.strictEqual(fake.requests().length, 2, "no request is sent while the limit is spent")
    }),
  )

  it.effect("fails to build with a message naming every unmapped state", () =>
    Effect.gen(function* () {
      const { followup_2: _f2, snoozed: _s, ...partial } = dealerMap.states
      const exit = yield* Effect.exit(
        Layer.build(
          GenericAdapter.layer(options("http://127.0.0.1:1", { stateMap: { ...dealerMap, states: partial } })),
        ).pipe(Effect.provide(FetchHttpClient.layer), Effect.scoped),
      )
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isSuccess(exit)) return
      const error = Cause.failureOption(exit.cause)
      assert.isTrue(error._tag === "Some" && error.value instanceof StateMap.InvalidStateMap)
      const message = error._tag === "Some" ? error.value.message : ""
      assert.include(message, 'state "followup_2" is not mapped')
      assert.include(message, 'state "snoozed" is not mapped')
    }),
  )

  it.scopedLive("reads a list whose items omit fields, as the docs allow", () =>
    Effect.gen(function* () {
      const fake = yield* startFakeGenericServer({ apiKey: API_KEY })
      const crm = yield* adapterFor(fake.url)
      fake.inject({
        path: "/api/v1/leads",
        fault: {
          _tag: "Status",
          status: 200,
          body: {
            success: true,
            data: {
              leads: [{ id: "lead_1", name: "Ana" }],
              pagination: { page: 1, limit: 20, total: 1, totalPages: 1, hasNext: false, hasPrev: false },
            },
          },
        },
      })
      const page = yield* crm.list()
      assert.deepStrictEqual(
        page.leads.map((l) => l.id),
        ["lead_1"],
      )
    }),
  )
})

describe("GenericAdapter.classify reads an error body field by field (found by pnpm fuzz)", () => {
  const response = (status: number, body: unknown) => ({ status, headers: {}, body })

  it("an error or code that is not a string does not throw", () => {
    for (const body of [
      { success: false, error: { toString: 1 } },
      { success: false, code: { toString: 1 }, error: "x" },
      { success: false, error: ["a"], code: [1] },
    ]) {
      const reason = GenericAdapter.classify(response(400, body))
      assert.strictEqual(reason._tag, "InvalidRequest")
    }
  })

  it("a retryAfter that is not a number of seconds is ignored, never a NaN wait", () => {
    const reason = GenericAdapter.classify(response(429, { success: false, retryAfter: "~9" }))
    assert.deepStrictEqual(reason, { _tag: "RateLimited", detail: "HTTP 429: no detail given" })
  })
})
