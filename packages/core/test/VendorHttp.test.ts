import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { FetchHttpClient, type HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import {
  Cause,
  Effect,
  Exit,
  FastCheck as fc,
  type Layer,
  Logger,
  LogLevel,
  Option,
  Redacted,
  Ref,
  Schema,
  Tracer,
} from "effect"
import type { CrmError } from "../src/CrmError.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import * as VendorHttp from "../src/VendorHttp.js"

// --- a real HTTP server on 127.0.0.1 ----------------------------------------------------------

interface Seen {
  readonly method: string
  readonly url: string
  readonly headers: IncomingHttpHeaders
  readonly body: string
}
type Handler = (req: IncomingMessage, res: ServerResponse, index: number) => void

let handler: Handler = (_, res) => res.end()
let seen: Array<Seen> = []
const server = createServer((req, res) => {
  const chunks: Array<Buffer> = []
  req.on("data", (chunk: Buffer) => chunks.push(chunk))
  req.on("end", () => {
    const index = seen.length
    seen.push({
      method: req.method ?? "",
      url: req.url ?? "",
      headers: req.headers,
      body: Buffer.concat(chunks).toString("utf8"),
    })
    handler(req, res, index)
  })
})
let port = 0
/** A port nothing listens on (bound once, then released). */
let deadPort = 0

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  port = (server.address() as AddressInfo).port
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve))
  deadPort = (probe.address() as AddressInfo).port
  await new Promise<void>((resolve) => probe.close(() => resolve()))
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

/** Serve every request with `h` from now on and forget earlier requests. */
const serve = (h: Handler) =>
  Effect.sync(() => {
    handler = h
    seen = []
  })
const reply =
  (status: number, body: unknown = {}, headers: Record<string, string> = {}): Handler =>
  (_, res) => {
    res.writeHead(status, { "content-type": "application/json", ...headers })
    res.end(typeof body === "string" ? body : JSON.stringify(body))
  }
/** Reply with `handlers[i]` to the i-th request, the last one repeating. */
const sequence =
  (...handlers: ReadonlyArray<Handler>): Handler =>
  (req, res, index) =>
    (handlers[Math.min(index, handlers.length - 1)] ?? reply(500))(req, res, index)

// --- the boundary under test ------------------------------------------------------------------

const TOKEN = "tok_live_9f8e7d6c5b4a3210"
const VENDOR_TOKEN = "vt-SECRET-5a4b3c2d1e"
const base = () => `http://127.0.0.1:${port}/api/`
const oneShot: RetryPolicy.RetryPolicy = { ...RetryPolicy.none, requestTimeoutMs: 2_000 }
const fast: RetryPolicy.RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 5,
  maxDelayMs: 50,
  budgetMs: 5_000,
  requestTimeoutMs: 2_000,
  jitter: 0,
}

const make = (overrides: Partial<VendorHttp.VendorHttpConfig> = {}) =>
  VendorHttp.make({
    vendor: "acme",
    baseUrl: base(),
    secretHeaders: [
      { name: "Authorization", prefix: "Bearer ", value: Redacted.make(TOKEN) },
      { name: "X-Vendor-Token", value: Redacted.make(VENDOR_TOKEN) },
    ],
    headers: { "X-Client": "leadstate" },
    policy: oneShot,
    ...overrides,
  })

const Lead = Schema.Struct({ id: Schema.String, status: Schema.String })
const undici = NodeHttpClient.layerUndici
const clients: ReadonlyArray<readonly [string, Layer.Layer<HttpClient.HttpClient>]> = [
  ["undici", NodeHttpClient.layerUndici],
  ["node:http", NodeHttpClient.layer],
  ["fetch", FetchHttpClient.layer],
]

/** GET /leads/L1 with the Lead schema, as an Exit. */
const getLead = (overrides: Partial<VendorHttp.VendorHttpConfig> = {}, client = undici) =>
  Effect.gen(function* () {
    const http = yield* make(overrides)
    return yield* Effect.exit(
      http.execute(http.plan("GET", "/leads/L1"), { operation: "getLead", leadId: "L1", schema: Lead }),
    )
  }).pipe(Effect.provide(client))

