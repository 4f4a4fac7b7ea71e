/**
 * A fake vendor HTTP server for tests: a real HTTP server on 127.0.0.1 (ephemeral port) that
 * records every request, injects faults on demand (error statuses, 429 with Retry-After,
 * latency, dropped connections, malformed bodies) and otherwise hands each request to a
 * vendor's routing function. Each adapter's `./testing` builds its fake server on this.
 *
 * Built on `@effect/platform-node`'s `NodeHttpServer`; dropped connections destroy the node
 * socket underneath (`NodeHttpServerRequest.toIncomingMessage`). Latency and timestamps use
 * the wall clock, never Effect's `Clock`, so a server started inside a `TestClock` test still
 * answers.
 *
 * @since 0.1.0
 */
import { createServer } from "node:http"
import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import { Effect, Exit, Scope } from "effect"

/** A request as the vendor's routing function sees it. Header names are lowercase. */
export interface FakeRequest {
  readonly method: string
  /** The path without the query string, e.g. `/api/v1/leads/lead_1`. */
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  readonly headers: Readonly<Record<string, string>>
  /** The body parsed as JSON, or its text when it is not JSON, or `null` when empty. */
  readonly body: unknown
  readonly rawBody: string
}

/** A request the fake server received (faulted or not). */
export interface RecordedRequest extends FakeRequest {
  /** Wall-clock time of arrival, in epoch milliseconds. */
  readonly at: number
  /** The tags of the faults applied to this request, in order (empty when none). */
  readonly faults: ReadonlyArray<Fault["_tag"]>
}

/**
 * What the vendor's routing function answers. `body` is sent as JSON unless it is a string and
 * `headers` give a non-JSON `content-type`, in which case it is sent as is; no body when absent.
 */
export interface FakeResponse {
  readonly status: number
  readonly body?: unknown
  readonly headers?: Readonly<Record<string, string>>
}

/** A fault to inject instead of (or, for `Latency`, before) the vendor's normal answer. */
export type Fault =
  /** Answer with this status (and body/headers) instead of the vendor's answer. */
  | {
      readonly _tag: "Status"
      readonly status: number
      readonly body?: unknown
      readonly headers?: Readonly<Record<string, string>>
    }
  /** Answer 429 with a `Retry-After: <seconds>` header. */
  | { readonly _tag: "RateLimit"; readonly retryAfterSeconds: number; readonly body?: unknown }
  /** Wait `ms` milliseconds, then go on (further faults may still apply, else the vendor answers). */
  | { readonly _tag: "Latency"; readonly ms: number }
  /** Destroy the socket without answering: the client sees a connection reset. */
  | { readonly _tag: "Drop" }
  /** Answer `status` (default 200) with this raw body, labelled `application/json`. */
  | { readonly _tag: "Malformed"; readonly status?: number; readonly body: string }

/**
 * When and how often a fault applies. Rules are tried in insertion order against `method`
 * (case-insensitive) and `path` (exact string, or a RegExp tested on the path without query).
 * A rule fires `times` times (default 1), or, with `probability`, fires with that probability
 * (seeded PRNG) until cleared (or `times` firings when given). `Latency` rules add up and
 * matching goes on; the first other rule that fires decides the answer.
 */
export interface FaultRule {
  readonly fault: Fault
  readonly method?: string
  readonly path?: string | RegExp
  readonly times?: number
  readonly probability?: number
}

/** One webhook sent by a fake server. */
export interface WebhookDelivery {
  readonly url: string
  readonly headers: Record<string, string>
  /** The body as sent: parsed JSON when it is JSON, else its text. */
  readonly body: unknown
  /** The receiver's HTTP status, or `"failed"` when no answer came (refused, reset, timeout). */
  readonly status: number | "failed"
  readonly at: number
}

/** The handle tests use to drive a fake vendor server. */
export interface FakeVendorControl {
  /** The base URL, `http://127.0.0.1:PORT` (no trailing slash). */
  readonly url: string
  /** Every request received so far, oldest first. */
  readonly requests: () => ReadonlyArray<RecordedRequest>
  /** Adds a fault rule after the existing ones. */
  readonly inject: (rule: FaultRule) => void
  /** Removes every fault rule. */
  readonly clearFaults: () => void
  /** Clears requests and faults, re-seeds the PRNG and calls the vendor's own reset. */
  readonly reset: () => void
}

