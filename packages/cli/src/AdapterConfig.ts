/**
 * Adapter configuration files for `simulate --adapter … --config …` and `serve-fake --config`:
 * the state map and the vendor's ids as data, and the *names* of the environment variables
 * that hold the secrets (never the secrets themselves).
 *
 * @since 0.1.0
 */
import type { HttpClient } from "@effect/platform"
import { GenericAdapter } from "@leadstate/adapter-generic"
import { UservoxAdapter } from "@leadstate/adapter-uservox"
import { VoxysAdapter } from "@leadstate/adapter-voxys"
import { type CrmAdapter, type Lifecycle, RetryPolicy } from "@leadstate/core"
import { Config, Effect, Either, Option, ParseResult, Redacted, Schema, type Scope } from "effect"
import { InputError, UsageError } from "./CliError.js"
import { type Vendor, vendors } from "./Vendor.js"

export { type Vendor, vendors } from "./Vendor.js"

const opt = <S extends Schema.Schema.All>(schema: S) => Schema.optionalWith(schema, { exact: true })

const Names = Schema.Record({ key: Schema.String, value: Schema.String })

/** A state map, as `StateMap.StateMapConfig`. */
export const StateMapConfig = Schema.Struct({ states: Names, dispositions: opt(Names), reverse: opt(Names) })

/** The name of an environment variable. The message never repeats the value (it may be a pasted secret). */
const EnvName = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z_][A-Za-z0-9_]*$/),
  Schema.annotations({
    message: () => "must be the NAME of an environment variable (letters, digits and _), not a secret",
  }),
)

const Retry = Schema.Struct({
  maxAttempts: opt(Schema.Int.pipe(Schema.positive())),
  baseDelayMs: opt(Schema.NonNegative),
  maxDelayMs: opt(Schema.NonNegative),
  budgetMs: opt(Schema.NonNegative),
  requestTimeoutMs: opt(Schema.Positive),
  jitter: opt(Schema.Number.pipe(Schema.between(0, 1))),
})

export const GenericConfig = Schema.Struct({
  adapter: opt(Schema.Literal("generic")),
  stateMap: StateMapConfig,
  baseUrl: opt(Schema.String),
  apiKeyEnv: EnvName,
  chatbotId: opt(Schema.String),
  paths: opt(Schema.Struct({ create: opt(Schema.String), lead: opt(Schema.String), list: opt(Schema.String) })),
  statuses: opt(Schema.Array(Schema.String)),
  contactFields: opt(
    Schema.Struct({
      name: opt(Schema.String),
      email: opt(Schema.String),
      phone: opt(Schema.String),
      source: opt(Schema.String),
    }),
  ),
  webhookSecretEnv: opt(EnvName),
  retry: opt(Retry),
})
export type GenericConfig = typeof GenericConfig.Type

export const UservoxConfig = Schema.Struct({
  adapter: opt(Schema.Literal("uservox")),
  stateMap: StateMapConfig,
  baseUrl: opt(Schema.String),
  apiTokenEnv: EnvName,
  projectId: Schema.String,
  processId: Schema.String,
  addressBy: opt(Schema.Literal("referenceId", "leadId")),
  init: opt(Schema.Boolean),
  contactFields: opt(
    Schema.Struct({
      name: opt(Schema.String),
      firstName: opt(Schema.String),
      lastName: opt(Schema.String),
      phone: opt(Schema.String),
      email: opt(Schema.String),
    }),
  ),
  webhookBearerEnv: opt(EnvName),
  retry: opt(Retry),
})
export type UservoxConfig = typeof UservoxConfig.Type

export const VoxysConfig = Schema.Struct({
  adapter: opt(Schema.Literal("voxys")),
  stateMap: StateMapConfig,
  baseUrl: opt(Schema.String),
  accountId: Schema.Int.pipe(Schema.positive()),
  apiAccessTokenEnv: EnvName,
  contactFields: opt(
    Schema.Struct({ name: opt(Schema.String), value: opt(Schema.String), currency: opt(Schema.String) }),
  ),
  convert: opt(
    Schema.Struct({
      state: Schema.String,
      funnelId: Schema.Int.pipe(Schema.positive()),
      funnelStageId: opt(Schema.Int.pipe(Schema.positive())),
    }),
  ),
  retry: opt(Retry),
})
export type VoxysConfig = typeof VoxysConfig.Type

/** A decoded configuration, with its vendor. */
export type AdapterConfig =
  | { readonly vendor: "generic"; readonly config: GenericConfig }
  | { readonly vendor: "uservox"; readonly config: UservoxConfig }
  | { readonly vendor: "voxys"; readonly config: VoxysConfig }