/** The CrmError of a failed exit; fails the test if it is a success or a defect. */
const failureOf = <A>(exit: Exit.Exit<A, CrmError>): CrmError => {
  if (Exit.isSuccess(exit)) return assert.fail(`expected a failure, got ${JSON.stringify(exit.value)}`)
  assert.isTrue(Option.isNone(Cause.dieOption(exit.cause)), `a defect: ${Cause.pretty(exit.cause)}`)
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) return assert.fail(`no failure in ${Cause.pretty(exit.cause)}`)
  assert.strictEqual(failure.value._tag, "CrmError")
  return failure.value
}

// --- plan ------------------------------------------------------------------------------------

describe("VendorHttp.plan", () => {
  it.effect("redacts secrets, keeps static headers, and builds the exact URL with an encoded query", () =>
    Effect.gen(function* () {
      const http = yield* make()
      const planned = http.plan("GET", `/leads/${VendorHttp.segment("a b/c?#")}`, {
        query: { q: "x&y=z é", page: 2, skip: undefined },
      })
      assert.deepStrictEqual(planned, {
        method: "GET",
        url: `http://127.0.0.1:${port}/api/leads/a%20b%2Fc%3F%23?q=x%26y%3Dz+%C3%A9&page=2`,
        headers: { "X-Client": "leadstate", Authorization: "Bearer <redacted>", "X-Vendor-Token": "<redacted>" },
      })
      assert.notInclude(JSON.stringify(planned), TOKEN)
      assert.notInclude(JSON.stringify(planned), VENDOR_TOKEN)
    }).pipe(Effect.provide(undici)),
  )

  it.effect("adds the JSON content type and the body only when there is a body; no query gives no '?'", () =>
    Effect.gen(function* () {
      const http = yield* make()
      const planned = http.plan("POST", "/leads", { body: { name: "Ada", tags: ["a"] }, query: {} })
      assert.deepStrictEqual(planned, {
        method: "POST",
        url: `http://127.0.0.1:${port}/api/leads`,
        headers: {
          "X-Client": "leadstate",
          Authorization: "Bearer <redacted>",
          "X-Vendor-Token": "<redacted>",
          "content-type": "application/json",
        },
        body: { name: "Ada", tags: ["a"] },
      })
    }).pipe(Effect.provide(undici)),
  )
})

// --- execute ---------------------------------------------------------------------------------

