/**
 * Fuzz target family: an adapter's decoding of vendor answers. A tiny HTTP server on 127.0.0.1
 * answers every request with generated answers (any status, hostile headers, byte soup, broken
 * JSON, hostile JSON, or the vendor's documented answers with hostile parts; sometimes cut
 * short or dropped), and the adapter, built fresh against it for each input, sends one intent
 * or reads the lead back. The result must be a receipt or lead, or a typed `CrmError`; never a
 * defect, never a hang.
 *
 * @since 0.1.0
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import { type CrmAdapter, CrmError, type SyncIntent } from "@leadstate/core"
import { Duration, Effect, FastCheck as fc, Option, type Scope } from "effect"
import * as FuzzTarget from "./FuzzTarget.js"
import { hostileBody, preview } from "./Hostile.js"

/** One adapter, and what its vendor answers look like. */
export interface VendorAdapter<S extends CrmAdapter.CrmAdapterService = CrmAdapter.CrmAdapterService> {
  readonly name: string
  /** Builds the adapter against `baseUrl` (once per input: no state carries over). */
  readonly make: (baseUrl: string) => Effect.Effect<S, unknown, HttpClient.HttpClient | Scope.Scope>
  /** Valid answer bodies, as the vendor documents them (before hostile edits). */
  readonly answers: fc.Arbitrary<unknown>
  /** The lead to update and read back, with an id in the vendor's format. */
  readonly ref: CrmAdapter.LeadRef
  /** The intents to send (for the lifecycle the adapter was built for). */
  readonly intents: ReadonlyArray<SyncIntent.SyncIntent>
  /** The adapter's own operations that read vendor answers (list, get, bulk, ...), by name. */
  readonly operations?: Readonly<Record<string, (service: S) => Effect.Effect<unknown, CrmError.CrmError>>>
}

/** One answer of the server. */
export interface Answer {
  readonly status: number
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly body: Uint8Array
  /** `truncate`: promise more bytes than sent, then close; `drop`: close without answering. */
  readonly cut: "none" | "truncate" | "drop"
}

const status: fc.Arbitrary<number> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(200, 201, 202, 204) },
  { weight: 3, arbitrary: fc.constantFrom(400, 401, 403, 404, 409, 410, 413, 422, 429, 500, 502, 503, 504) },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 599 }) },
)

/** Header values a server may send (printable ASCII: anything else cannot be sent at all). */
const headerValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "-1",
    "0",
    "1",
    "1e400",
    "NaN",
    "Infinity",
    "999999999999999999999",
    "Wed, 21 Oct 2015 07:28:00 GMT",
    "Fri, 31 Dec 9999 23:59:59 GMT",
    "application/json",
    "application/json; charset=utf-16",
    "text/html",
    "",
  ),
  fc.stringMatching(/^[\x20-\x7e]{0,40}$/),
)

const header: fc.Arbitrary<readonly [string, string]> = fc.tuple(
  fc.constantFrom(
    "content-type",
    "retry-after",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "x-ratelimit-limit",
    "location",
    "x-request-id",
  ),
  headerValue,
)

const answer = (valid: fc.Arbitrary<unknown>): fc.Arbitrary<Answer> =>
  fc.record({
    status,
    headers: fc.oneof(
      {
        weight: 3,
        arbitrary: fc.constant<ReadonlyArray<readonly [string, string]>>([["content-type", "application/json"]]),
      },
      { weight: 2, arbitrary: fc.array(header, { maxLength: 3 }) },
    ),
    body: hostileBody(valid, { maxStringLength: 3_000_000 }),
    cut: fc.constantFrom<Answer["cut"]>("none", "none", "none", "none", "none", "none", "none", "truncate", "drop"),
  })

/** What the adapter is asked to do: send one of its intents, read the lead back, or one of its own operations. */
type Operation =
  | { readonly _tag: "send"; readonly index: number }
  | { readonly _tag: "readBack" }
  | { readonly _tag: "own"; readonly name: string }

