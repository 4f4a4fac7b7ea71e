/**
 * The CLI's HTTP clients: a recording client for runs against a base URL (every attempt, with
 * its status and timing, is kept so it can be printed as sent and answered), and a client for
 * dry runs that sends nothing.
 *
 * @since 0.1.0
 */
import { FetchHttpClient, HttpClient, HttpClientError } from "@effect/platform"
import { Effect, Layer } from "effect"

/** One HTTP attempt as sent and answered. Header values are not kept (they hold secrets). */
export interface Exchange {
  readonly method: string
  readonly url: string
  readonly body: string | undefined
  /** The answer's status, or undefined when none came. */
  readonly status: number | undefined
  /** The answer's body (the first 300 characters), when one came. */
  readonly answer: string | undefined
  /** Why no answer came (timeout, connection refused, …). */
  readonly error: string | undefined
  readonly ms: number
}

interface Entry {
  method: string
  url: string
  body: string | undefined
  status: number | undefined
  answer: string | undefined
  error: string | undefined
  ms: number
}

/** A recorder: `layer` provides the `HttpClient`; `take` returns and forgets the exchanges so far. */
export interface Recorder {
  readonly layer: Layer.Layer<HttpClient.HttpClient>
  readonly take: () => ReadonlyArray<Exchange>
}

const decoder = new TextDecoder()

/** A fetch client that records every attempt. */
export const recorder = (): Recorder => {
  let entries: Array<Entry> = []
  const layer = Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (client) =>
      HttpClient.transform(client, (effect, request) =>
        Effect.suspend(() => {
          const started = Date.now()
          const entry: Entry = {
            method: request.method,
            url: request.url,
            body: request.body._tag === "Uint8Array" ? decoder.decode(request.body.body) : undefined,
            status: undefined,
            answer: undefined,
            error: undefined,
            ms: 0,
          }
          entries.push(entry)
          return effect.pipe(
            Effect.tap((response) =>
              Effect.map(Effect.either(response.text), (text) => {
                entry.status = response.status
                entry.answer = text._tag === "Right" ? text.right.slice(0, 300) : undefined
              }),
            ),
            Effect.tapError((e) =>
              Effect.sync(() => {
                entry.error = e._tag === "RequestError" ? `no answer (${e.reason})` : `unreadable answer (${e.reason})`
              }),
            ),
            Effect.onInterrupt(() =>
              Effect.sync(() => {
                entry.error = "no answer (timed out)"
              }),
            ),
            Effect.ensuring(
              Effect.sync(() => {
                entry.ms = Date.now() - started
              }),
            ),
          )
        }),
      ),
    ),
  ).pipe(Layer.provide(FetchHttpClient.layer))
  return {
    layer,
    take: () => {
      const taken = entries.map((e): Exchange => ({ ...e }))
      entries = []
      return taken
    },
  }
}

/** A client for dry runs: every request fails without leaving the process. */
export const dryRunLayer: Layer.Layer<HttpClient.HttpClient> = Layer.succeed(
  HttpClient.HttpClient,
  HttpClient.make((request) =>
    Effect.fail(
      new HttpClientError.RequestError({ request, reason: "Transport", description: "dry run: nothing is sent" }),
    ),
  ),
)
