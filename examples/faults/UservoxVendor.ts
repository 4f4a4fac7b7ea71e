/**
 * The fake uservox vendor as the fault scenario drives it: the same control, asynchronous, so
 * that the vendor can run in this process or in a child process of its own. In a child process
 * it does not share the engine's event loop, as a real vendor does not: starving the engine's
 * loop (see `EventLoopHog.ts`) then delays the engine, not the vendor's own processing.
 */
import { fork } from "node:child_process"
import {
  type FakeUservoxServerControl,
  type FakeUservoxServerOptions,
  startFakeUservoxServer,
  type UservoxLead,
  type UservoxUpdateWebhook,
} from "@leadstate/adapter-uservox/testing"
import type { FaultRule } from "@leadstate/core/testing"
import { Effect, type Scope } from "effect"

/** A request the vendor received, as the scenario counts them. */
export interface VendorRequest {
  readonly at: number
  readonly method: string
  readonly path: string
  readonly faulted: boolean
}

/** The vendor's control, each call answered asynchronously. */
export interface UservoxVendor {
  readonly baseUrl: string
  readonly where: "this process" | "a child process"
  readonly inject: (rule: FaultRule) => Promise<void>
  readonly clearFaults: () => Promise<void>
  readonly webhookFaults: (faults: { duplicate?: number; reorder?: number; drop?: number }) => Promise<void>
  /** Calls in progress on (or off) for the leads with these reference ids. */
  readonly callsInProgress: (referenceIds: ReadonlyArray<string>, processId: string, on: boolean) => Promise<void>
  readonly leadsByReference: (
    referenceIds: ReadonlyArray<string>,
    processId: string,
  ) => Promise<ReadonlyArray<UservoxLead | undefined>>
  readonly flushWebhooks: () => Promise<void>
  readonly updateResults: () => Promise<ReadonlyArray<UservoxUpdateWebhook>>
  readonly requests: () => Promise<ReadonlyArray<VendorRequest>>
  readonly webhookCounts: () => Promise<{ readonly sent: number; readonly dropped: number }>
}

/** The operations both sides understand: a method name and its JSON arguments. */
export type Operation = { readonly [K in Exclude<keyof UservoxVendor, "baseUrl" | "where">]: K }[Exclude<
  keyof UservoxVendor,
  "baseUrl" | "where"
>]

/** The control over an in-process fake (also what the child process serves). */
export const controlOf = (fake: FakeUservoxServerControl): Omit<UservoxVendor, "where"> => ({
  baseUrl: fake.baseUrl,
  inject: async (rule) => fake.inject(rule),
  clearFaults: async () => fake.clearFaults(),
  webhookFaults: async (faults) => fake.webhookFaults(faults),
  callsInProgress: async (referenceIds, processId, on) => {
    for (const referenceId of referenceIds) {
      const lead = fake.leadByReference(referenceId, processId)
      if (lead !== undefined) fake.callInProgress(lead._id, on)
    }
  },
  leadsByReference: async (referenceIds, processId) =>
    referenceIds.map((referenceId) => fake.leadByReference(referenceId, processId)),
  flushWebhooks: () => fake.flushWebhooks(),
  updateResults: async () => fake.updateResults(),
  requests: async () =>
    fake.requests().map((r) => ({ at: r.at, method: r.method, path: r.path, faulted: r.faults.length > 0 })),
  webhookCounts: async () => ({ sent: fake.deliveries().length, dropped: fake.droppedWebhooks().length }),
})

/** The fake in this process, sharing its event loop. */
export const inProcess = (options: FakeUservoxServerOptions): Effect.Effect<UservoxVendor, never, Scope.Scope> =>
  Effect.map(startFakeUservoxServer(options), (fake) => ({ ...controlOf(fake), where: "this process" }))

interface Reply {
  readonly id?: number
  readonly type?: string
  readonly baseUrl?: string
  readonly value?: unknown
  readonly error?: string
}

/**
 * The fake in a child process (`UservoxVendorChild.ts`, run by tsx), controlled over the IPC
 * channel: `{ id, op, args }` answered `{ id, value }` or `{ id, error }`.
 */
export const childProcess = (options: FakeUservoxServerOptions): Effect.Effect<UservoxVendor, never, Scope.Scope> =>
  Effect.gen(function* () {
    const pending = new Map<number, (reply: Reply) => void>()
    let nextId = 0
    const started = yield* Effect.acquireRelease(
      Effect.async<{ readonly child: ReturnType<typeof fork>; readonly baseUrl: string }>((resume) => {
        const child = fork(new URL("./UservoxVendorChild.ts", import.meta.url), [JSON.stringify(options)], {
          // tsx's loader runs the child's TypeScript (vitest's own loader is not inherited).
          execArgv: ["--import", "tsx"],
          stdio: ["ignore", "inherit", "inherit", "ipc"],
        })
        child.on("message", (raw) => {
          const reply = raw as Reply
          if (reply.type === "ready" && reply.baseUrl !== undefined) {
            resume(Effect.succeed({ child, baseUrl: reply.baseUrl }))
          } else if (reply.id !== undefined) {
            pending.get(reply.id)?.(reply)
            pending.delete(reply.id)
          }
        })
        child.once("exit", (code) => {
          for (const answer of pending.values()) answer({ error: `the vendor process exited (code ${code})` })
          pending.clear()
          resume(Effect.dieMessage(`the fake uservox process exited (code ${code}) before it was ready`))
        })
      }),
      ({ child }) =>
        Effect.async<void>((resume) => {
          if (child.exitCode !== null || !child.connected) return resume(Effect.void)
          const timer = setTimeout(() => child.kill("SIGKILL"), 5_000)
          child.once("exit", () => {
            clearTimeout(timer)
            resume(Effect.void)
          })
          child.send({ id: -1, op: "close", args: [] })
        }),
    )
    const call =
      (op: Operation) =>
      (...args: ReadonlyArray<unknown>): Promise<never> =>
        new Promise((resolve, reject) => {
          const id = nextId++
          pending.set(id, (reply) =>
            reply.error === undefined ? resolve(reply.value as never) : reject(new Error(reply.error)),
          )
          started.child.send({ id, op, args })
        })
    return {
      baseUrl: started.baseUrl,
      where: "a child process",
      inject: call("inject"),
      clearFaults: call("clearFaults"),
      webhookFaults: call("webhookFaults"),
      callsInProgress: call("callsInProgress"),
      leadsByReference: call("leadsByReference"),
      flushWebhooks: call("flushWebhooks"),
      updateResults: call("updateResults"),
      requests: call("requests"),
      webhookCounts: call("webhookCounts"),
    } satisfies UservoxVendor
  })
