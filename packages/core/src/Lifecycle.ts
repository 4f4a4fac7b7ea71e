/**
 * A validated, compiled lifecycle: the definition, its transition table, and (built on first
 * use) the XState machine generated from the same definition.
 *
 * @example
 * import { Either } from "effect"
 * import * as Lifecycle from "@leadstate/core/Lifecycle"
 *
 * const lifecycle = Either.getOrThrow(Lifecycle.make(json)) // or `yield* Lifecycle.make(json)` in Effect.gen
 *
 * @since 0.1.0
 */
import { Either, ParseResult, Schema } from "effect"
import { InvalidLifecycle, type LifecycleProblem } from "./InvalidLifecycle.js"
import { type CompiledLifecycle, type CompiledState, compile } from "./internal/compile.js"
import { buildMachine, type LeadMachine } from "./internal/machine.js"
import { LifecycleDefinition } from "./LifecycleDefinition.js"

export type { CompiledState } from "./internal/compile.js"
export type { LeadMachine, LeadMachineContext } from "./internal/machine.js"

/** Options for {@link make}. */
export interface MakeOptions {
  /** Keep at most this many history entries per snapshot (oldest dropped). Default: all. */
  readonly historyLimit?: number
}

/** A lifecycle that passed validation, ready to run. */
export interface Lifecycle {
  readonly name: string
  readonly definition: LifecycleDefinition
  readonly initial: string
  readonly stateNames: ReadonlyArray<string>
  readonly states: ReadonlyMap<string, CompiledState>
  readonly snoozeState: string | undefined
  readonly snoozeDefaultMs: number | undefined
  readonly followUpIntervalMs: number | undefined
  readonly historyLimit: number
  /** The XState machine for the same rules (built on first access). */
  readonly machine: LeadMachine
}

class LifecycleImpl implements Lifecycle {
  readonly name: string
  readonly initial: string
  readonly stateNames: ReadonlyArray<string>
  readonly states: ReadonlyMap<string, CompiledState>
  readonly snoozeState: string | undefined
  readonly snoozeDefaultMs: number | undefined
  readonly followUpIntervalMs: number | undefined
  #machine: LeadMachine | undefined
  constructor(
    readonly definition: LifecycleDefinition,
    compiled: CompiledLifecycle,
    readonly historyLimit: number,
  ) {
    this.name = definition.name
    this.initial = definition.initial
    this.stateNames = compiled.stateNames
    this.states = compiled.states
    this.snoozeState = compiled.snoozeState
    this.snoozeDefaultMs = compiled.snoozeDefaultMs
    this.followUpIntervalMs = compiled.followUpIntervalMs
  }
  get machine(): LeadMachine {
    if (this.#machine === undefined) this.#machine = buildMachine(this)
    return this.#machine
  }
}

const decodeDefinition = Schema.decodeUnknownEither(LifecycleDefinition, { errors: "all", onExcessProperty: "error" })

const shapeProblems = (error: ParseResult.ParseError): Array<LifecycleProblem> =>
  ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
    code: "Shape" as const,
    path: issue.path.reduce<string>(
      (acc, key) => (typeof key === "number" ? `${acc}[${key}]` : acc === "" ? String(key) : `${acc}.${String(key)}`),
      "",
    ),
    message: issue.message,
  }))

const nameOf = (input: unknown): string => {
  const name = typeof input === "object" && input !== null ? (input as { readonly name?: unknown }).name : undefined
  return typeof name === "string" ? name : "(unnamed)"
}

/**
 * Validates a definition (any JSON value) and compiles it. Every problem is reported at once,
 * each with its path; a definition with problems yields `InvalidLifecycle`.
 */
export const make = (input: unknown, options: MakeOptions = {}): Either.Either<Lifecycle, InvalidLifecycle> => {
  const decoded = decodeDefinition(input)
  if (Either.isLeft(decoded)) {
    const [first, ...rest] = shapeProblems(decoded.left)
    const problems: readonly [LifecycleProblem, ...Array<LifecycleProblem>] =
      first === undefined
        ? [{ code: "Shape", path: "", message: "The definition does not have the lifecycle shape." }]
        : [first, ...rest]
    return Either.left(new InvalidLifecycle({ name: nameOf(input), problems }))
  }
  const definition = decoded.right
  const { compiled, problems } = compile(definition)
  const [first, ...rest] = problems
  if (first !== undefined)
    return Either.left(new InvalidLifecycle({ name: definition.name, problems: [first, ...rest] }))
  return Either.right(new LifecycleImpl(definition, compiled, options.historyLimit ?? Number.POSITIVE_INFINITY))
}

/** Like {@link make}, but throws `InvalidLifecycle`; for definitions known good at build time. */
export const unsafeMake = (input: unknown, options?: MakeOptions): Lifecycle =>
  Either.getOrThrowWith(make(input, options), (e) => e)

/** True when `state` is final in this lifecycle. */
export const isFinal = (lifecycle: Lifecycle, state: string): boolean => lifecycle.states.get(state)?.final === true
