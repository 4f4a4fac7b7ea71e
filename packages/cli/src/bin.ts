#!/usr/bin/env node
/**
 * The `leadstate` executable.
 *
 * @since 0.1.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect } from "effect"
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

let code = 0
NodeRuntime.runMain(
  main(process.argv).pipe(
    Effect.tap((c) =>
      Effect.sync(() => {
        code = c
      }),
    ),
    Effect.provide(NodeContext.layer),
  ),
  {
    disableErrorReporting: true,
    // A failing run exits with process.exit: first let a slow reader (a pipe) take all of the output.
    teardown: (_, onExit) => {
      Promise.all([flushed(process.stdout), flushed(process.stderr)]).then(() => onExit(code))
    },
  },
)
