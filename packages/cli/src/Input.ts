/**
 * Reading the CLI's input files: a lifecycle definition (JSON), an events file (JSON Lines) and
 * an adapter configuration (JSON). Every problem becomes one `InputError` whose message names
 * the file (and line) and says what is wrong; nothing here throws.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { type InvalidLifecycle, LeadEvent, Lifecycle, Metadata } from "@leadstate/core"
import { Effect, Either, ParseResult, Schema } from "effect"
import { InputError } from "./CliError.js"
import * as JsonError from "./JsonError.js"
import * as Output from "./Output.js"

/** Reads a whole file as UTF-8 text. */
export const readText = (path: string, what: string): Effect.Effect<string, InputError, FileSystem.FileSystem> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) =>
    fs.readFileString(path).pipe(
      Effect.mapError((e) => {
        const why =
          e._tag === "SystemError"
            ? e.reason === "NotFound"
              ? "no such file"
              : e.reason === "PermissionDenied"
                ? "permission denied"
                : e.reason === "BadResource"
                  ? "not a readable file (a directory?)"
                  : e.message
            : e.message
        return new InputError({ message: `cannot read ${what} ${path}: ${why}` })
      }),
    ),
  )

/** Parses JSON, or says where and why it stops being JSON (`where` names the file, or file:line). */
export const parseJson = (text: string, where: string, inLine = false): Either.Either<unknown, InputError> => {
  try {
    return Either.right(JSON.parse(text))
  } catch (e) {
    const found = JsonError.locate(text)
    const detail =
      found === undefined
        ? e instanceof Error
          ? e.message
          : String(e)
        : `${found.message} (${inLine ? `column ${found.offset + 1}` : JsonError.position(text, found.offset)})`
    return Either.left(new InputError({ message: `${where}${inLine ? ":" : " is"} not valid JSON: ${detail}` }))
  }
}

/** Reads and parses a JSON file. */
export const readJson = (path: string, what: string): Effect.Effect<unknown, InputError, FileSystem.FileSystem> =>
  Effect.flatMap(readText(path, what), (text) => parseJson(text, `${what} ${path}`))

const kindOf = (u: unknown): string =>
  u === null ? "null" : Array.isArray(u) ? "an array" : typeof u === "object" ? "an object" : `a ${typeof u}`

/** True for a JSON object (not null, not an array). */
export const isObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * Reads a lifecycle file. A file that is not a JSON object is an `InputError`; an object that
 * is not a valid lifecycle is returned as `InvalidLifecycle`, with every problem and its path.
 */
export const readLifecycle = (
  path: string,
): Effect.Effect<
  Either.Either<Lifecycle.Lifecycle, InvalidLifecycle.InvalidLifecycle>,
  InputError,
  FileSystem.FileSystem
> =>
  Effect.flatMap(readJson(path, "lifecycle file"), (json) =>
    isObject(json)
      ? Effect.succeed(Lifecycle.make(json))
      : Effect.fail(
          new InputError({
            message: `lifecycle file ${path} is not a lifecycle definition: expected a JSON object with "name", "initial", "states" and "transitions", got ${kindOf(json)}`,
          }),
        ),
  )

/** Reads a lifecycle file that must be valid (for the commands that run it). */
export const readValidLifecycle = (
  path: string,
): Effect.Effect<Lifecycle.Lifecycle, InputError, FileSystem.FileSystem> =>
  Effect.flatMap(readLifecycle(path), (result) =>
    Either.match(result, {
      onRight: Effect.succeed,
      onLeft: (invalid) =>
        Effect.fail(
          new InputError({
            message: `lifecycle file ${path} is not valid (run \`leadstate validate ${path}\`).\n${invalid.message}`,
          }),
        ),
    }),
  )

/** One line of an events file: a lead starts (with its metadata), or an event for a lead. */
export type EventLine =
  | {
      readonly _tag: "Start"
      readonly line: number
      readonly lead: string
      readonly at: number | undefined
      readonly metadata: Metadata.Metadata
    }
  | { readonly _tag: "Event"; readonly line: number; readonly lead: string; readonly event: LeadEvent.LeadEvent }

/** The lead of lines that name none. */
export const defaultLead = "lead-1"

const decodeEvent = Schema.decodeUnknownEither(LeadEvent.LeadEvent, { errors: "first", onExcessProperty: "error" })
const StartLine = Schema.Struct({
  type: Schema.Literal("start"),
  at: Schema.optionalWith(Schema.Finite, { exact: true }),
  metadata: Schema.optionalWith(Metadata.Metadata, { exact: true }),
})
const decodeStart = Schema.decodeUnknownEither(StartLine, { errors: "first", onExcessProperty: "error" })

const issueText = (error: ParseResult.ParseError): string => {
  const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
  if (issue === undefined) return "not a lead event"
  const path = issue.path.map(String).join(".")
  return path === "" ? issue.message : `${path}: ${issue.message}`
}

