/**
 * The fake generic vendor server as `engine.bench.ts` uses it: started in a child process
 * (`fakeServerChild.ts`; default) or in this process, with the same small control either way:
 * its URL, `reset` (forget leads, recorded requests and the rate-limit window) and the requests
 * received since the last reset, by method. It stops when the scope closes.
 */
import { type ChildProcess, fork } from "node:child_process"
import { startFakeGenericServer } from "@leadstate/adapter-generic/testing"
import { Effect, type Scope } from "effect"

export interface BenchServer {
  readonly url: string
  readonly where: "child process" | "in process"
  readonly reset: Effect.Effect<void>
  /** Requests received since the last reset, by method (`PUT`, `POST`, ...). */
  readonly counts: Effect.Effect<Readonly<Record<string, number>>>
}

export interface BenchServerOptions {
  readonly apiKey: string
  /** Serve from this process (sharing its event loop) instead of a child process. */
  readonly inProcess: boolean
}

/** The fake's rate limit, far above anything a run sends (its window is cleared on reset anyway). */
const rateLimitPerHour = Number.MAX_SAFE_INTEGER

export const startBenchServer = (options: BenchServerOptions): Effect.Effect<BenchServer, never, Scope.Scope> =>
  options.inProcess ? inProcess(options.apiKey) : childProcess(options.apiKey)

const inProcess = (apiKey: string): Effect.Effect<BenchServer, never, Scope.Scope> =>
  Effect.map(startFakeGenericServer({ apiKey, rateLimitPerHour }), (fake) => ({
    url: fake.url,
    where: "in process",
    reset: Effect.sync(() => fake.reset()),
    counts: Effect.sync(() => {
      const out: Record<string, number> = {}
      for (const r of fake.requests()) out[r.method] = (out[r.method] ?? 0) + 1
      return out
    }),
  }))

interface Reply {
  readonly id?: number
  readonly type?: string
  readonly url?: string
  readonly counts?: Record<string, number>
}

const childProcess = (apiKey: string): Effect.Effect<BenchServer, never, Scope.Scope> =>
  Effect.gen(function* () {
    const pending = new Map<number, (reply: Reply) => void>()
    let nextId = 0
    const child = yield* Effect.acquireRelease(
      Effect.async<{ readonly child: ChildProcess; readonly url: string }>((resume) => {
        // fork keeps this process's execArgv, so tsx's loader runs the child's TypeScript too.
        const child = fork(new URL("./fakeServerChild.ts", import.meta.url), [apiKey, String(rateLimitPerHour)], {
          stdio: ["ignore", "inherit", "inherit", "ipc"],
        })
        child.on("message", (raw) => {
          const reply = raw as Reply
          if (reply.type === "ready" && reply.url !== undefined) resume(Effect.succeed({ child, url: reply.url }))
          else if (reply.id !== undefined) {
            pending.get(reply.id)?.(reply)
            pending.delete(reply.id)
          }
        })
        child.once("exit", (code) => {
          resume(Effect.dieMessage(`the fake server process exited (code ${code}) before it was ready`))
        })
      }),
      ({ child }) =>
        Effect.async<void>((resume) => {
          if (child.exitCode !== null || !child.connected) return resume(Effect.void)
          const timer = setTimeout(() => child.kill(), 5_000)
          child.once("exit", () => {
            clearTimeout(timer)
            resume(Effect.void)
          })
          child.send({ id: -1, type: "close" })
        }),
    )
    const ask = (type: "reset" | "counts") =>
      Effect.async<Reply>((resume) => {
        const id = nextId++
        pending.set(id, (reply) => resume(Effect.succeed(reply)))
        child.child.send({ id, type })
      })
    return {
      url: child.url,
      where: "child process",
      reset: Effect.asVoid(ask("reset")),
      counts: Effect.map(ask("counts"), (reply) => reply.counts ?? {}),
    } satisfies BenchServer
  })
