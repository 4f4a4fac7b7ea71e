import { request as httpRequest } from "node:http"
import { assert, describe, it } from "@effect/vitest"
import { GenericAdapter } from "@leadstate/adapter-generic"
import { Effect, Either, Exit, FastCheck as fc, Redacted, Ref, TestClock } from "effect"
import { stateMap } from "../../../examples/engine.js"
import * as CrmWebhooks from "../src/CrmWebhooks.js"
import { autoDealer } from "../src/examples/autoDealer.js"
import * as LeadStore from "../src/LeadStore.js"
import * as Lifecycle from "../src/Lifecycle.js"
import { serveHandler } from "../src/testing/index.js"
import * as WebhookBody from "../src/WebhookBody.js"
import * as WebhookInbox from "../src/WebhookInbox.js"

// --- the generic adapter's signed webhooks -----------------------------------------------------

const SECRET = "whsec_inbox_test_secret_value"
const webhooks = Either.getOrThrow(
  GenericAdapter.makeWebhooks({
    lifecycle: Lifecycle.unsafeMake(autoDealer),
    stateMap,
    baseUrl: "http://127.0.0.1:1",
    apiKey: Redacted.make("sk-workspace_unused"),
    webhookSecret: Redacted.make(SECRET),
  }),
)

/** A `lead.updated` delivery for lead `leadId`, dated `at`, signed as the vendor signs it. */
const delivery = (id: string, at: number, leadId = "L1", status = "contacted"): CrmWebhooks.RawWebhook => {
  const body = new TextEncoder().encode(
    JSON.stringify({
      id,
      event: "lead.updated",
      createdAt: new Date(at).toISOString(),
      data: { lead: { id: `V-${leadId}`, status, metadata: { external_id: leadId } } },
    }),
  )
  return {
    headers: {
      "content-type": "application/json",
      "x-webhook-signature": `sha256=${CrmWebhooks.hmacSha256Hex(Redacted.make(SECRET), body)}`,
    },
    body,
  }
}

/** An inbox that records the events it hands on. */
const recordingInbox = (options: Partial<WebhookInbox.InboxOptions> = {}) =>
  Effect.gen(function* () {
    const seen = yield* Ref.make<ReadonlyArray<string>>([])
    const inbox = WebhookInbox.make({
      webhooks,
      onEvent: (event) => Ref.update(seen, (ids) => [...ids, event.vendorEventId]),
      ...options,
    })
    return { inbox, seen: Ref.get(seen) }
  })

const T = Date.UTC(2025, 5, 1, 12, 0, 0)
const minutes = (n: number) => n * 60_000

// --- clock skew ----------------------------------------------------------------------------------

describe("WebhookInbox: events dated ahead of our clock (TestClock)", () => {
  // Regression: a signed far-future createdAt was accepted and made every later genuine event of
  // its lead stale.
  it.effect("a far-future event is refused, and does not make the lead's later genuine events stale", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T)
      const { inbox, seen } = yield* recordingInbox()
      const refused = yield* Effect.flip(inbox.receive(delivery("evt-future", T + minutes(60 * 24 * 365))))
      assert.strictEqual(refused._tag, "WebhookError")
      if (refused._tag !== "WebhookError") return
      assert.strictEqual(refused.reason, "ClockSkew")
      assert.include(refused.message, `event "evt-future" is dated 2026-06-01T12:00:00.000Z`)
      assert.include(refused.message, "ahead of this receiver's clock")
      assert.include(refused.message, "Check the sender's and this server's clocks")
      assert.deepStrictEqual(yield* seen, [])
      const genuine = yield* inbox.receive(delivery("evt-1", T - 1_000))
      assert.deepStrictEqual([genuine.accepted.length, genuine.stale], [1, 0])
      assert.deepStrictEqual(yield* seen, ["evt-1"])
    }),
  )

  it.effect("the window is maxClockSkewMs (default 5 minutes) past the Clock's now, inclusive", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T)
      const { inbox } = yield* recordingInbox()
      assert.strictEqual((yield* inbox.receive(delivery("a", T + minutes(5), "A"))).accepted.length, 1)
      const late = yield* Effect.flip(inbox.receive(delivery("b", T + minutes(5) + 1_000, "B")))
      assert.strictEqual(late._tag === "WebhookError" && late.reason, "ClockSkew")
      // The same event is fine once our clock has moved on.
      yield* TestClock.adjust(minutes(1))
      assert.strictEqual((yield* inbox.receive(delivery("b", T + minutes(5) + 1_000, "B"))).accepted.length, 1)
      const strict = (yield* recordingInbox({ maxClockSkewMs: 0 })).inbox
      assert.isTrue(Exit.isFailure(yield* Effect.exit(strict.receive(delivery("c", T + minutes(1) + 1, "C")))))
    }),
  )

  it.prop(
    "checkClockSkew refuses exactly the events dated more than maxClockSkewMs after now",
    [fc.integer({ min: 0, max: 4e12 }), fc.integer({ min: 0, max: 4e12 }), fc.integer({ min: 0, max: 1e9 })],
    ([at, now, maxSkew]) => {
      const error = WebhookInbox.checkClockSkew("acme", { vendorEventId: "e", at }, now, maxSkew)
      assert.strictEqual(error === undefined, at - now <= maxSkew)
      if (error !== undefined) assert.strictEqual(error.reason, "ClockSkew")
    },
  )

  it("checkClockSkew refuses a time that is not a number", () => {
    assert.isDefined(WebhookInbox.checkClockSkew("acme", { vendorEventId: "e", at: Number.NaN }, T))
    assert.isUndefined(WebhookInbox.checkClockSkew("acme", { vendorEventId: "e", at: T }, T))
  })
})

