/**
 * The `leadstate` command, built with `@effect/cli`: `validate`, `diagram`, `paths`,
 * `simulate` and `serve-fake`. {@link main} runs it on an argv and returns the exit code:
 * 0 success, 1 a lifecycle or vendor error occurred, 2 usage or unreadable input (the
 * executable adds 130 and 143: stopped by SIGINT or SIGTERM).
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import { Diagram, type Lifecycle, Paths } from "@leadstate/core"
import { Cause, Console, Effect, Either, type Layer, Option } from "effect"
import { type CliError, exitCode, Failed, InputError, UsageError } from "./CliError.js"
import * as Input from "./Input.js"
import * as Output from "./Output.js"
import type { ServeOptions } from "./ServeFake.js"
import { type Vendor, vendors } from "./Vendor.js"

// The adapters, the fake servers and the HTTP client load only for the commands that use them.
const load = {
  adapterConfig: Effect.promise(() => import("./AdapterConfig.js")),
  http: Effect.promise(() => import("./Http.js")),
  serveFake: Effect.promise(() => import("./ServeFake.js")),
  simulate: Effect.promise(() => import("./Simulate.js")),
}

/** The version `--version` prints. */
export const version = "0.1.0"

/** Events files longer than this show a progress line (when stderr is a terminal). */
export const progressThreshold = 2000

const lifecycleArg = Args.file({ name: "lifecycle.json" }).pipe(
  Args.withDescription("A lifecycle definition (JSON), e.g. examples/lifecycles/autoDealer.json"),
)
const jsonOption = Options.boolean("json").pipe(Options.withDescription("Machine-readable output (JSON)"))

const describe = (lifecycle: Lifecycle.Lifecycle): string => {
  const states = [...lifecycle.states.values()]
  const finals = states.filter((s) => s.final).map((s) => s.name)
  return `${states.length} states (initial "${lifecycle.initial}", final: ${finals.join(", ") || "none"}), ${lifecycle.definition.transitions.length} transition rules`
}

const validate = Command.make("validate", { lifecycle: lifecycleArg, json: jsonOption }, ({ lifecycle: path, json }) =>
  Effect.gen(function* () {
    const result = yield* Input.readLifecycle(path)
    if (Either.isRight(result)) {
      const lifecycle = result.right
      yield* json
        ? Console.log(
            JSON.stringify({
              file: path,
              valid: true,
              name: lifecycle.name,
              initial: lifecycle.initial,
              states: lifecycle.stateNames,
              problems: [],
            }),
          )
        : Console.log(`✓ ${path}: lifecycle "${lifecycle.name}" is valid: ${describe(lifecycle)}.`)
      return
    }
    const invalid = result.left
    yield* json
      ? Console.log(JSON.stringify({ file: path, valid: false, name: invalid.name, problems: invalid.problems }))
      : Console.log(`✗ ${path}: ${invalid.message}`)
    // Past the input limits (nesting, size) the file is unreadable input, not a lifecycle to fix.
    const unreadable = invalid.problems.some((problem) => problem.code === "TooLarge")
    return yield* unreadable ? new InputError({ message: "" }) : new Failed({ message: "" })
  }),
).pipe(
  Command.withDescription(
    "Check a lifecycle definition: every problem, with its path. Exit 0 valid, 1 invalid, 2 unreadable or past the input limits.",
  ),
)

const diagram = Command.make(
  "diagram",
  {
    lifecycle: lifecycleArg,
    format: Options.choice("format", ["mermaid", "dot"]).pipe(
      Options.withDefault("mermaid" as const),
      Options.withDescription("mermaid (stateDiagram-v2) or dot (Graphviz)"),
    ),
    out: Options.file("out").pipe(Options.optional, Options.withDescription("Write the diagram to this file")),
    json: jsonOption,
  },
  ({ lifecycle: path, format, out, json }) =>
    Effect.gen(function* () {
      const lifecycle = yield* Input.readValidLifecycle(path)
      const text = format === "dot" ? Diagram.dot(lifecycle) : Diagram.mermaid(lifecycle)
      if (Option.isSome(out)) {
        const fs = yield* FileSystem.FileSystem
        yield* fs
          .writeFileString(out.value, text.endsWith("\n") ? text : `${text}\n`)
          .pipe(Effect.mapError((e) => new InputError({ message: `cannot write ${out.value}: ${e.message}` })))
        yield* json
          ? Console.log(JSON.stringify({ name: lifecycle.name, format, out: out.value }))
          : Console.log(`Wrote the ${format} diagram of "${lifecycle.name}" to ${out.value}.`)
        return
      }
      yield* json ? Console.log(JSON.stringify({ name: lifecycle.name, format, diagram: text })) : Console.log(text)
    }),
).pipe(Command.withDescription("Draw a lifecycle as a Mermaid or Graphviz DOT diagram."))