describe("VendorHttp.execute (real server)", () => {
  it.live("sends the real secrets, the static headers, the method, the URL and the JSON body", () =>
    Effect.gen(function* () {
      yield* serve(reply(201, { id: "V1", status: "open" }, { "x-request-id": "r-1" }))
      const http = yield* make()
      const planned = http.plan("PATCH", "/leads/L1", { query: { notify: "yes" }, body: { status: "open", n: 1 } })
      const decoded = yield* http.execute(planned, { operation: "SetState", leadId: "L1", schema: Lead })
      assert.deepStrictEqual(decoded.value, { id: "V1", status: "open" })
      assert.strictEqual(decoded.status, 201)
      assert.strictEqual(decoded.headers["x-request-id"], "r-1")
      assert.strictEqual(seen.length, 1)
      const [request] = seen
      assert.strictEqual(request?.method, "PATCH")
      assert.strictEqual(request?.url, "/api/leads/L1?notify=yes")
      assert.strictEqual(request?.headers.authorization, `Bearer ${TOKEN}`)
      assert.strictEqual(request?.headers["x-vendor-token"], VENDOR_TOKEN)
      assert.strictEqual(request?.headers["x-client"], "leadstate")
      assert.match(request?.headers["content-type"] ?? "", /^application\/json/)
      assert.deepStrictEqual(JSON.parse(request?.body ?? ""), { status: "open", n: 1 })
    }).pipe(Effect.provide(undici)),
  )

  it.live("never sends the literal <redacted> placeholder, even for a plan built by hand", () =>
    Effect.gen(function* () {
      yield* serve(reply(200, { id: "V1", status: "open" }))
      const http = yield* make()
      yield* http.execute(
        { method: "GET", url: `${base()}leads/L1`, headers: { authorization: "Bearer <redacted>" } },
        { operation: "getLead", schema: Lead },
      )
      assert.strictEqual(seen[0]?.headers.authorization, `Bearer ${TOKEN}`)
    }).pipe(Effect.provide(undici)),
  )

  const statuses: ReadonlyArray<readonly [number, string]> = [
    [400, "InvalidRequest"],
    [401, "Unauthorized"],
    [403, "Unauthorized"],
    [404, "NotFound"],
    [408, "Transport"],
    [409, "Conflict"],
    [422, "InvalidRequest"],
    [429, "RateLimited"],
    [500, "VendorUnavailable"],
    [502, "VendorUnavailable"],
    [503, "VendorUnavailable"],
    [599, "VendorUnavailable"],
  ]
  it.live.each(statuses)(
    "HTTP %i maps to %s, naming vendor, operation, lead and the vendor's message",
    ([status, tag]) =>
      Effect.gen(function* () {
        yield* serve(reply(status, { error: `nope ${status}` }))
        const e = failureOf(yield* getLead())
        assert.strictEqual(e.reason._tag, tag)
        assert.strictEqual(e.vendor, "acme")
        assert.strictEqual(e.operation, "getLead")
        assert.strictEqual(e.leadId, "L1")
        assert.strictEqual(e.reason.detail, `HTTP ${status}: nope ${status}`)
        if (e.reason._tag === "VendorUnavailable") assert.strictEqual(e.reason.status, status)
        if (e.reason._tag === "Transport") assert.strictEqual(e.reason.kind, "Timeout")
        if (e.reason._tag === "InvalidRequest") assert.deepStrictEqual(e.reason.fields, [])
        assert.strictEqual(seen.length, 1)
      }),
  )

  it.live("429 with Retry-After in seconds gives retryAfterMs", () =>
    Effect.gen(function* () {
      yield* serve(reply(429, { message: "slow down" }, { "Retry-After": "2" }))
      const e = failureOf(yield* getLead())
      assert.deepStrictEqual(e.reason, { _tag: "RateLimited", detail: "HTTP 429: slow down", retryAfterMs: 2_000 })
      assert.isTrue(e.retryable)
    }),
  )

  it.live("429 with Retry-After as an HTTP date gives the time until then", () =>
    Effect.gen(function* () {
      yield* serve((req, res, i) =>
        reply(429, {}, { "Retry-After": new Date(Date.now() + 3_000).toUTCString() })(req, res, i),
      )
      const e = failureOf(yield* getLead())
      assert.strictEqual(e.reason._tag, "RateLimited")
      const ms = e.reason._tag === "RateLimited" ? e.reason.retryAfterMs : undefined
      assert.isDefined(ms)
      assert.isAbove(ms ?? 0, 1_000)
      assert.isAtMost(ms ?? 0, 3_000)
    }),
  )

  it.live("429 without (or with an unreadable) Retry-After has no retryAfterMs", () =>
    Effect.gen(function* () {
      yield* serve(
        sequence(reply(429, "busy", { "content-type": "text/plain" }), reply(429, {}, { "Retry-After": "soon" })),
      )
      const first = failureOf(yield* getLead())
      assert.deepStrictEqual(first.reason, { _tag: "RateLimited", detail: "HTTP 429: busy" })
      const second = failureOf(yield* getLead())
      assert.deepStrictEqual(second.reason, { _tag: "RateLimited", detail: "HTTP 429: no detail given" })
    }),
  )

  it.live("a 2xx body that fails the schema is MalformedResponse, a failure and never a defect", () =>
    Effect.gen(function* () {
      yield* serve(reply(200, { id: 5 }))
      const e = failureOf(yield* getLead())
      assert.strictEqual(e.reason._tag, "MalformedResponse")
      if (e.reason._tag === "MalformedResponse") {
        assert.strictEqual(e.reason.status, 200)
        assert.include(e.reason.detail, "the 200 body does not match the documented shape")
      }
      assert.isFalse(e.retryable)
    }),
  )

  const notJson: ReadonlyArray<readonly [string, string]> = [
    ["HTML", "<html><body>Service page</body></html>"],
    ["truncated JSON", '{"id": "V1", "sta'],
    ["an empty body", ""],
    ["a JSON scalar", "42"],
  ]
  it.live.each(notJson)("a 2xx with %s is MalformedResponse, never a defect", ([, body]) =>
    Effect.gen(function* () {
      yield* serve(reply(200, body, { "content-type": "text/html" }))
      const e = failureOf(yield* getLead())
      assert.strictEqual(e.reason._tag, "MalformedResponse")
    }),
  )

  it.live("an empty 204 decodes as null", () =>
    Effect.gen(function* () {
      yield* serve((_, res) => {
        res.writeHead(204)
        res.end()
      })
      const http = yield* make()
      const decoded = yield* http.execute(http.plan("DELETE", "/leads/L1"), {
        operation: "delete",
        schema: Schema.Null,
      })
      assert.strictEqual(decoded.status, 204)
      assert.isNull(decoded.value)
    }).pipe(Effect.provide(undici)),
  )

  it.live("a server that destroys the socket gives a retryable Transport Reset", () =>
    Effect.gen(function* () {
      yield* serve((req) => req.socket.destroy())
      const e = failureOf(yield* getLead())
      assert.strictEqual(e.reason._tag, "Transport")
      if (e.reason._tag === "Transport") assert.strictEqual(e.reason.kind, "Reset")
      assert.isTrue(e.retryable)
    }),
  )

  it.live("a port with no server gives a retryable Transport Refused", () =>
    Effect.gen(function* () {
      const e = failureOf(yield* getLead({ baseUrl: `http://127.0.0.1:${deadPort}` }))
      assert.strictEqual(e.reason._tag, "Transport")
      if (e.reason._tag === "Transport") assert.strictEqual(e.reason.kind, "Refused")
      assert.isTrue(e.retryable)
      assert.strictEqual(e.operation, "getLead")
    }),
  )

  // Regression: the message read "GET … did not complete (ECONNREFUSED): Transport. The network or
  // the vendor did not answer; it will be retried." even after the last attempt.
  it.live.each(clients)(
    "a refused connection says so, with host:port (no credentials), and the attempts made (%s)",
    ([name, client]) =>
      Effect.gen(function* () {
        // fetch refuses URLs with credentials before connecting.
        const credentials = name === "fetch" ? "" : `user:${TOKEN}@`
        const baseUrl = `http://${credentials}127.0.0.1:${deadPort}/api`
        const e = failureOf(yield* getLead({ baseUrl, policy: { ...fast, maxAttempts: 3, baseDelayMs: 1 } }, client))
        assert.strictEqual(
          e.message,
          `acme getLead for lead "L1" failed: Transport: connection refused by 127.0.0.1:${deadPort} (GET /api/leads/L1). Gave up after 3 attempts: the retry policy allows no more. Check the vendor's base URL (host and port) and that the service is up.`,
        )
        assert.strictEqual(e.attempts, 3)
      }),
  )

  // fetch wraps the socket error (`TypeError: fetch failed`, errno code on `cause.cause`): the
  // kind must still be Refused / Reset, whichever client the app provides.
  it.live.each(clients)("the Transport kind does not depend on the HTTP client (%s)", ([, client]) =>
    Effect.gen(function* () {
      const refused = failureOf(yield* getLead({ baseUrl: `http://127.0.0.1:${deadPort}` }, client))
      assert.deepStrictEqual(
        [refused.reason._tag, refused.reason._tag === "Transport" && refused.reason.kind],
        ["Transport", "Refused"],
      )
      yield* serve((req) => req.socket.destroy())
      const reset = failureOf(yield* getLead({}, client))
      assert.deepStrictEqual(
        [reset.reason._tag, reset.reason._tag === "Transport" && reset.reason.kind],
        ["Transport", "Reset"],
      )
    }),
  )

  it.live("a server slower than requestTimeoutMs gives a retryable Transport Timeout, on time", () =>
    Effect.gen(function* () {
      yield* serve((_, res) => {
        setTimeout(() => reply(200, { id: "V1", status: "open" })(_, res, 0), 1_500).unref()
      })
      const started = Date.now()
      const e = failureOf(yield* getLead({ policy: { ...oneShot, requestTimeoutMs: 200 } }))
      const took = Date.now() - started
      assert.deepStrictEqual(e.reason, {
        _tag: "Transport",
        kind: "Timeout",
        detail: `no answer from 127.0.0.1:${port} within 200 ms (GET /api/leads/L1)`,
      })
      assert.isTrue(e.retryable)
      assert.isAtLeast(took, 190)
      assert.isBelow(took, 1_200)
    }),
  )

  it.live("retries 503s and returns the 200 that follows; onRetry sees each retry", () =>
    Effect.gen(function* () {
      yield* serve(
        sequence(reply(503, { error: "down" }), reply(503, { error: "down" }), reply(200, { id: "V1", status: "won" })),
      )
      const retries = yield* Ref.make<ReadonlyArray<readonly [number, number]>>([])
      const http = yield* make({
        policy: fast,
        onRetry: (_, attempt, delayMs) => Ref.update(retries, (rs) => [...rs, [attempt, delayMs] as const]),
      })
      const decoded = yield* http.execute(http.plan("GET", "/leads/L1"), { operation: "getLead", schema: Lead })
      assert.deepStrictEqual(decoded.value, { id: "V1", status: "won" })
      assert.strictEqual(seen.length, 3)
      for (const request of seen) assert.strictEqual(request.headers.authorization, `Bearer ${TOKEN}`)
      assert.deepStrictEqual(yield* Ref.get(retries), [
        [1, 5],
        [2, 10],
      ])
    }).pipe(Effect.provide(undici)),
  )

  it.live("retries a timed-out attempt; the timeout is per attempt", () =>
    Effect.gen(function* () {
      yield* serve(
        sequence(
          (_, res) => void setTimeout(() => reply(200, { id: "late", status: "x" })(_, res, 0), 1_000).unref(),
          reply(200, { id: "V1", status: "open" }),
        ),
      )
      const exit = yield* getLead({ policy: { ...fast, requestTimeoutMs: 150 } })
      assert.deepStrictEqual(
        exit,
        Exit.succeed({
          value: { id: "V1", status: "open" },
          status: 200,
          headers: Exit.isSuccess(exit) ? exit.value.headers : {},
        }),
      )
      assert.strictEqual(seen.length, 2)
    }),
  )

  it.live("honours Retry-After: 0 on a 429, then succeeds", () =>
    Effect.gen(function* () {
      yield* serve(sequence(reply(429, {}, { "Retry-After": "0" }), reply(200, { id: "V1", status: "open" })))
      const exit = yield* getLead({ policy: fast })
      assert.isTrue(Exit.isSuccess(exit))
      assert.strictEqual(seen.length, 2)
    }),
  )

  it.live("gives up after maxAttempts on a vendor that keeps failing, returning the last error", () =>
    Effect.gen(function* () {
      yield* serve(reply(502, { error: "bad gateway" }))
      const e = failureOf(yield* getLead({ policy: { ...fast, maxAttempts: 3 } }))
      assert.deepStrictEqual(e.reason, { _tag: "VendorUnavailable", status: 502, detail: "HTTP 502: bad gateway" })
      assert.strictEqual(seen.length, 3)
    }),
  )

  it.live("does not retry a 404, a 422 or a malformed 200", () =>
    Effect.gen(function* () {
      for (const h of [reply(404), reply(422, { error: "phone" }), reply(200, "[]")]) {
        yield* serve(h)
        failureOf(yield* getLead({ policy: fast }))
        assert.strictEqual(seen.length, 1)
      }
    }),
  )

  it.live("uses the adapter's classify for error responses, with the parsed body and headers", () =>
    Effect.gen(function* () {
      yield* serve(reply(400, { code: "CALL_IN_PROGRESS" }, { "x-trace": "t1" }))
      const got: Array<VendorHttp.ErrorResponse> = []
      const e = failureOf(
        yield* getLead({
          classify: (response) => {
            got.push(response)
            return { _tag: "CallInProgress", detail: "on a call" }
          },
        }),
      )
      assert.deepStrictEqual(e.reason, { _tag: "CallInProgress", detail: "on a call" })
      assert.strictEqual(got[0]?.status, 400)
      assert.deepStrictEqual(got[0]?.body, { code: "CALL_IN_PROGRESS" })
      assert.strictEqual(got[0]?.headers["x-trace"], "t1")
    }),
  )
})

