/**
 * @leadstate/cli: the `leadstate` command. Run it as `leadstate <command>`; `main` runs it
 * programmatically on an argv and returns the exit code.
 *
 * @since 0.1.0
 */
export * as AdapterConfig from "./AdapterConfig.js"
export { main, progressThreshold, version } from "./Cli.js"
export * as CliError from "./CliError.js"
export * as Input from "./Input.js"
export * as Simulate from "./Simulate.js"