const eventText = (event: Paths.PathEvent): string => {
  switch (event.type) {
    case "transition":
      return event.disposition === undefined ? event.to : `${event.to} [${event.disposition}]`
    case "reopen":
      return `reopen ${event.to}${event.reason === undefined ? "" : ` (${event.reason})`}`
    default:
      return event.type
  }
}

/** The lines `paths` prints, built one at a time (a long lifecycle's paths are never all in memory). */
function* pathLines(lifecycle: Lifecycle.Lifecycle, found: Paths.PathTree, json: boolean): Generator<string> {
  if (json) {
    // The same text as JSON.stringify({ name, paths }), written state by state.
    yield `{"name":${JSON.stringify(lifecycle.name)},"paths":[`
    let first = true
    for (const state of found.states) {
      yield `${first ? "" : ","}${JSON.stringify({ state, events: found.pathTo(state) ?? [] })}`
      first = false
    }
    yield "]}\n"
    return
  }
  const width = lifecycle.stateNames.reduce((w, s) => Math.max(w, s.length), 0) + 2
  yield `Shortest event sequence from "${lifecycle.initial}" to each state of "${lifecycle.name}":\n`
  for (const state of found.states) {
    const events = found.pathTo(state) ?? []
    yield `  ${state.padEnd(width)}${events.length === 0 ? "(initial)" : events.map(eventText).join(" → ")}\n`
  }
  const missing = lifecycle.stateNames.filter((s) => found.length(s) === undefined)
  if (missing.length > 0) yield `  (no path found to: ${missing.join(", ")})\n`
}

const paths = Command.make(
  "paths",
  {
    lifecycle: lifecycleArg,
    maxStates: Options.integer("max-states").pipe(
      Options.withPseudoName("N"),
      Options.withDefault(Paths.defaultMaxStates),
      Options.withDescription(
        `Refuse lifecycles with more states than this (default ${Paths.defaultMaxStates}): the output grows with states × path length`,
      ),
    ),
    json: jsonOption,
  },
  ({ lifecycle: path, maxStates, json }) =>
    Effect.gen(function* () {
      if (maxStates < 1) {
        return yield* new UsageError({ message: `--max-states must be at least 1, got ${maxStates}` })
      }
      const lifecycle = yield* Input.readValidLifecycle(path)
      const found = Paths.tree(lifecycle, { maxStates })
      if (Either.isLeft(found)) {
        const { states } = found.left
        return yield* new InputError({
          message: `lifecycle file ${path} has ${states} states, more than --max-states ${maxStates} allows: a path to every state can add up to states × path length events. Run again with --max-states ${states} to list them all.`,
        })
      }
      yield* Output.writeAll(pathLines(lifecycle, found.right, json))
    }),
).pipe(
  Command.withDescription(
    `The shortest event sequence that takes a new lead to each state (lifecycles of up to ${Paths.defaultMaxStates} states unless --max-states says more).`,
  ),
)

const simulate = Command.make(
  "simulate",
  {
    lifecycle: lifecycleArg,
    events: Args.file({ name: "events.jsonl" }).pipe(
      Args.withDescription('One event per line, e.g. {"lead":"L-1","type":"transition","to":"contacted"}'),
    ),
    adapter: Options.choice("adapter", vendors).pipe(
      Options.optional,
      Options.withDescription("Sync every accepted step through this adapter (needs --config)"),
    ),
    config: Options.file("config").pipe(
      Options.optional,
      Options.withDescription("The adapter's configuration (JSON); secrets are named environment variables"),
    ),
    dryRun: Options.boolean("dry-run").pipe(Options.withDescription("Print the vendor requests, send nothing")),
    baseUrl: Options.text("base-url").pipe(
      Options.withPseudoName("URL"),
      Options.optional,
      Options.withDescription("Send the requests to this vendor base URL (a fake server, a staging vendor)"),
    ),
    json: jsonOption,
  },
  (args) =>
    Effect.gen(function* () {
      const adapterChosen = Option.isSome(args.adapter) || Option.isSome(args.config)
      if (Option.isSome(args.adapter) && Option.isNone(args.config)) {
        return yield* new UsageError({ message: "--adapter needs --config <adapter.json> (see examples/adapters/)" })
      }
      if (!adapterChosen && (args.dryRun || Option.isSome(args.baseUrl))) {
        return yield* new UsageError({
          message: `${args.dryRun ? "--dry-run" : "--base-url"} needs an adapter: --adapter uservox|voxys|generic --config <adapter.json>`,
        })
      }
      if (args.dryRun && Option.isSome(args.baseUrl)) {
        return yield* new UsageError({ message: "--dry-run and --base-url exclude each other: plan, or send" })
      }
      if (adapterChosen && !args.dryRun && Option.isNone(args.baseUrl)) {
        return yield* new UsageError({
          message: "with an adapter, say --dry-run (print the requests) or --base-url URL (send them there)",
        })
      }
      if (Option.isSome(args.baseUrl) && !/^https?:\/\/[^/\s]+/.test(args.baseUrl.value)) {
        return yield* new UsageError({
          message: `--base-url must be an http(s) URL, got ${JSON.stringify(args.baseUrl.value)}`,
        })
      }
      const lifecycle = yield* Input.readValidLifecycle(args.lifecycle)
      const lines = yield* Input.readEvents(args.events)
      const progress = lines.length > progressThreshold && process.stderr.isTTY === true
      const Simulate = yield* load.simulate
      if (Option.isNone(args.config)) {
        const summary = yield* Simulate.run({ lifecycle, lines, vendor: undefined, json: args.json, progress })
        if (summary.rejected > 0) return yield* new Failed({ message: "" })
        return
      }
      const configPath = args.config.value
      const [AdapterConfig, Http] = yield* Effect.all([load.adapterConfig, load.http])
      const decoded = AdapterConfig.decode(
        yield* Input.readJson(configPath, "adapter config"),
        configPath,
        Option.getOrUndefined(args.adapter),
      )
      if (Either.isLeft(decoded)) return yield* decoded.left
      let retries = 0
      const recorder = Http.recorder()
      const mode = args.dryRun ? "dry-run" : "send"
      const client: Layer.Layer<HttpClient.HttpClient> = mode === "dry-run" ? Http.dryRunLayer : recorder.layer
      const summary = yield* Effect.gen(function* () {
        const adapter = yield* AdapterConfig.build(decoded.right, {
          lifecycle,
          path: configPath,
          baseUrl: Option.getOrUndefined(args.baseUrl),
          dryRun: args.dryRun,
          onRetry: () =>
            Effect.sync(() => {
              retries++
            }),
        })
        return yield* Simulate.run({
          lifecycle,
          lines,
          vendor: { adapter, mode, takeExchanges: recorder.take, retries: () => retries },
          json: args.json,
          progress,
        })
      }).pipe(Effect.scoped, Effect.provide(client))
      if (summary.rejected > 0 || summary.vendorErrors > 0) return yield* new Failed({ message: "" })
    }),
).pipe(
  Command.withDescription(
    "Apply an events file in order, one line per step; with an adapter, plan (--dry-run) or send (--base-url) the vendor requests.",
  ),
)