// --- secrets ---------------------------------------------------------------------------------

/** Runs `effect` with every log line (all levels) captured as text. */
const capturingLogs = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const lines: Array<string> = []
    const logger = Logger.make(({ logLevel, message, annotations, cause, spans }) => {
      lines.push(
        [
          logLevel.label,
          JSON.stringify(message),
          ...[...annotations].map(([k, v]) => `${k}=${JSON.stringify(v)}`),
          ...[...spans].map((s) => s.label),
          Cause.pretty(cause),
        ].join(" "),
      )
    })
    const result = yield* effect.pipe(
      Logger.withMinimumLogLevel(LogLevel.All),
      Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
    )
    return { result, lines }
  })

const everythingAbout = (e: CrmError, exit: Exit.Exit<unknown, unknown>) =>
  [
    e.message,
    String(e),
    JSON.stringify(e),
    JSON.stringify(e.reason),
    e.stack ?? "",
    Cause.pretty(Exit.isFailure(exit) ? exit.cause : Cause.empty),
  ].join("\n")

const bodyArb = fc.oneof(
  fc.string(),
  fc.json(),
  fc.record({ error: fc.string() }),
  fc.record({ message: fc.string({ maxLength: 300 }), code: fc.integer() }),
)

describe("VendorHttp secrets", () => {
  it.live.prop(
    "never appear in an error, the plan, or the logs, whatever the server answers (400-599)",
    [fc.integer({ min: 400, max: 599 }), bodyArb],
    ([status, body]) =>
      Effect.gen(function* () {
        yield* serve(reply(status, body))
        const http = yield* make({ policy: { ...fast, maxAttempts: 2, baseDelayMs: 1 } })
        const planned = http.plan("POST", "/leads", { body: { phone: "+100" } })
        const { result: exit, lines } = yield* capturingLogs(
          Effect.exit(http.execute(planned, { operation: "CreateLead", leadId: "L1", schema: Lead })),
        )
        const e = failureOf(exit)
        assert.strictEqual(seen[0]?.headers.authorization, `Bearer ${TOKEN}`, "the server did get the secret")
        if (e.retryable) assert.isNotEmpty(lines, "retries are logged (the capture works)")
        const text = [everythingAbout(e, exit), JSON.stringify(planned), ...lines].join("\n")
        for (const secret of [TOKEN, VENDOR_TOKEN]) assert.notInclude(text, secret)
      }).pipe(Effect.provide(undici)),
    { fastCheck: { numRuns: 40 } },
  )

  it.live("never appear in a transport error (refused, reset, timeout) or its logs, retries included", () =>
    Effect.gen(function* () {
      const retrying = { ...fast, maxAttempts: 2, baseDelayMs: 1, requestTimeoutMs: 100 }
      yield* serve((req) => req.socket.destroy())
      const refused = yield* capturingLogs(getLead({ baseUrl: `http://127.0.0.1:${deadPort}`, policy: retrying }))
      const reset = yield* capturingLogs(getLead({ policy: retrying }))
      yield* serve(() => undefined)
      const timeout = yield* capturingLogs(getLead({ policy: retrying }))
      for (const { result: exit, lines } of [refused, reset, timeout]) {
        assert.isNotEmpty(lines, "the retry is logged (the capture works)")
        const text = [everythingAbout(failureOf(exit), exit), ...lines].join("\n")
        for (const secret of [TOKEN, VENDOR_TOKEN]) assert.notInclude(text, secret)
      }
    }),
  )

  // Regression: the default classifier copies part of the error body into the detail, so a vendor
  // echoing the rejected credential put the secret into the CrmError message.
  it.live("never appear in an error when the vendor echoes the credential in its error body", () =>
    Effect.gen(function* () {
      yield* serve((req, res, i) => reply(401, { error: `invalid token ${req.headers.authorization}` })(req, res, i))
      const exit = yield* getLead()
      const e = failureOf(exit)
      assert.strictEqual(e.reason._tag, "Unauthorized")
      assert.notInclude(everythingAbout(e, exit), TOKEN)
    }),
  )

  // Regression: the classifier cut the echoed body to 200 characters before the secret was
  // scrubbed, so a secret cut in half leaked its prefix ("Bearer sk-SECRET-CANARY-12").
  it.live.prop(
    "no piece of 8+ characters of a secret survives an echo, wherever it sits and however the body is cut",
    [
      fc.string({ minLength: 8, maxLength: 48 }),
      fc.string({ maxLength: 400 }),
      fc.string({ maxLength: 100 }),
      fc.nat(),
      fc.nat(),
      fc.constantFrom(200, 400, 401, 422, 429, 500, 503),
      fc.boolean(),
    ],
    ([secret, before, after, from, length, status, asJson]) =>
      Effect.gen(function* () {
        const pieces = Array.from({ length: secret.length - 7 }, (_, i) => secret.slice(i, i + 8))
        const echo = `${before}Bearer ${secret}${after}`
        const start = from % echo.length
        // Any window of the echo that still holds at least 8 characters of the secret.
        const cut = echo.slice(start, start + 8 + (length % echo.length))
        yield* serve(
          status === 200
            ? reply(200, { id: 1, status: cut })
            : asJson
              ? reply(status, { error: cut, message: cut })
              : reply(status, cut, { "content-type": "text/plain" }),
        )
        const http = yield* make({
          secretHeaders: [{ name: "Authorization", prefix: "Bearer ", value: Redacted.make(secret) }],
          policy: { ...fast, maxAttempts: 2, baseDelayMs: 1 },
        })
        const { result: exit, lines } = yield* capturingLogs(
          Effect.exit(
            http.execute(http.plan("GET", "/leads/L1"), { operation: "getLead", leadId: "L1", schema: Lead }),
          ),
        )
        const e = failureOf(exit)
        const text = [everythingAbout(e, exit), ...lines].join("\n")
        // Unless the fixed words of the message happen to hold a piece of this secret.
        const fixed = e.message.replace(e.reason.detail, "")
        fc.pre(!pieces.some((piece) => fixed.includes(piece)))
        for (const piece of pieces) assert.notInclude(text, piece, `a piece of the secret ${JSON.stringify(secret)}`)
      }).pipe(Effect.provide(undici)),
    { fastCheck: { numRuns: 60 } },
  )

  it("scrubber removes whole secrets and their pieces of 8+ characters, nothing else", () => {
    const scrub = VendorHttp.scrubber(["sk-SECRET-CANARY-1234", "abc"])
    assert.strictEqual(scrub("bad token Bearer sk-SECRET-CANARY-12"), "bad token Bearer <redacted>")
    assert.strictEqual(scrub("x sk-SECRET-CANARY-1234 y"), "x <redacted> y")
    assert.strictEqual(scrub("tail: CANARY-1234."), "tail: <redacted>.")
    assert.strictEqual(scrub("short: sk-SECR"), "short: sk-SECR", "7 characters are kept")
    assert.strictEqual(scrub("abc is too short to be a secret"), "abc is too short to be a secret")
    // A secret that contains the placeholder cannot leave a piece behind either.
    assert.strictEqual(VendorHttp.scrubber(["<redacted>-x"])("a <redacted>-x"), "")
  })

  // Regression: the HTTP client records request headers as span attributes and redacts only
  // Headers.currentRedactedNames (authorization, cookie, set-cookie, x-api-key), so a custom
  // secret header such as X-Vendor-Token was exported in clear by any tracer.
  it.live("never appear in trace spans", () =>
    Effect.gen(function* () {
      yield* serve(reply(200, { id: "V1", status: "open" }))
      const native = yield* Effect.tracer
      const spans: Array<Tracer.Span> = []
      const recording = Tracer.make({
        span: (...args) => {
          const span = native.span(...args)
          spans.push(span)
          return span
        },
        context: (f, fiber) => native.context(f, fiber),
      })
      yield* getLead().pipe(Effect.withTracer(recording))
      assert.isNotEmpty(spans)
      const attributes = spans.flatMap((s) => [...s.attributes].map(([k, v]) => `${s.name} ${k}=${String(v)}`))
      assert.isTrue(
        attributes.some((a) => a.includes("leadstate.vendor=acme")),
        "the recording works",
      )
      for (const secret of [TOKEN, VENDOR_TOKEN]) {
        assert.deepStrictEqual(
          attributes.filter((a) => a.includes(secret)),
          [],
        )
      }
    }),
  )
})