// --- durable deduplication -----------------------------------------------------------------------

describe("WebhookInbox: deduplication", () => {
  // Regression: ids were only kept in memory, so a replayed signed event was accepted after a restart.
  it.effect("with rememberIn(store), a replay after a restart (a new inbox on the same store) is a duplicate", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T)
      const store = yield* LeadStore.makeMemory
      const before = yield* recordingInbox({ remember: WebhookInbox.rememberIn(store) })
      assert.strictEqual((yield* before.inbox.receive(delivery("evt-1", T))).accepted.length, 1)
      const after = yield* recordingInbox({ remember: WebhookInbox.rememberIn(store) })
      const replay = yield* after.inbox.receive(delivery("evt-1", T))
      assert.deepStrictEqual([replay.accepted.length, replay.duplicates], [0, 1])
      assert.deepStrictEqual(yield* after.seen, [])
      assert.isFalse(yield* store.rememberEvent("evt-1"), "the id is in the store")
    }),
  )

  it.effect("the in-memory default drops a duplicate within one inbox, and forgets past `memory` ids", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T)
      const { inbox } = yield* recordingInbox({ memory: 2 })
      yield* inbox.receive(delivery("a", T, "A"))
      assert.strictEqual((yield* inbox.receive(delivery("a", T, "A"))).duplicates, 1)
      yield* inbox.receive(delivery("b", T, "B"))
      yield* inbox.receive(delivery("c", T, "C"))
      assert.strictEqual((yield* inbox.receive(delivery("a", T + 1, "A"))).accepted.length, 1)
    }),
  )

  it.live("a store that fails is a StoreError, answered 500 so the vendor retries", () =>
    Effect.gen(function* () {
      const { inbox, seen } = yield* recordingInbox({
        remember: () => Effect.fail(new LeadStore.StoreError({ operation: "rememberEvent", detail: "down" })),
      })
      const error = yield* Effect.flip(inbox.receive(delivery("evt-1", Date.now())))
      assert.strictEqual(error._tag, "StoreError")
      const raw = delivery("evt-1", Date.now())
      const response = yield* Effect.promise(() =>
        inbox.handler(
          new Request("http://x/hook", {
            method: "POST",
            headers: raw.headers as Record<string, string>,
            body: raw.body,
          }),
        ),
      )
      assert.strictEqual(response.status, 500)
      assert.deepStrictEqual(yield* seen, [])
    }),
  )
})

// --- body size limit -----------------------------------------------------------------------------

/** Process memory that a buffered body would grow: the JS heap and the buffers outside it. */
const memory = () => {
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

/**
 * POSTs up to `total` bytes in 64 KiB chunks with node:http (chunked, or with `content-length`),
 * stopping as soon as the answer comes. Reports the status, the bytes written, the time and the
 * largest growth of this process's memory seen while sending.
 */
const post = (url: string, total: number, options: { readonly declareLength?: boolean } = {}) =>
  Effect.async<{ status: number; sent: number; ms: number; growth: number }, Error>((resume) => {
    const started = performance.now()
    const baseline = memory()
    let growth = 0
    let sent = 0
    let answered = false
    const req = httpRequest(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(options.declareLength === true ? { "content-length": String(total) } : {}),
      },
    })
    const chunk = Buffer.alloc(64 * 1024, 0x20)
    req.on("response", (res) => {
      answered = true
      res.resume()
      res.on("end", () => {
        resume(Effect.succeed({ status: res.statusCode ?? 0, sent, ms: performance.now() - started, growth }))
        req.destroy()
      })
    })
    req.on("error", (error) => {
      if (!answered) resume(Effect.fail(error))
    })
    const pump = () => {
      while (!answered && sent < total) {
        growth = Math.max(growth, memory() - baseline)
        sent += chunk.length
        if (!req.write(chunk)) {
          req.once("drain", pump)
          return
        }
      }
      if (!answered) req.end()
    }
    pump()
    return Effect.sync(() => req.destroy())
  })

