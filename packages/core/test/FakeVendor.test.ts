import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { afterAll, beforeAll, beforeEach, expect, it as vit } from "vitest"
import {
  type FakeRequest,
  type FakeVendorControl,
  makeWebhookSender,
  sendWebhook,
  startFakeVendor,
  startFakeVendorPromise,
} from "../src/testing/index.js"

const echo = (req: FakeRequest) => ({ status: 200, body: { echo: req.path, method: req.method } })

const errorCode = (e: unknown): unknown =>
  typeof e === "object" && e !== null && "cause" in e
    ? (e.cause as { readonly code?: unknown } | undefined)?.code
    : undefined

describe("FakeVendor (promise API)", () => {
  let vendor: FakeVendorControl & { readonly close: () => Promise<void> }
  let resets = 0

  beforeAll(async () => {
    vendor = await startFakeVendorPromise({
      handle: (req) => {
        if (req.path === "/boom") throw new Error("kaboom")
        if (req.path === "/async") return Promise.resolve({ status: 201, body: { later: true } })
        if (req.path === "/text") return { status: 200, body: "plain words", headers: { "content-type": "text/plain" } }
        if (req.path === "/empty") return { status: 204 }
        return echo(req)
      },
      onReset: () => {
        resets++
      },
      seed: 7,
      faultBody: (fault) => ({ injected: fault._tag }),
    })
  })
  afterAll(() => vendor.close())
  beforeEach(() => vendor.reset())

  vit("serves on 127.0.0.1 with an ephemeral port", () => {
    expect(vendor.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(Number(new URL(vendor.url).port)).toBeGreaterThan(0)
  })

  vit("hands requests to the vendor handler and encodes its responses", async () => {
    const ok = await fetch(`${vendor.url}/a/b`)
    expect(ok.status).toBe(200)
    expect(ok.headers.get("content-type")).toContain("application/json")
    expect(await ok.json()).toEqual({ echo: "/a/b", method: "GET" })

    const later = await fetch(`${vendor.url}/async`, { method: "POST" })
    expect(later.status).toBe(201)
    expect(await later.json()).toEqual({ later: true })

    const text = await fetch(`${vendor.url}/text`)
    expect(text.headers.get("content-type")).toContain("text/plain")
    expect(await text.text()).toBe("plain words")

    const empty = await fetch(`${vendor.url}/empty`)
    expect(empty.status).toBe(204)
    expect(await empty.text()).toBe("")

    const boom = await fetch(`${vendor.url}/boom`)
    expect(boom.status).toBe(500)
    expect(await boom.json()).toEqual({ error: "fake vendor handler failed: Error: kaboom" })
  })

  vit("records every request: method, path, query, lowercase headers, parsed and raw body", async () => {
    const before = Date.now()
    await fetch(`${vendor.url}/leads?page=2&search=ann%20b`, {
      method: "PUT",
      headers: { "X-Custom": "yes", "content-type": "application/json" },
      body: JSON.stringify({ a: 1 }),
    })
    await fetch(`${vendor.url}/raw`, { method: "POST", body: "not json" })
    await fetch(`${vendor.url}/none`)
    const [put, raw, none] = vendor.requests()
    expect(vendor.requests()).toHaveLength(3)
    expect(put).toMatchObject({
      method: "PUT",
      path: "/leads",
      query: { page: "2", search: "ann b" },
      body: { a: 1 },
      rawBody: '{"a":1}',
      faults: [],
    })
    expect(put?.headers["x-custom"]).toBe("yes")
    expect(put?.at).toBeGreaterThanOrEqual(before)
    expect(raw).toMatchObject({ method: "POST", body: "not json", rawBody: "not json" })
    expect(none).toMatchObject({ method: "GET", body: null, rawBody: "" })
  })

  vit("Status fault: status, body and headers seen by the client, consumed `times` times", async () => {
    vendor.inject({
      fault: { _tag: "Status", status: 503, body: { down: true }, headers: { "x-why": "maint" } },
      times: 2,
    })
    const first = await fetch(`${vendor.url}/x`)
    expect(first.status).toBe(503)
    expect(first.headers.get("x-why")).toBe("maint")
    expect(await first.json()).toEqual({ down: true })
    expect((await fetch(`${vendor.url}/x`)).status).toBe(503)
    expect((await fetch(`${vendor.url}/x`)).status).toBe(200)
    expect(vendor.requests().map((r) => r.faults)).toEqual([["Status"], ["Status"], []])
  })

  vit("Status fault without a body uses the vendor's faultBody", async () => {
    vendor.inject({ fault: { _tag: "Status", status: 500 } })
    const res = await fetch(`${vendor.url}/x`)
    expect(res.status).toBe(500)
    expect(await res.json()).toEqual({ injected: "Status" })
  })

  vit("RateLimit fault: 429 with a Retry-After header", async () => {
    vendor.inject({ fault: { _tag: "RateLimit", retryAfterSeconds: 17 } })
    vendor.inject({ fault: { _tag: "RateLimit", retryAfterSeconds: 3, body: { slow: "down" } } })
    const first = await fetch(`${vendor.url}/x`)
    expect(first.status).toBe(429)
    expect(first.headers.get("retry-after")).toBe("17")
    expect(await first.json()).toEqual({ injected: "RateLimit" })
    const second = await fetch(`${vendor.url}/x`)
    expect(second.headers.get("retry-after")).toBe("3")
    expect(await second.json()).toEqual({ slow: "down" })
  })

  vit("Latency fault: delays, then answers normally (or with a following fault)", async () => {
    vendor.inject({ fault: { _tag: "Latency", ms: 250 } })
    const started = performance.now()
    const res = await fetch(`${vendor.url}/slow`)
    expect(performance.now() - started).toBeGreaterThanOrEqual(240)
    expect(await res.json()).toEqual({ echo: "/slow", method: "GET" })

    const quick = performance.now()
    await fetch(`${vendor.url}/slow`)
    expect(performance.now() - quick).toBeLessThan(200)

    vendor.inject({ fault: { _tag: "Latency", ms: 150 } })
    vendor.inject({ fault: { _tag: "Status", status: 502 } })
    const slowFail = performance.now()
    const res2 = await fetch(`${vendor.url}/slow`)
    expect(res2.status).toBe(502)
    expect(performance.now() - slowFail).toBeGreaterThanOrEqual(140)
    expect(vendor.requests().at(-1)?.faults).toEqual(["Latency", "Status"])
  })

  vit("Drop fault: the client gets a connection error; the server keeps serving", async () => {
    vendor.inject({ fault: { _tag: "Drop" } })
    const error = await fetch(`${vendor.url}/x`).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(TypeError)
    expect(errorCode(error)).toBe("UND_ERR_SOCKET")
    expect((await fetch(`${vendor.url}/x`)).status).toBe(200)
    expect(vendor.requests().map((r) => r.faults)).toEqual([["Drop"], []])
  })

  vit("Malformed fault: the raw body is returned, 200 by default", async () => {
    vendor.inject({ fault: { _tag: "Malformed", body: '{"success":tru' } })
    vendor.inject({ fault: { _tag: "Malformed", status: 201, body: "<html>gateway</html>" } })
    const first = await fetch(`${vendor.url}/x`)
    expect(first.status).toBe(200)
    const text = await first.text()
    expect(text).toBe('{"success":tru')
    expect(() => JSON.parse(text)).toThrow()
    const second = await fetch(`${vendor.url}/x`)
    expect(second.status).toBe(201)
    expect(await second.text()).toBe("<html>gateway</html>")
  })

  vit("rules match by method and path (string or RegExp), in insertion order", async () => {
    vendor.inject({ fault: { _tag: "Status", status: 404 }, method: "delete" })
    vendor.inject({ fault: { _tag: "Status", status: 418 }, path: /^\/leads\/\w+$/ })
    vendor.inject({ fault: { _tag: "Status", status: 409 }, path: "/leads" })
    expect((await fetch(`${vendor.url}/other`)).status).toBe(200)
    expect((await fetch(`${vendor.url}/leads`)).status).toBe(409)
    expect((await fetch(`${vendor.url}/leads`)).status).toBe(200)
    expect((await fetch(`${vendor.url}/leads/abc`, { method: "DELETE" })).status).toBe(404)
    expect((await fetch(`${vendor.url}/leads/abc`, { method: "DELETE" })).status).toBe(418)
    expect((await fetch(`${vendor.url}/leads/abc`, { method: "DELETE" })).status).toBe(200)
  })

  vit("probability rules stay until cleared and are deterministic for a seed", async () => {
    const run = async () => {
      vendor.reset()
      vendor.inject({ fault: { _tag: "Status", status: 500 }, probability: 0.5 })
      const statuses: Array<number> = []
      for (let i = 0; i < 40; i++) statuses.push((await fetch(`${vendor.url}/x`)).status)
      return statuses
    }
    const a = await run()
    const b = await run()
    expect(a).toEqual(b)
    const failures = a.filter((s) => s === 500).length
    expect(failures).toBeGreaterThan(8)
    expect(failures).toBeLessThan(32)
    vendor.clearFaults()
    for (let i = 0; i < 5; i++) expect((await fetch(`${vendor.url}/x`)).status).toBe(200)

    vendor.inject({ fault: { _tag: "Status", status: 500 }, probability: 1, times: 2 })
    vendor.inject({ fault: { _tag: "Status", status: 501 }, probability: 0 })
    const statuses: Array<number> = []
    for (let i = 0; i < 4; i++) statuses.push((await fetch(`${vendor.url}/x`)).status)
    expect(statuses).toEqual([500, 500, 200, 200])
  })

  vit("reset clears requests and faults and calls the vendor's reset", async () => {
    const before = resets
    vendor.inject({ fault: { _tag: "Status", status: 500 }, times: 5 })
    expect((await fetch(`${vendor.url}/x`)).status).toBe(500)
    vendor.reset()
    expect(resets).toBe(before + 1)
    expect(vendor.requests()).toEqual([])
    expect((await fetch(`${vendor.url}/x`)).status).toBe(200)
  })

  vit("clearFaults removes pending rules but keeps the recording", async () => {
    vendor.inject({ fault: { _tag: "Drop" }, times: 3 })
    vendor.clearFaults()
    expect((await fetch(`${vendor.url}/x`)).status).toBe(200)
    expect(vendor.requests()).toHaveLength(1)
  })

  vit("rejects invalid rules", () => {
    expect(() => vendor.inject({ fault: { _tag: "Drop" }, times: 0 })).toThrow(RangeError)
    expect(() => vendor.inject({ fault: { _tag: "Drop" }, probability: 1.5 })).toThrow(RangeError)
    expect(() => vendor.inject({ fault: { _tag: "Latency", ms: -1 } })).toThrow(RangeError)
  })
})

describe("FakeVendor (Effect API)", () => {
  it.scoped("serves inside a scope, and closing the scope frees the port", () =>
    Effect.gen(function* () {
      const url = yield* Effect.scoped(
        Effect.gen(function* () {
          const vendor = yield* startFakeVendor({ handle: echo })
          const res = yield* Effect.promise(() => fetch(`${vendor.url}/ping`))
          assert.strictEqual(res.status, 200)
          assert.deepStrictEqual(yield* Effect.promise(() => res.json()), { echo: "/ping", method: "GET" })
          return vendor.url
        }),
      )
      const after = yield* Effect.promise(() =>
        fetch(`${url}/ping`, { signal: AbortSignal.timeout(2000) }).then(
          () => "answered",
          (e: unknown) => errorCode(e),
        ),
      )
      assert.strictEqual(after, "ECONNREFUSED")
    }),
  )

  it.scoped("latency uses the wall clock, so it works under TestClock", () =>
    Effect.gen(function* () {
      const vendor = yield* startFakeVendor({ handle: echo })
      vendor.inject({ fault: { _tag: "Latency", ms: 50 } })
      const res = yield* Effect.promise(() => fetch(`${vendor.url}/t`))
      assert.strictEqual(res.status, 200)
    }),
  )

  vit("the promise API's close() frees the port", async () => {
    const vendor = await startFakeVendorPromise({ handle: echo })
    expect((await fetch(`${vendor.url}/x`)).status).toBe(200)
    await vendor.close()
    const code = await fetch(`${vendor.url}/x`, { signal: AbortSignal.timeout(2000) }).then(
      () => "answered",
      (e: unknown) => errorCode(e),
    )
    expect(code).toBe("ECONNREFUSED")
  })
})

describe("webhooks", () => {
  let receiver: FakeVendorControl & { readonly close: () => Promise<void> }
  beforeAll(async () => {
    receiver = await startFakeVendorPromise({ handle: (req) => ({ status: req.path === "/gone" ? 410 : 202 }) })
  })
  afterAll(() => receiver.close())
  beforeEach(() => receiver.reset())

  vit("sendWebhook posts JSON (or a raw string) and returns the receiver's status", async () => {
    expect(await sendWebhook(`${receiver.url}/hook`, { "x-sig": "abc" }, { a: 1 })).toBe(202)
    expect(await sendWebhook(`${receiver.url}/gone`, {}, '{"raw":true}')).toBe(410)
    const [first, second] = receiver.requests()
    expect(first).toMatchObject({ method: "POST", path: "/hook", body: { a: 1 } })
    expect(first?.headers["x-sig"]).toBe("abc")
    expect(first?.headers["content-type"]).toBe("application/json")
    expect(second?.rawBody).toBe('{"raw":true}')
  })

  vit("sendWebhook reports 'failed' when nobody answers", async () => {
    const dead = await startFakeVendorPromise({ handle: echo })
    await dead.close()
    expect(await sendWebhook(`${dead.url}/hook`, {}, {})).toBe("failed")
    receiver.inject({ fault: { _tag: "Drop" } })
    expect(await sendWebhook(`${receiver.url}/hook`, {}, {})).toBe("failed")
  })

  vit("a WebhookSender delivers in call order and records each delivery", async () => {
    const sender = makeWebhookSender()
    receiver.inject({ fault: { _tag: "Latency", ms: 100 } })
    const first = sender.send(`${receiver.url}/1`, { "x-n": "1" }, '{"n":1}')
    const second = sender.send(`${receiver.url}/gone`, {}, { n: 2 })
    await sender.settled()
    expect(await first).toBe(202)
    expect(await second).toBe(410)
    expect(receiver.requests().map((r) => r.path)).toEqual(["/1", "/gone"])
    expect(sender.deliveries().map((d) => [d.body, d.status])).toEqual([
      [{ n: 1 }, 202],
      [{ n: 2 }, 410],
    ])
    expect(sender.deliveries()[0]?.headers).toEqual({ "x-n": "1" })
    sender.clear()
    expect(sender.deliveries()).toEqual([])
  })
})
