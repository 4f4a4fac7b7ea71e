#!/usr/bin/env node
/**
 * The `leadstate` executable. Ctrl-C (SIGINT) or SIGTERM stops any command: it is interrupted
 * (its servers and files closed), a line on stderr says so, and the process exits 130 or 143;
 * a second signal, or a command still running after a few seconds, exits at once.
 *
 * @since 0.1.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Effect, Exit } from "effect"
import { main } from "./Cli.js"

// `leadstate … | head`: a reader that goes away is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0)
    throw e
  })
}

/** Resolves once everything written to `stream` so far has been handed to the OS. */
const flushed = (stream: NodeJS.WriteStream) =>
  new Promise<void>((resolve) => {
    if (stream.destroyed || !stream.writable) resolve()
    else stream.write("", () => resolve())
  })

/** Exit codes for the signals that stop a command: 128 + the signal number, as shells report them. */
const signalCodes = { SIGINT: 130, SIGTERM: 143 } as const
type StopSignal = keyof typeof signalCodes

/** How long an interrupted command may take to close what it opened before the process exits anyway. */
const graceMs = 3_000

// The pending interruption keeps no handle open, so a command waiting on nothing but a signal
// (serve-fake) would let Node exit: this timer keeps the process alive until the command ends.
const keepAlive = setInterval(() => {}, 2 ** 31 - 1)

const fiber = Effect.runFork(main(process.argv).pipe(Effect.provide(NodeContext.layer)))
let stoppedBy: StopSignal | undefined

const onSignal = (signal: StopSignal) => {
  if (stoppedBy !== undefined) process.exit(signalCodes[stoppedBy])
  stoppedBy = signal
  process.stderr.write(`\nleadstate: stopped by ${signal}\n`)
  fiber.unsafeInterruptAsFork(fiber.id())
  setTimeout(() => process.exit(signalCodes[signal]), graceMs).unref()
}
process.on("SIGINT", () => onSignal("SIGINT"))
process.on("SIGTERM", () => onSignal("SIGTERM"))

fiber.addObserver((exit) => {
  clearInterval(keepAlive)
  // `main` returns the exit code and reports every failure itself; only an interruption ends it otherwise.
  const code = stoppedBy !== undefined ? signalCodes[stoppedBy] : Exit.isSuccess(exit) ? exit.value : 1
  process.exitCode = code
  // A failing or stopped run exits with process.exit: first let a slow reader (a pipe) take all of the output.
  if (code !== 0) Promise.all([flushed(process.stdout), flushed(process.stderr)]).then(() => process.exit(code))
})