/** Options of {@link startFakeVendor}. */
export interface FakeVendorOptions {
  /** The vendor's routing core. A throw or rejection becomes a 500. */
  readonly handle: (request: FakeRequest) => FakeResponse | Promise<FakeResponse>
  /** Called by `reset()` to clear the vendor's own state. */
  readonly onReset?: () => void
  /** Seed of the PRNG that decides `probability` rules (default 1). */
  readonly seed?: number
  /**
   * The body of an injected `Status` or `RateLimit` fault that gives none, so faults can look
   * like the vendor's own errors. Without it such faults have an empty body.
   */
  readonly faultBody?: (fault: Extract<Fault, { readonly _tag: "Status" | "RateLimit" }>) => unknown
}

/**
 * A deterministic PRNG (mulberry32): the same seed gives the same sequence in [0, 1).
 *
 * @example
 * const random = seededRandom(42)
 * random() // always the same first number for seed 42
 */
export const seededRandom = (seed: number): (() => number) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** `bytes` random bytes from `random` as lowercase hex (e.g. for vendor ids). */
export const randomHex = (random: () => number, bytes: number): string => {
  let out = ""
  for (let i = 0; i < bytes; i++)
    out += Math.floor(random() * 256)
      .toString(16)
      .padStart(2, "0")
  return out
}

/** Parses a body as JSON, falling back to its text; `null` when empty. */
export const parseBody = (raw: string): unknown => {
  if (raw.trim() === "") return null
  try {
    return JSON.parse(raw)
  } catch {
    return raw
  }
}

interface ActiveRule {
  readonly rule: FaultRule
  remaining: number
}

const validateRule = (rule: FaultRule): void => {
  const { times, probability, fault } = rule
  if (times !== undefined && !(Number.isInteger(times) && times > 0)) {
    throw new RangeError(`FaultRule.times must be a positive integer, got ${times}`)
  }
  if (probability !== undefined && !(probability >= 0 && probability <= 1)) {
    throw new RangeError(`FaultRule.probability must be within [0, 1], got ${probability}`)
  }
  if (fault._tag === "Latency" && !(fault.ms >= 0)) {
    throw new RangeError(`Latency fault needs ms >= 0, got ${fault.ms}`)
  }
  if (fault._tag === "RateLimit" && !(fault.retryAfterSeconds >= 0)) {
    throw new RangeError(`RateLimit fault needs retryAfterSeconds >= 0, got ${fault.retryAfterSeconds}`)
  }
}

const matches = (rule: FaultRule, method: string, path: string): boolean => {
  if (rule.method !== undefined && rule.method.toUpperCase() !== method) return false
  if (rule.path === undefined) return true
  if (typeof rule.path === "string") return rule.path === path
  rule.path.lastIndex = 0
  return rule.path.test(path)
}

const flattenHeaders = (headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>) => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name.toLowerCase()] = typeof value === "string" ? value : value.join(", ")
  }
  return out
}

const toServerResponse = (response: FakeResponse): HttpServerResponse.HttpServerResponse => {
  const headers: Record<string, string> = {}
  let contentType: string | undefined
  for (const [name, value] of Object.entries(response.headers ?? {})) {
    if (name.toLowerCase() === "content-type") contentType = value
    else headers[name] = value
  }
  if (response.body === undefined) {
    return HttpServerResponse.empty({ status: response.status, headers })
  }
  const raw =
    typeof response.body === "string" && contentType !== undefined && !contentType.includes("json")
      ? response.body
      : JSON.stringify(response.body)
  return HttpServerResponse.text(raw, {
    status: response.status,
    headers,
    contentType: contentType ?? "application/json",
  })
}

const sleep = (ms: number): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    const timer = setTimeout(() => resume(Effect.void), ms)
    return Effect.sync(() => clearTimeout(timer))
  })