const types = ["start", ...LeadEvent.eventTypes]

/**
 * Parses one non-blank line. `lead` (default {@link defaultLead}) names the lead; `at` and
 * `until` may be epoch milliseconds or ISO dates; `{"type":"start", "metadata": {...}}` creates a lead with
 * its metadata (a lead's first event creates it with none otherwise).
 */
const parseLine = (text: string, line: number, where: string): Either.Either<EventLine, string> => {
  const json = parseJson(text, `${where}:${line}`, true)
  if (Either.isLeft(json)) return Either.left(json.left.message)
  const value = json.right
  if (!isObject(value))
    return Either.left(`${where}:${line}: expected a JSON object (one event per line), got ${kindOf(value)}`)
  const { lead, ...rest } = value
  if (lead !== undefined && (typeof lead !== "string" || lead === "")) {
    return Either.left(`${where}:${line}: "lead" must be a non-empty string`)
  }
  if (typeof rest.type !== "string" || !types.includes(rest.type)) {
    const got = rest.type === undefined ? 'no "type"' : `type ${JSON.stringify(rest.type)}`
    return Either.left(`${where}:${line}: ${got}; expected one of ${types.join(", ")}`)
  }
  for (const key of ["at", "until"]) {
    const value = rest[key]
    if (typeof value !== "string") continue
    const ms = Date.parse(value)
    if (Number.isNaN(ms)) return Either.left(`${where}:${line}: ${key}: ${JSON.stringify(value)} is not a date`)
    rest[key] = ms
  }
  const leadId = lead ?? defaultLead
  if (rest.type === "start") {
    return Either.mapBoth(decodeStart(rest), {
      onLeft: (e) => `${where}:${line}: ${issueText(e)}`,
      onRight: (start): EventLine => ({
        _tag: "Start",
        line,
        lead: leadId,
        at: start.at,
        metadata: start.metadata ?? {},
      }),
    })
  }
  return Either.mapBoth(decodeEvent(rest), {
    onLeft: (e) => `${where}:${line}: ${issueText(e)}`,
    onRight: (event): EventLine => ({ _tag: "Event", line, lead: leadId, event }),
  })
}

/** Collects the parsed lines of one events file, and the problems of the bad ones. */
const eventsParser = (where: string) => {
  const lines: Array<EventLine> = []
  const problems: Array<string> = []
  const started = new Set<string>()
  const seen = new Set<string>()
  const add = (raw: string, index: number) => {
    const trimmed = raw.trim()
    if (trimmed === "") return
    const parsed = parseLine(trimmed, index + 1, where)
    if (Either.isLeft(parsed)) {
      problems.push(parsed.left)
      return
    }
    const line = parsed.right
    if (line._tag === "Start") {
      if (seen.has(line.lead)) {
        problems.push(
          `${where}:${line.line}: lead "${line.lead}" already ${started.has(line.lead) ? "started" : "has events"}; a "start" line must come first`,
        )
        return
      }
      started.add(line.lead)
    }
    seen.add(line.lead)
    lines.push(line)
  }
  const result = (): Either.Either<ReadonlyArray<EventLine>, InputError> => {
    if (problems.length > 0) {
      const shown = problems.slice(0, 5)
      const more = problems.length > shown.length ? `\n  … and ${problems.length - shown.length} more` : ""
      const n = problems.length
      return Either.left(
        new InputError({
          message: `events file ${where} has ${n} bad line${n === 1 ? "" : "s"}:\n${shown.map((p) => `  ${p}`).join("\n")}${more}`,
        }),
      )
    }
    if (lines.length === 0) return Either.left(new InputError({ message: `events file ${where} has no events` }))
    return Either.right(lines)
  }
  return { add, result }
}

/** Parses an events file; every bad line is reported (the first few in full). */
export const parseEvents = (text: string, where: string): Either.Either<ReadonlyArray<EventLine>, InputError> => {
  const parser = eventsParser(where)
  text.split("\n").forEach(parser.add)
  return parser.result()
}

/** Lines parsed between two turns of the event loop (where a Ctrl-C is seen). */
const linesPerTurn = 500

/** Reads an events file (JSON Lines); a long one is parsed in slices, so a signal stops it. */
export const readEvents = (path: string): Effect.Effect<ReadonlyArray<EventLine>, InputError, FileSystem.FileSystem> =>
  Effect.flatMap(readText(path, "events file"), (text) =>
    Effect.gen(function* () {
      const parser = eventsParser(path)
      const rows = text.split("\n")
      for (let i = 0; i < rows.length; i++) {
        if (i > 0 && i % linesPerTurn === 0) yield* Output.breathe
        parser.add(rows[i] ?? "", i)
      }
      return yield* parser.result()
    }),
  )