describe("WebhookInbox: body size limit (real HTTP on 127.0.0.1)", () => {
  // Regression: a 100 MB unsigned body was buffered in full (+305 MB) before the 401.
  it.scopedLive("100 MB streamed without a length is answered 413 after about 1 MiB, in bounded memory", () =>
    Effect.gen(function* () {
      const { inbox, seen } = yield* recordingInbox()
      const receiver = yield* serveHandler(inbox.handler)
      const result = yield* post(receiver.url, 100 * 1024 * 1024)
      assert.strictEqual(result.status, 413)
      assert.isBelow(result.sent, 32 * 1024 * 1024, "the server stopped reading long before the end")
      assert.isBelow(result.ms, 10_000)
      assert.isBelow(result.growth, 48 * 1024 * 1024, "memory grew by much less than the body")
      assert.deepStrictEqual(yield* seen, [])
      // The server still answers afterwards.
      const ok = yield* Effect.promise(() => fetch(receiver.url, { method: "POST", body: "{}" }))
      assert.strictEqual(ok.status, 401)
    }),
  )

  it.scopedLive("a declared content-length over the limit is answered 413 without reading the body", () =>
    Effect.gen(function* () {
      const { inbox } = yield* recordingInbox()
      const receiver = yield* serveHandler(inbox.handler)
      const result = yield* post(receiver.url, 100 * 1024 * 1024, { declareLength: true })
      assert.strictEqual(result.status, 413)
      assert.isBelow(result.sent, 32 * 1024 * 1024)
    }),
  )

  it.scopedLive("maxBodyBytes sets the limit: a signed delivery at the limit is taken, one byte more is 413", () =>
    Effect.gen(function* () {
      const raw = delivery("evt-1", Date.now())
      const headers = raw.headers as Record<string, string>
      const exact = (yield* recordingInbox({ maxBodyBytes: raw.body.byteLength })).inbox
      const under = (yield* recordingInbox({ maxBodyBytes: raw.body.byteLength - 1 })).inbox
      for (const [inbox, status] of [
        [exact, 200],
        [under, 413],
      ] as const) {
        const receiver = yield* serveHandler(inbox.handler)
        const response = yield* Effect.promise(() => fetch(receiver.url, { method: "POST", headers, body: raw.body }))
        assert.strictEqual(response.status, status)
        const answer: unknown = yield* Effect.promise(() => response.json())
        if (status === 413) assert.deepInclude(answer, { reason: "TooLarge" })
      }
    }),
  )
})

describe("WebhookBody.read", () => {
  /** A request whose body is an endless stream of 1 KiB chunks, counting the chunks pulled. */
  const endless = () => {
    let pulled = 0
    let cancelled = false
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++
        controller.enqueue(new Uint8Array(1024))
      },
      cancel() {
        cancelled = true
      },
    })
    const request = new Request("http://x/", { method: "POST", body, duplex: "half" } as RequestInit)
    return { request, pulled: () => pulled, cancelled: () => cancelled }
  }

  it("stops reading an endless body once past the limit, and cancels it", async () => {
    const { request, pulled, cancelled } = endless()
    const result = await WebhookBody.read(request, 10 * 1024)
    assert.deepStrictEqual(result, { _tag: "TooLarge", maxBytes: 10 * 1024 })
    assert.isTrue(cancelled())
    assert.isBelow(pulled(), 16)
  })

  it("returns the body exactly when it is at most maxBytes", () =>
    fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 3000 }),
        fc.integer({ min: 0, max: 3000 }),
        fc.boolean(),
        async (bytes, maxBytes, declareLength) => {
          const headers = declareLength ? { "content-length": String(bytes.byteLength) } : undefined
          const request = new Request("http://x/", { method: "POST", body: bytes, ...(headers ? { headers } : {}) })
          const result = await WebhookBody.read(request, maxBytes)
          if (bytes.byteLength <= maxBytes) assert.deepStrictEqual(result, { _tag: "Body", bytes })
          else assert.deepStrictEqual(result, { _tag: "TooLarge", maxBytes })
        },
      ),
    ))

  it("a stream that fails is Unreadable, not a rejection; no body is an empty one", async () => {
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.error(new Error("the client went away"))
      },
    })
    const failing = new Request("http://x/", { method: "POST", body, duplex: "half" } as RequestInit)
    assert.deepStrictEqual(await WebhookBody.read(failing), { _tag: "Unreadable", detail: "the client went away" })
    assert.deepStrictEqual(await WebhookBody.read(new Request("http://x/")), { _tag: "Body", bytes: new Uint8Array(0) })
  })
})