/**
 * Starts a fake vendor server on 127.0.0.1 with an ephemeral port; it closes when the scope does.
 *
 * @example
 * const control = yield* startFakeVendor({ handle: () => ({ status: 200, body: { ok: true } }) })
 * control.inject({ fault: { _tag: "Status", status: 503 }, method: "GET" })
 * // the next GET to control.url answers 503; later ones answer 200
 */
export const startFakeVendor = (options: FakeVendorOptions): Effect.Effect<FakeVendorControl, never, Scope.Scope> =>
  Effect.gen(function* () {
    const seed = options.seed ?? 1
    let random = seededRandom(seed)
    let recorded: Array<RecordedRequest> = []
    let rules: Array<ActiveRule> = []

    const pickFaults = (method: string, path: string): { readonly latency: number; readonly faults: Array<Fault> } => {
      let latency = 0
      const faults: Array<Fault> = []
      for (const active of [...rules]) {
        const { rule } = active
        if (!matches(rule, method, path)) continue
        if (rule.probability !== undefined && !(random() < rule.probability)) continue
        active.remaining -= 1
        if (active.remaining <= 0) rules = rules.filter((r) => r !== active)
        faults.push(rule.fault)
        if (rule.fault._tag === "Latency") latency += rule.fault.ms
        else break
      }
      return { latency, faults }
    }

    const faultResponse = (
      request: HttpServerRequest.HttpServerRequest,
      fault: Exclude<Fault, { readonly _tag: "Latency" }>,
    ): Effect.Effect<HttpServerResponse.HttpServerResponse> => {
      switch (fault._tag) {
        case "Status":
          return Effect.succeed(
            toServerResponse({
              status: fault.status,
              body: fault.body === undefined ? options.faultBody?.(fault) : fault.body,
              ...(fault.headers === undefined ? {} : { headers: fault.headers }),
            }),
          )
        case "RateLimit":
          return Effect.succeed(
            toServerResponse({
              status: 429,
              body: fault.body === undefined ? options.faultBody?.(fault) : fault.body,
              headers: { "retry-after": String(fault.retryAfterSeconds) },
            }),
          )
        case "Malformed":
          return Effect.succeed(
            HttpServerResponse.text(fault.body, { status: fault.status ?? 200, contentType: "application/json" }),
          )
        case "Drop": {
          // Destroy the socket, then wait for node to notice; what the platform writes afterwards
          // goes nowhere (node ignores writes to a destroyed response).
          const response = NodeHttpServerRequest.toServerResponse(request)
          const socket = NodeHttpServerRequest.toIncomingMessage(request).socket
          const done = Effect.succeed(HttpServerResponse.empty({ status: 500 }))
          if (response.closed || socket.destroyed) return done
          return Effect.async<HttpServerResponse.HttpServerResponse>((resume) => {
            response.once("close", () => resume(done))
            socket.destroy()
          })
        }
      }
    }

    const app = Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const rawBody = yield* Effect.orElseSucceed(request.text, () => "")
      const url = new URL(request.url, "http://127.0.0.1")
      const method = request.method.toUpperCase()
      const fake: FakeRequest = {
        method,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: flattenHeaders(request.headers),
        body: parseBody(rawBody),
        rawBody,
      }
      const { latency, faults } = pickFaults(method, fake.path)
      recorded.push({ ...fake, at: Date.now(), faults: faults.map((f) => f._tag) })
      if (latency > 0) yield* sleep(latency)
      const terminal = faults.find((f): f is Exclude<Fault, { readonly _tag: "Latency" }> => f._tag !== "Latency")
      if (terminal !== undefined) return yield* faultResponse(request, terminal)
      return yield* Effect.tryPromise(async () => options.handle(fake)).pipe(
        Effect.map(toServerResponse),
        Effect.catchAll((e) =>
          Effect.succeed(
            toServerResponse({ status: 500, body: { error: `fake vendor handler failed: ${String(e.error)}` } }),
          ),
        ),
      )
    })

    const server = yield* Effect.orDie(NodeHttpServer.make(() => createServer(), { port: 0, host: "127.0.0.1" }))
    yield* server.serve(app)
    const address = server.address
    if (address._tag !== "TcpAddress") return yield* Effect.dieMessage("fake vendor server is not on TCP")

    const control: FakeVendorControl = {
      url: `http://127.0.0.1:${address.port}`,
      requests: () => [...recorded],
      inject: (rule) => {
        validateRule(rule)
        rules.push({ rule, remaining: rule.times ?? (rule.probability === undefined ? 1 : Number.POSITIVE_INFINITY) })
      },
      clearFaults: () => {
        rules = []
      },
      reset: () => {
        recorded = []
        rules = []
        random = seededRandom(seed)
        options.onReset?.()
      },
    }
    return control
  })

