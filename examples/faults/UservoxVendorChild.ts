/**
 * The fake uservox server in its own process, for `UservoxVendor.childProcess` (forked with an
 * IPC channel). Its options come as JSON in the first argument; it answers `{ type: "ready",
 * baseUrl }` once listening, then each `{ id, op, args }` with `{ id, value }` or `{ id, error }`.
 */
import { startFakeUservoxServerPromise } from "@leadstate/adapter-uservox/testing"
import { controlOf, type Operation } from "./UservoxVendor.js"

const [json] = process.argv.slice(2)
if (json === undefined || process.send === undefined) {
  throw new Error("UservoxVendorChild.ts is started by UservoxVendor.childProcess (fork, with an IPC channel)")
}
const send = (message: unknown): void => {
  process.send?.(message)
}
const fake = await startFakeUservoxServerPromise(JSON.parse(json))
const control = controlOf(fake)

process.on("message", (raw) => {
  const { id, op, args } = raw as { readonly id: number; readonly op: Operation | "close"; readonly args: Array<never> }
  if (op === "close") {
    void fake.close().finally(() => process.exit(0))
    return
  }
  const method = control[op] as (...args: Array<never>) => Promise<unknown>
  method(...args).then(
    (value) => send({ id, value }),
    (error: unknown) => send({ id, error: String(error) }),
  )
})
// The parent went away without closing us: do not linger.
process.on("disconnect", () => process.exit(0))
send({ type: "ready", baseUrl: fake.baseUrl })