const operationText = (operation: Operation, intents: ReadonlyArray<SyncIntent.SyncIntent>): string =>
  operation._tag === "send"
    ? `send ${intents[operation.index]?._tag ?? "?"} #${operation.index}`
    : operation._tag === "own"
      ? operation.name
      : "readBack"

interface Input {
  readonly answers: ReadonlyArray<Answer>
  readonly operation: Operation
}

/** The answering server: every request gets the next answer of the current script, in a cycle. */
const startServer = async () => {
  let script: ReadonlyArray<Answer> = []
  let next = 0
  const respond = (req: IncomingMessage, res: ServerResponse) => {
    req.resume()
    const a = script[next++ % Math.max(1, script.length)]
    if (a === undefined || a.cut === "drop") {
      req.socket.destroy()
      return
    }
    res.on("error", () => {})
    const headers: Record<string, string> = {}
    for (const [k, v] of a.headers) headers[k] = v
    const bodyless = a.status === 204 || a.status === 304
    if (a.cut === "truncate" && !bodyless) headers["content-length"] = String(a.body.length + 16)
    try {
      res.writeHead(a.status, headers)
    } catch {
      res.writeHead(a.status)
    }
    if (bodyless) res.end()
    else if (a.cut === "truncate") res.write(a.body, () => req.socket.destroy())
    else res.end(a.body)
  }
  const server: Server = createServer(respond)
  server.on("clientError", (_, socket) => socket.destroy())
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    serve: (answers: ReadonlyArray<Answer>) => {
      script = answers
      next = 0
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** Longer than any retry policy a fuzz adapter should have: past it, the adapter hangs. */
const hangAfter = Duration.seconds(20)

/** The adapter's target, "vendor answers: <name>". */
export const make = <S extends CrmAdapter.CrmAdapterService>(adapter: VendorAdapter<S>): FuzzTarget.FuzzTarget => {
  const own = Object.keys(adapter.operations ?? {})
  return FuzzTarget.make<Input>({
    name: `vendor answers: ${adapter.name}`,
    arbitrary: fc.record({
      answers: fc.array(answer(adapter.answers), { minLength: 1, maxLength: 3 }),
      operation: fc.oneof(
        ...(own.length === 0
          ? []
          : [{ weight: 1, arbitrary: fc.constantFrom(...own).map((name): Operation => ({ _tag: "own", name })) }]),
        {
          weight: 3,
          arbitrary: fc
            .nat({ max: Math.max(0, adapter.intents.length - 1) })
            .map((index): Operation => ({ _tag: "send", index })),
        },
        { weight: 1, arbitrary: fc.constant<Operation>({ _tag: "readBack" }) },
      ),
    }),
    open: async () => {
      const server = await startServer()
      return {
        check: async ({ answers, operation }) => {
          server.serve(answers)
          const intent = operation._tag === "send" ? adapter.intents[operation.index] : undefined
          const ownOperation = operation._tag === "own" ? adapter.operations?.[operation.name] : undefined
          const run = Effect.gen(function* () {
            const service = yield* adapter.make(server.url)
            if (ownOperation !== undefined) return yield* ownOperation(service)
            return intent === undefined
              ? yield* service.readBack(adapter.ref)
              : yield* service.send(intent, adapter.ref)
          }).pipe(Effect.scoped, Effect.timeoutOption(hangAfter), Effect.provide(FetchHttpClient.layer))
          const exit = await Effect.runPromiseExit(run)
          if (exit._tag === "Success" && Option.isNone(exit.value)) {
            return { kind: "hang", error: new Error(`no answer within ${Duration.format(hangAfter)}`) }
          }
          return FuzzTarget.fromExit(exit, (e) => e instanceof CrmError.CrmError)
        },
        close: server.close,
      }
    },
    show: ({ answers, operation }) =>
      `${operationText(operation, adapter.intents)}; answers: ${answers
        .map(
          (a) =>
            `${a.status}${a.cut === "none" ? "" : ` (${a.cut})`} ${preview(a.headers, 80)} ${preview(a.body, 200)}`,
        )
        .join(" | ")}`,
  })
}
