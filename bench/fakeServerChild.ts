/**
 * The fake generic vendor server in its own process, for `engine.bench.ts` (started by
 * `fakeServer.ts` with `fork`, so the server's work runs on another core and does not share the
 * benchmark's event loop). Protocol over the IPC channel, one JSON message each way:
 *   child -> parent `{ type: "ready", url }` once listening;
 *   parent -> child `{ id, type: "reset" | "counts" | "close" }`, answered `{ id, counts? }`.
 *
 * Arguments: the API key, then the rate limit per hour.
 */
import { startFakeGenericServerPromise } from "@leadstate/adapter-generic/testing"

interface Command {
  readonly id: number
  readonly type: "reset" | "counts" | "close"
}

const [apiKey, limit] = process.argv.slice(2)
if (apiKey === undefined || process.send === undefined) {
  throw new Error("fakeServerChild.ts is started by bench/fakeServer.ts (fork, with an IPC channel)")
}
const send = (message: unknown): void => {
  process.send?.(message)
}

const fake = await startFakeGenericServerPromise({
  apiKey,
  rateLimitPerHour: Number(limit ?? Number.MAX_SAFE_INTEGER),
})

/** Requests received since the last reset, by method. */
const counts = (): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const r of fake.requests()) out[r.method] = (out[r.method] ?? 0) + 1
  return out
}

process.on("message", (raw) => {
  const command = raw as Command
  switch (command.type) {
    case "reset":
      fake.reset()
      send({ id: command.id })
      return
    case "counts":
      send({ id: command.id, counts: counts() })
      return
    case "close":
      void fake.close().then(() => {
        send({ id: command.id })
        process.disconnect()
      })
      return
  }
})
// The parent went away (crash, ^C): do not linger.
process.on("disconnect", () => {
  void fake.close().finally(() => process.exit(0))
})

send({ type: "ready", url: fake.url })