/** The environment variable holding a vendor's API credential, and the config field naming it. */
export const credentialEnv = (c: AdapterConfig): { readonly field: string; readonly name: string } =>
  c.vendor === "generic"
    ? { field: "apiKeyEnv", name: c.config.apiKeyEnv }
    : c.vendor === "uservox"
      ? { field: "apiTokenEnv", name: c.config.apiTokenEnv }
      : { field: "apiAccessTokenEnv", name: c.config.apiAccessTokenEnv }

const secretFields = ["apiKey", "apiToken", "apiAccessToken", "token", "secret", "webhookSecret", "password"]

const problems = (error: ParseResult.ParseError): ReadonlyArray<string> =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .slice(0, 8)
    .map((issue) => {
      const path = issue.path.map(String).join(".")
      const message = issue._tag === "Unexpected" ? "is not a known setting" : issue.message
      return `${path === "" ? "(root)" : path}: ${message}`
    })

/**
 * Decodes a configuration for `vendor` (from `--adapter`, or the file's own `"adapter"`). Every
 * problem is reported at once, with its path; a secret pasted into the file is refused by name.
 */
export const decode = (
  json: unknown,
  path: string,
  vendor: Vendor | undefined,
): Either.Either<AdapterConfig, InputError | UsageError> => {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return Either.left(new InputError({ message: `adapter config ${path} must be a JSON object` }))
  }
  const record = json as Record<string, unknown>
  const pasted = secretFields.filter((f) => f in record)
  if (pasted.length > 0) {
    return Either.left(
      new InputError({
        message: `adapter config ${path} has ${pasted.map((f) => `"${f}"`).join(", ")}: secrets never go in a file. Put the secret in an environment variable and name it (e.g. "apiKeyEnv": "GENERIC_API_KEY").`,
      }),
    )
  }
  const declared = record.adapter
  const chosen = vendor ?? (typeof declared === "string" ? declared : undefined)
  if (chosen === undefined) {
    return Either.left(new UsageError({ message: `which adapter is ${path} for? Pass --adapter ${vendors.join("|")}` }))
  }
  if (declared !== undefined && declared !== chosen) {
    return Either.left(
      new UsageError({
        message: `--adapter ${chosen} does not match ${path}, which says "adapter": ${JSON.stringify(declared)}`,
      }),
    )
  }
  const options = { errors: "all", onExcessProperty: "error" } as const
  const wrap = (e: ParseResult.ParseError) =>
    new InputError({
      message: `adapter config ${path} is not a ${chosen} configuration:\n${problems(e)
        .map((p) => `  - ${p}`)
        .join("\n")}`,
    })
  switch (chosen) {
    case "generic":
      return Either.mapBoth(Schema.decodeUnknownEither(GenericConfig, options)(json), {
        onLeft: wrap,
        onRight: (config): AdapterConfig => ({ vendor: "generic", config }),
      })
    case "uservox":
      return Either.mapBoth(Schema.decodeUnknownEither(UservoxConfig, options)(json), {
        onLeft: wrap,
        onRight: (config): AdapterConfig => ({ vendor: "uservox", config }),
      })
    case "voxys":
      return Either.mapBoth(Schema.decodeUnknownEither(VoxysConfig, options)(json), {
        onLeft: wrap,
        onRight: (config): AdapterConfig => ({ vendor: "voxys", config }),
      })
    default:
      return Either.left(
        new UsageError({ message: `unknown adapter ${JSON.stringify(chosen)}; expected one of ${vendors.join(", ")}` }),
      )
  }
}

/**
 * Reads the secret named by a config field from the environment. In a dry run an unset
 * variable is fine (the plan shows `<redacted>` anyway): a placeholder is used.
 */
export const secret = (
  name: string,
  field: string,
  path: string,
  dryRun: boolean,
): Effect.Effect<Redacted.Redacted<string>, UsageError> =>
  Config.option(Config.redacted(name)).pipe(
    Effect.orElseSucceed(() => Option.none<Redacted.Redacted<string>>()),
    Effect.flatMap((value) =>
      Option.match(
        Option.filter(value, (r) => Redacted.value(r) !== ""),
        {
          onSome: Effect.succeed,
          onNone: () =>
            dryRun
              ? Effect.succeed(Redacted.make("dry-run-placeholder"))
              : Effect.fail(
                  new UsageError({
                    message: `the environment variable ${name} (named by "${field}" in ${path}) is not set; export it with the ${field === "webhookBearerEnv" || field === "webhookSecretEnv" ? "webhook secret" : "API credential"} and run again`,
                  }),
                ),
        },
      ),
    ),
  )

/** What `simulate` uses of an adapter. */
export interface BuiltAdapter {
  readonly vendor: Vendor
  readonly service: CrmAdapter.CrmAdapterService
  /** Secret values, to scrub from every line printed. */
  readonly secrets: ReadonlyArray<string>
  /** The base URL requests go to. */
  readonly baseUrl: string
  /** In a dry run, a made-up vendor id for the n-th lead (the vendor would assign one). */
  readonly placeholderId: (n: number) => string
}

