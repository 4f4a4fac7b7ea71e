/**
 * `leadstate serve-fake <vendor>`: starts an adapter's fake vendor server (the one its tests
 * use) on 127.0.0.1, so people can try the adapters by hand, and prints every request it gets.
 * The fakes listen on an ephemeral port; `--port` puts a plain TCP relay in front of it.
 *
 * @since 0.1.0
 */
import { connect, createServer, type Server, type Socket } from "node:net"
import { startFakeGenericServer } from "@leadstate/adapter-generic/testing"
import { startFakeUservoxServer } from "@leadstate/adapter-uservox/testing"
import { startFakeVoxysServer } from "@leadstate/adapter-voxys/testing"
import type { FakeVendorControl } from "@leadstate/core/testing"
import { Console, Duration, Effect, Redacted, Schedule, type Scope } from "effect"
import { type AdapterConfig, credentialEnv, secret, type Vendor } from "./AdapterConfig.js"
import { UsageError } from "./CliError.js"
import * as Defaults from "./Defaults.js"

/** Options of {@link serve}. */
export interface ServeOptions {
  readonly vendor: Vendor
  readonly port: number | undefined
  /** A configuration (and its path) whose ids and secret variable the fake uses. */
  readonly config: { readonly adapter: AdapterConfig; readonly path: string } | undefined
}

/** A TCP relay from `port` to the fake's own port; closes with the scope. */
const relay = (port: number, target: number): Effect.Effect<void, UsageError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<Server, UsageError>((resume) => {
      const sockets = new Set<Socket>()
      const server = createServer((socket) => {
        const upstream = connect(target, "127.0.0.1")
        sockets.add(socket)
        sockets.add(upstream)
        const close = () => {
          socket.destroy()
          upstream.destroy()
          sockets.delete(socket)
          sockets.delete(upstream)
        }
        socket.on("error", close).on("close", close)
        upstream.on("error", close).on("close", close)
        socket.pipe(upstream)
        upstream.pipe(socket)
      })
      server.once("error", (e: NodeJS.ErrnoException) =>
        resume(
          Effect.fail(
            new UsageError({
              message:
                e.code === "EADDRINUSE"
                  ? `port ${port} is already in use; pick another with --port, or leave it out for a free one`
                  : `cannot listen on port ${port}: ${e.message}`,
            }),
          ),
        ),
      )
      server.listen(port, "127.0.0.1", () => {
        server.on("close", () => {
          for (const s of sockets) s.destroy()
        })
        resume(Effect.succeed(server))
      })
    }),
    (server) => Effect.sync(() => server.close()),
  ).pipe(Effect.asVoid)

const portOf = (url: string): number => Number(new URL(url).port)

/** Starts the fake and runs until interrupted (Ctrl-C). */
export const serve = (options: ServeOptions): Effect.Effect<never, UsageError, Scope.Scope> =>
  Effect.gen(function* () {
    const { vendor, config } = options
    if (options.port !== undefined && !(Number.isInteger(options.port) && options.port > 0 && options.port < 65536)) {
      return yield* new UsageError({ message: `--port must be between 1 and 65535, got ${options.port}` })
    }
    if (config !== undefined && config.adapter.vendor !== vendor) {
      return yield* new UsageError({
        message: `${config.path} is a ${config.adapter.vendor} configuration, not ${vendor}`,
      })
    }
    const adapter = config?.adapter ?? Defaults.configOf(vendor)
    const env = credentialEnv(adapter)
    const envName = env.name
    const credential =
      config === undefined
        ? Defaults.fakeCredential[vendor]
        : Redacted.value(yield* secret(envName, env.field, config.path, false))
    const credentialText =
      config === undefined
        ? `${credential} (a fake credential; clients of this fake must send it)`
        : `the value of $${envName}`

    let fake: FakeVendorControl
    let apiPath = ""
    switch (adapter.vendor) {
      case "generic": {
        fake = yield* startFakeGenericServer({ apiKey: credential })
        break
      }
      case "uservox": {
        const c = adapter.config
        fake = yield* startFakeUservoxServer({
          apiToken: credential,
          projectId: c.projectId,
          processes: [{ processId: c.processId, states: [...new Set(Object.values(c.stateMap.states))] }],
        })
        apiPath = "/api/v1"
        break
      }
      case "voxys": {
        fake = yield* startFakeVoxysServer({ apiAccessToken: credential, accountId: adapter.config.accountId })
        break
      }
    }
    let url = fake.url
    if (options.port !== undefined) {
      yield* relay(options.port, portOf(fake.url))
      url = `http://127.0.0.1:${options.port}`
    }
    const baseUrl = `${url}${apiPath}`
    yield* Console.log(`fake ${vendor} server listening on ${url} (Ctrl-C to stop)`)
    yield* Console.log(`  base URL:   ${baseUrl}`)
    yield* Console.log(`  credential: ${credentialText}`)
    yield* Console.log("  try it:")
    yield* Console.log(
      `    ${config === undefined ? `${envName}=${credential} ` : ""}leadstate simulate examples/lifecycles/autoDealer.json examples/events/autoDealer.jsonl --adapter ${vendor} --config ${config?.path ?? `examples/adapters/${vendor}.json`} --base-url ${baseUrl}`,
    )
    let seen = 0
    const logRequests = Effect.gen(function* () {
      const requests = fake.requests()
      for (const r of requests.slice(seen)) {
        const query = new URLSearchParams(r.query).toString()
        yield* Console.log(
          `  ${new Date(r.at).toISOString().slice(11, 23)}  ${r.method} ${r.path}${query === "" ? "" : `?${query}`}`,
        )
      }
      seen = requests.length
    })
    return yield* Effect.repeat(logRequests, Schedule.spaced(Duration.millis(200))).pipe(Effect.zipRight(Effect.never))
  })
