/**
 * Long outputs and long loops that stay stoppable: text goes to stdout in chunks, waiting for a
 * slow reader, and the event loop runs between chunks, so a Ctrl-C or SIGTERM is seen (and the
 * command interrupted) within one chunk.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"

/** Lets the event loop run once (timers, I/O, signal handlers): an interruption point. */
export const breathe: Effect.Effect<void> = Effect.async<void>((resume) => {
  const timer = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(timer))
})

/** Writes `text` to stdout; resumes once the stream takes more (at once unless a reader lags). */
const writeChunk = (text: string): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    const out = process.stdout
    if (out.write(text)) {
      const timer = setImmediate(() => resume(Effect.void))
      return Effect.sync(() => clearImmediate(timer))
    }
    const drained = () => resume(Effect.void)
    out.once("drain", drained)
    return Effect.sync(() => {
      out.removeListener("drain", drained)
    })
  })

/** Chunks of about this many characters. */
const chunkSize = 1 << 16

/**
 * Writes every piece to stdout, in order, as it is produced (nothing else is kept in memory),
 * in chunks of about 64 KiB with the event loop run between them.
 */
export const writeAll = (pieces: Iterable<string>): Effect.Effect<void> =>
  Effect.gen(function* () {
    let chunk: Array<string> = []
    let size = 0
    for (const piece of pieces) {
      chunk.push(piece)
      size += piece.length
      if (size >= chunkSize) {
        yield* writeChunk(chunk.join(""))
        chunk = []
        size = 0
      }
    }
    if (size > 0) yield* writeChunk(chunk.join(""))
  })