const serveFake = Command.make(
  "serve-fake",
  {
    vendor: Args.choice(
      vendors.map((v) => [v, v] as [string, Vendor]),
      { name: "vendor" },
    ).pipe(Args.withDescription("uservox, voxys or generic")),
    port: Options.integer("port").pipe(
      Options.withPseudoName("N"),
      Options.optional,
      Options.withDescription("Listen on this port (default: a free one)"),
    ),
    config: Options.file("config").pipe(
      Options.optional,
      Options.withDescription("Take the ids, state names and credential variable from this adapter config"),
    ),
  },
  (args) =>
    Effect.gen(function* () {
      const [AdapterConfig, ServeFake] = yield* Effect.all([load.adapterConfig, load.serveFake])
      let config: ServeOptions["config"]
      if (Option.isSome(args.config)) {
        const path = args.config.value
        const decoded = AdapterConfig.decode(yield* Input.readJson(path, "adapter config"), path, args.vendor)
        if (Either.isLeft(decoded)) return yield* decoded.left
        config = { adapter: decoded.right, path }
      }
      return yield* ServeFake.serve({ vendor: args.vendor, port: Option.getOrUndefined(args.port), config }).pipe(
        Effect.scoped,
      )
    }),
).pipe(
  Command.withDescription("Start a fake vendor server on 127.0.0.1 to try the adapters by hand (Ctrl-C stops it)."),
)

const root = Command.make("leadstate", {}, () =>
  Effect.fail(
    new UsageError({
      message: "missing command: validate, diagram, paths, simulate or serve-fake (leadstate --help shows them all)",
    }),
  ),
).pipe(
  Command.withDescription(
    "Lead lifecycles as data: validate, draw, explore and simulate them, through any CRM adapter.",
  ),
  Command.withSubcommands([validate, diagram, paths, simulate, serveFake]),
)

const cli = Command.run(root, { name: "leadstate", version })

const report = (error: CliError) => (error.message === "" ? Effect.void : Console.error(`leadstate: ${error.message}`))

/**
 * Runs the command line `argv` (as `process.argv`: runtime and script first) and returns its
 * exit code. Failures are printed as one message on stderr, never as a stack trace.
 */
export const main = (argv: ReadonlyArray<string>) =>
  cli(argv).pipe(
    Effect.as(0),
    Effect.catchAll((error) =>
      ValidationError.isValidationError(error)
        ? Effect.succeed(2) // @effect/cli has printed what is wrong with the command line
        : Effect.as(report(error), exitCode(error)),
    ),
    Effect.catchAllDefect((defect) =>
      Effect.as(
        Console.error(
          `leadstate: unexpected failure (please report it): ${defect instanceof Error ? defect.message : Cause.pretty(Cause.die(defect)).split("\n")[0]}`,
        ),
        1,
      ),
    ),
  )