/**
 * Runs a scoped start (such as {@link startFakeVendor}) outside Effect: the result gets a
 * `close()` that closes its scope (and so the server).
 */
export const runScoped = async <A extends object>(
  start: Effect.Effect<A, never, Scope.Scope>,
): Promise<A & { readonly close: () => Promise<void> }> => {
  const scope = Effect.runSync(Scope.make())
  const value = await Effect.runPromise(Scope.extend(start, scope))
  return { ...value, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

/**
 * {@link startFakeVendor} for tests not written with Effect; call `close()` when done.
 *
 * @example
 * const vendor = await startFakeVendorPromise({ handle: () => ({ status: 204 }) })
 * await fetch(`${vendor.url}/ping`)
 * await vendor.close()
 */
export const startFakeVendorPromise = (
  options: FakeVendorOptions,
): Promise<FakeVendorControl & { readonly close: () => Promise<void> }> => runScoped(startFakeVendor(options))

/**
 * POSTs a webhook with `fetch`; a string body is sent as is (sign exactly that string), any
 * other body as JSON. Resolves to the receiver's status, or `"failed"` without an answer.
 */
export const sendWebhook = async (
  url: string,
  headers: Readonly<Record<string, string>>,
  body: unknown,
  options: { readonly timeoutMs?: number } = {},
): Promise<number | "failed"> => {
  const hasContentType = Object.keys(headers).some((name) => name.toLowerCase() === "content-type")
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: hasContentType ? { ...headers } : { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    })
    await response.arrayBuffer()
    return response.status
  } catch {
    return "failed"
  }
}

/** Sends webhooks (one after another, in call order, unless told otherwise) and records every delivery. */
export interface WebhookSender {
  /** Queues a delivery; resolves with its outcome once sent. */
  readonly send: (url: string, headers: Readonly<Record<string, string>>, body: unknown) => Promise<number | "failed">
  /** Deliveries made so far, oldest first. */
  readonly deliveries: () => ReadonlyArray<WebhookDelivery>
  /** Resolves when every queued delivery has been made. */
  readonly settled: () => Promise<void>
  /** Forgets recorded deliveries (queued ones still go out). */
  readonly clear: () => void
}

/**
 * A {@link WebhookSender}. With `concurrency` 1 (the default) deliveries are serialized, so
 * receivers see them in the order sent; above 1, up to that many are in flight at once (they
 * start in call order), as a busy vendor delivers them.
 */
export const makeWebhookSender = (
  options: { readonly timeoutMs?: number; readonly concurrency?: number } = {},
): WebhookSender => {
  const limit = Math.max(1, options.concurrency ?? 1)
  let deliveries: Array<WebhookDelivery> = []
  let active = 0
  const waiting: Array<() => void> = []
  const outstanding = new Set<Promise<unknown>>()
  const acquire = (): Promise<void> => {
    if (active < limit) {
      active++
      return Promise.resolve()
    }
    return new Promise<void>((resolve) => waiting.push(resolve))
  }
  const release = () => {
    const next = waiting.shift()
    if (next !== undefined) next()
    else active--
  }
  return {
    send: (url, headers, body) => {
      const result = acquire().then(async () => {
        try {
          const status = await sendWebhook(url, headers, body, options)
          deliveries.push({
            url,
            headers: { ...headers },
            body: typeof body === "string" ? parseBody(body) : body,
            status,
            at: Date.now(),
          })
          return status
        } finally {
          release()
        }
      })
      outstanding.add(result)
      void result.finally(() => outstanding.delete(result))
      return result
    },
    deliveries: () => [...deliveries],
    settled: async () => {
      while (outstanding.size > 0) await Promise.allSettled([...outstanding])
    },
    clear: () => {
      deliveries = []
    },
  }
}
