/**
 * Maps a lifecycle's states (and dispositions) to a vendor's vocabulary, checked against the
 * lifecycle when an adapter layer is built: an unmapped state is a start-up error naming it,
 * never a surprise at run time. A many-to-one map (several states to one vendor status) needs
 * a declared reverse for inbound data.
 *
 * @since 0.1.0
 */
import { Either, Schema } from "effect"
import type { Lifecycle } from "./Lifecycle.js"

/** How an application maps its lifecycle onto one vendor. */
export interface StateMapConfig {
  /** Lifecycle state -> vendor state/status. Every state must be mapped. */
  readonly states: Readonly<Record<string, string>>
  /** Lifecycle disposition -> vendor disposition; unmapped dispositions pass through unchanged. */
  readonly dispositions?: Readonly<Record<string, string>>
  /** Vendor value -> lifecycle state, for values several states map to (inbound data). */
  readonly reverse?: Readonly<Record<string, string>>
}

/** A state map that passed its checks. */
export interface StateMap {
  readonly vendor: string
  /** The vendor's value for a lifecycle state (total over the lifecycle's states). */
  readonly toVendor: (state: string) => string
  /** The lifecycle state for a vendor value, or undefined for a value nothing maps to. */
  readonly fromVendor: (value: string) => string | undefined
  /** The vendor's disposition for a lifecycle disposition. */
  readonly dispositionToVendor: (disposition: string) => string
  /** The lifecycle disposition for a vendor disposition (identity when unmapped). */
  readonly dispositionFromVendor: (disposition: string) => string
  /** Vendor values that several lifecycle states share (lossy when read back). */
  readonly lossy: ReadonlyArray<string>
}

/** The state map does not fit the lifecycle or the vendor; `problems` lists every defect. */
export class InvalidStateMap extends Schema.TaggedError<InvalidStateMap>()("InvalidStateMap", {
  vendor: Schema.String,
  lifecycle: Schema.String,
  problems: Schema.NonEmptyArray(Schema.String),
}) {
  override get message(): string {
    return [
      `The ${this.vendor} state map does not fit lifecycle "${this.lifecycle}":`,
      ...this.problems.map((p) => `  - ${p}`),
    ].join("\n")
  }
}

/** Options for {@link make}. */
export interface MakeOptions {
  readonly vendor: string
  /** The vendor's closed vocabulary, when it has one (e.g. Voxys open|won|lost|snoozed). */
  readonly vocabulary?: ReadonlyArray<string>
  /** True when the adapter reads states back or receives them by webhook: reverse must be total. */
  readonly inbound: boolean
}

/**
 * Checks `config` against `lifecycle` and builds the map.
 *
 * @example
 * StateMap.make(lifecycle, { states: { new: "open", contacted: "open", converted: "won", lost: "lost" },
 *   reverse: { open: "contacted" } }, { vendor: "voxys", vocabulary: ["open", "won", "lost", "snoozed"], inbound: true })
 */
export const make = (
  lifecycle: Lifecycle,
  config: StateMapConfig,
  options: MakeOptions,
): Either.Either<StateMap, InvalidStateMap> => {
  const problems: Array<string> = []
  const vocabulary = options.vocabulary === undefined ? undefined : new Set(options.vocabulary)
  const vocabText = options.vocabulary?.join(", ") ?? ""
  const sources = new Map<string, Array<string>>()
  // Own keys only: a state named "constructor" must not find Object.prototype.constructor.
  const own = (record: Readonly<Record<string, string>> | undefined, key: string): string | undefined =>
    record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined
  for (const state of lifecycle.stateNames) {
    const value = own(config.states, state)
    if (value === undefined) {
      problems.push(`state "${state}" is not mapped. Add "${state}" to states with its ${options.vendor} value.`)
      continue
    }
    if (vocabulary !== undefined && !vocabulary.has(value)) {
      problems.push(
        `state "${state}" maps to "${value}", which ${options.vendor} does not know. Use one of: ${vocabText}.`,
      )
    }
    sources.set(value, [...(sources.get(value) ?? []), state])
  }
  for (const key of Object.keys(config.states)) {
    if (!lifecycle.states.has(key)) {
      problems.push(`"${key}" in states is not a state of lifecycle "${lifecycle.name}". Remove it or fix its name.`)
    }
  }
  const reverse = new Map<string, string>()
  for (const [value, states] of sources) {
    const declared = own(config.reverse, value)
    if (declared !== undefined) {
      if (!states.includes(declared)) {
        problems.push(
          `reverse maps "${value}" to "${declared}", but "${declared}" does not map to "${value}". Use one of: ${states.join(", ")}.`,
        )
      } else reverse.set(value, declared)
    } else if (states.length === 1 && states[0] !== undefined) {
      reverse.set(value, states[0])
    } else if (options.inbound) {
      problems.push(
        `${options.vendor} value "${value}" stands for several states (${states.join(", ")}); declare reverse["${value}"] so inbound data can be read.`,
      )
    }
  }
  for (const value of Object.keys(config.reverse ?? {})) {
    if (!sources.has(value)) problems.push(`reverse has "${value}", but no state maps to it. Remove it.`)
  }
  const allDispositions = new Set<string>()
  for (const s of lifecycle.states.values()) for (const d of s.dispositions?.list ?? []) allDispositions.add(d)
  for (const d of Object.keys(config.dispositions ?? {})) {
    if (!allDispositions.has(d))
      problems.push(
        `disposition "${d}" is not a disposition of lifecycle "${lifecycle.name}". Remove it or fix its name.`,
      )
  }
  const [first, ...rest] = problems
  if (first !== undefined) {
    return Either.left(
      new InvalidStateMap({ vendor: options.vendor, lifecycle: lifecycle.name, problems: [first, ...rest] }),
    )
  }
  const states = new Map(Object.entries(config.states))
  const dispositionsOut = new Map(Object.entries(config.dispositions ?? {}))
  const dispositionsIn = new Map<string, string>()
  for (const [ours, theirs] of dispositionsOut) if (!dispositionsIn.has(theirs)) dispositionsIn.set(theirs, ours)
  return Either.right({
    vendor: options.vendor,
    toVendor: (state) => states.get(state) ?? state,
    fromVendor: (value) => reverse.get(value),
    dispositionToVendor: (d) => dispositionsOut.get(d) ?? d,
    dispositionFromVendor: (d) => dispositionsIn.get(d) ?? d,
    lossy: [...sources].filter(([, states]) => states.length > 1).map(([value]) => value),
  })
}