/** Options of {@link build}. */
export interface BuildOptions {
  readonly lifecycle: Lifecycle.Lifecycle
  readonly path: string
  /** `--base-url`: overrides the config's. */
  readonly baseUrl: string | undefined
  readonly dryRun: boolean
  readonly onRetry: RetryPolicy.OnRetry
}

const policyOf = (retry: typeof Retry.Type | undefined): RetryPolicy.RetryPolicy => ({
  ...RetryPolicy.defaults,
  ...retry,
})

const reveal = (r: Redacted.Redacted<string>): string => Redacted.value(r)

/** Builds the adapter a configuration describes. A state map that does not fit the lifecycle is an `InputError`. */
export const build = (
  adapter: AdapterConfig,
  options: BuildOptions,
): Effect.Effect<BuiltAdapter, UsageError | InputError, HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function* () {
    const { lifecycle, path, dryRun, onRetry } = options
    const badMap = (e: { readonly message: string }) =>
      new InputError({ message: `adapter config ${path}: ${e.message}` })
    switch (adapter.vendor) {
      case "generic": {
        const c = adapter.config
        const baseUrl = options.baseUrl ?? c.baseUrl ?? "https://your-domain.example"
        const apiKey = yield* secret(c.apiKeyEnv, "apiKeyEnv", path, dryRun)
        const webhookSecret =
          c.webhookSecretEnv === undefined
            ? undefined
            : yield* secret(c.webhookSecretEnv, "webhookSecretEnv", path, dryRun)
        const service = yield* GenericAdapter.make({
          lifecycle,
          stateMap: c.stateMap,
          baseUrl,
          apiKey,
          retry: policyOf(c.retry),
          onRetry,
          ...(c.chatbotId === undefined ? {} : { chatbotId: c.chatbotId }),
          ...(c.paths === undefined ? {} : { paths: c.paths }),
          ...(c.statuses === undefined ? {} : { statuses: c.statuses }),
          ...(c.contactFields === undefined ? {} : { contactFields: c.contactFields }),
          ...(webhookSecret === undefined ? {} : { webhookSecret }),
        }).pipe(Effect.mapError(badMap))
        return {
          vendor: "generic",
          service,
          secrets: [apiKey, ...(webhookSecret === undefined ? [] : [webhookSecret])].map(reveal),
          baseUrl,
          placeholderId: (n) => `lead_dryrun${String(n).padStart(4, "0")}`,
        }
      }
      case "uservox": {
        const c = adapter.config
        const baseUrl = options.baseUrl ?? c.baseUrl ?? "https://crm.uservox.ai/api/v1"
        const apiToken = yield* secret(c.apiTokenEnv, "apiTokenEnv", path, dryRun)
        const bearer =
          c.webhookBearerEnv === undefined
            ? Redacted.make(crypto.randomUUID())
            : yield* secret(c.webhookBearerEnv, "webhookBearerEnv", path, dryRun)
        const service = yield* UservoxAdapter.make({
          lifecycle,
          stateMap: c.stateMap,
          baseUrl,
          apiToken,
          projectId: c.projectId,
          processId: c.processId,
          webhookAuth: { bearer },
          retry: policyOf(c.retry),
          onRetry,
          ...(c.addressBy === undefined ? {} : { addressBy: c.addressBy }),
          ...(c.init === undefined ? {} : { init: c.init }),
          ...(c.contactFields === undefined ? {} : { contactFields: c.contactFields }),
        }).pipe(Effect.mapError(badMap))
        return {
          vendor: "uservox",
          service,
          secrets: [apiToken, bearer].map(reveal),
          baseUrl,
          placeholderId: (n) => `6650dddd0000${String(n).padStart(12, "0")}`,
        }
      }
      case "voxys": {
        const c = adapter.config
        const baseUrl = options.baseUrl ?? c.baseUrl ?? VoxysAdapter.defaultBaseUrl
        const apiAccessToken = yield* secret(c.apiAccessTokenEnv, "apiAccessTokenEnv", path, dryRun)
        const service = yield* VoxysAdapter.make({
          lifecycle,
          stateMap: c.stateMap,
          baseUrl,
          accountId: c.accountId,
          apiAccessToken,
          retry: policyOf(c.retry),
          onRetry,
          ...(c.contactFields === undefined ? {} : { contactFields: c.contactFields }),
          ...(c.convert === undefined ? {} : { convert: c.convert }),
        }).pipe(Effect.mapError(badMap))
        return {
          vendor: "voxys",
          service,
          secrets: [reveal(apiAccessToken)],
          baseUrl,
          placeholderId: (n) => String(n),
        }
      }
    }
  })