// --- parseRetryAfter -------------------------------------------------------------------------

describe("VendorHttp.parseRetryAfter", () => {
  const now = Date.UTC(2025, 0, 1, 12, 0, 0)

  it("reads seconds and HTTP dates, and nothing else", () => {
    assert.strictEqual(VendorHttp.parseRetryAfter("2", now), 2_000)
    assert.strictEqual(VendorHttp.parseRetryAfter("0", now), 0)
    assert.strictEqual(VendorHttp.parseRetryAfter(" 3 ", now), 3_000)
    assert.strictEqual(VendorHttp.parseRetryAfter("1.5", now), 1_500)
    assert.strictEqual(VendorHttp.parseRetryAfter("Wed, 01 Jan 2025 12:00:05 GMT", now), 5_000)
    assert.strictEqual(VendorHttp.parseRetryAfter("Wed, 01 Jan 2025 11:59:00 GMT", now), 0)
    for (const unreadable of [undefined, "", "   ", "-1", "soon", "NaN", "Infinity"]) {
      assert.isUndefined(VendorHttp.parseRetryAfter(unreadable, now), String(unreadable))
    }
  })

  it.prop("whole seconds are read exactly", [fc.nat({ max: 10_000_000 }), fc.nat()], ([seconds, t]) => {
    assert.strictEqual(VendorHttp.parseRetryAfter(String(seconds), t), seconds * 1_000)
  })

  it.prop("negative seconds are unreadable", [fc.integer({ min: -1_000_000, max: -1 })], ([seconds]) => {
    assert.isUndefined(VendorHttp.parseRetryAfter(String(seconds), now))
  })

  it.prop(
    "an HTTP date k seconds ahead gives k * 1000; one in the past gives 0",
    [fc.integer({ min: -1_000_000, max: 1_000_000 }), fc.integer({ min: 0, max: 2_000_000_000 })],
    ([k, nowSeconds]) => {
      const t = nowSeconds * 1_000
      const header = new Date(t + k * 1_000).toUTCString()
      assert.strictEqual(VendorHttp.parseRetryAfter(header, t), Math.max(0, k * 1_000))
    },
  )

  it.prop(
    "any header value gives undefined or a non-negative wait, never NaN",
    [fc.string(), fc.nat()],
    ([value, t]) => {
      const ms = VendorHttp.parseRetryAfter(value, t)
      if (ms !== undefined) {
        assert.isFalse(Number.isNaN(ms))
        assert.isAtLeast(ms, 0)
      }
    },
  )
})

describe("VendorHttp answers nested past any vendor's shape (found by pnpm fuzz)", () => {
  const deep = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`

  it.effect("a 200 body 5,000 deep is a MalformedResponse, not a stack overflow", () =>
    Effect.gen(function* () {
      yield* serve(reply(200, deep(5_000)))
      const error = failureOf(yield* getLead())
      assert.strictEqual(error.reason._tag, "MalformedResponse")
      assert.include(error.message, "nested")
    }),
  )

  it.effect("a 400 body 50,000 deep is classified by its status, not a defect", () =>
    Effect.gen(function* () {
      yield* serve(reply(400, deep(50_000)))
      assert.strictEqual(failureOf(yield* getLead()).reason._tag, "InvalidRequest")
    }),
  )
})
