/**
 * A throwaway PostgreSQL server for tests and benchmarks: initdb into a fresh temporary
 * directory, start it on a free 127.0.0.1 port, remove everything on `stop()`. Plain Promise
 * API on node:child_process (usable from a vitest globalSetup and from scripts).
 *
 * @since 0.1.0
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { rm } from "node:fs/promises"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { delimiter, join } from "node:path"

/**
 * Options for {@link startPostgres}.
 *
 * @since 0.1.0
 */
export interface StartPostgresOptions {
  /** Directory holding `initdb`, `pg_ctl` and `postgres`; discovered when omitted. */
  readonly binDir?: string
  /** Install Debian's `postgresql` package when no server is found and we are root with apt-get (default true). */
  readonly install?: boolean
  /** Extra `-c name=value` server settings. */
  readonly settings?: Readonly<Record<string, string | number>>
}

/**
 * A running throwaway server: `url` connects as the superuser `postgres` (trust auth) to the
 * `postgres` database; `stop()` kills the server and deletes its directory (idempotent).
 *
 * @since 0.1.0
 */
export interface PostgresServer {
  readonly url: string
  readonly stop: () => Promise<void>
}

/**
 * The environment variable naming a server of your own to test against instead of a throwaway
 * one (its user needs CREATEDB).
 *
 * @since 0.1.0
 */
export const PG_URL_ENV = "LEADSTATE_PG_URL"

/**
 * `LEADSTATE_PG_URL` when set and non-empty.
 *
 * @since 0.1.0
 */
export const pgUrlFromEnv = (env: NodeJS.ProcessEnv = process.env): string | undefined => {
  const url = env[PG_URL_ENV]?.trim()
  return url === undefined || url === "" ? undefined : url
}

const isServerBinDir = (dir: string): boolean =>
  ["initdb", "pg_ctl", "postgres"].every((bin) => existsSync(join(dir, bin)))

const tryExec = (file: string, args: ReadonlyArray<string>): string | undefined => {
  try {
    return execFileSync(file, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()
  } catch {
    return undefined
  }
}

/**
 * The directory of the PostgreSQL server binaries: `pg_config --bindir`, else the highest
 * `/usr/lib/postgresql/<version>/bin`, else `initdb` on the PATH; `undefined` when none has
 * `initdb`, `pg_ctl` and `postgres`.
 *
 * @since 0.1.0
 */
export const findPostgresBinDir = (): string | undefined => {
  const fromPgConfig = tryExec("pg_config", ["--bindir"])
  if (fromPgConfig !== undefined && isServerBinDir(fromPgConfig)) return fromPgConfig
  const root = "/usr/lib/postgresql"
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a))
    for (const v of versions) if (isServerBinDir(join(root, v, "bin"))) return join(root, v, "bin")
  }
  for (const dir of (process.env.PATH ?? "").split(delimiter)) if (dir !== "" && isServerBinDir(dir)) return dir
  return undefined
}

const isRoot = (): boolean => process.getuid?.() === 0

const hasAptGet = (): boolean => tryExec("sh", ["-c", "command -v apt-get"]) !== undefined

const notFoundMessage = (why: string): string =>
  [
    "No PostgreSQL server binaries (initdb, pg_ctl, postgres) found in `pg_config --bindir`, /usr/lib/postgresql/*/bin or the PATH;",
    `${why}.`,
    "Install them (Debian/Ubuntu: `sudo apt-get install postgresql`; macOS: `brew install postgresql`),",
    `or set ${PG_URL_ENV}=postgres://user:password@host:5432/postgres to test against a server of your own (its user needs CREATEDB).`,
  ].join(" ")

const run = (
  file: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd?: string; readonly env?: NodeJS.ProcessEnv } = {},
): Promise<{ readonly code: number; readonly output: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: ["ignore", "pipe", "pipe"],
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      ...(options.env === undefined ? {} : { env: options.env }),
    })
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.on("error", reject)
    child.on("close", (code) => resolve({ code: code ?? 1, output }))
  })

const mustRun = async (
  file: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd?: string; readonly env?: NodeJS.ProcessEnv } = {},
): Promise<string> => {
  const { code, output } = await run(file, args, options)
  if (code !== 0) throw new Error(`${[file, ...args].join(" ")} exited with ${code}:\n${output.trim()}`)
  return output
}

const installDebianPostgres = async (): Promise<void> => {
  console.log("[leadstate] no PostgreSQL server found: installing Debian's postgresql package (apt-get)")
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
  const install = ["install", "-y", "-qq", "--no-install-recommends", "postgresql"]
  if ((await run("apt-get", install, { env })).code === 0) return
  await mustRun("apt-get", ["update", "-qq"], { env })
  await mustRun("apt-get", install, { env })
}

const resolveBinDir = async (options: StartPostgresOptions): Promise<string> => {
  if (options.binDir !== undefined) {
    if (!isServerBinDir(options.binDir)) throw new Error(`${options.binDir} lacks initdb, pg_ctl or postgres`)
    return options.binDir
  }
  const found = findPostgresBinDir()
  if (found !== undefined) return found
  if (options.install === false) throw new Error(notFoundMessage("installing them was disabled (install: false)"))
  if (!isRoot()) throw new Error(notFoundMessage("not root, so not installing them"))
  if (!hasAptGet()) throw new Error(notFoundMessage("apt-get is not available to install them"))
  try {
    await installDebianPostgres()
  } catch (error) {
    throw new Error(notFoundMessage(`installing Debian's postgresql package failed: ${String(error)}`))
  }
  const installed = findPostgresBinDir()
  if (installed !== undefined) return installed
  throw new Error(
    notFoundMessage("Debian's postgresql package was installed but its server binaries are still missing"),
  )
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("could not find a free port"))))
    })
  })

/** postgres refuses to run as root: run its tools as the `postgres` OS user then. */
const ensurePostgresUser = async (): Promise<void> => {
  if ((await run("id", ["-u", "postgres"])).code === 0) return
  await mustRun("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "postgres"])
}

const shellQuote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`

/**
 * Starts a throwaway PostgreSQL server (the binaries are discovered, and installed from
 * Debian's `postgresql` package when missing and running as root with apt-get). Tuned for
 * tests: no fsync, trust auth, locale C, UTC, max_connections 200. The server is also stopped,
 * best effort, when this process exits or is killed.
 *
 * @since 0.1.0
 */
export const startPostgres = async (options: StartPostgresOptions = {}): Promise<PostgresServer> => {
  const binDir = await resolveBinDir(options)
  const root = isRoot()
  if (root) await ensurePostgresUser()
  // As root, use /tmp: a TMPDIR under /root would not be reachable by the postgres user.
  const base = mkdtempSync(join(root ? "/tmp" : tmpdir(), "leadstate-pg-"))
  const data = join(base, "data")
  const log = join(base, "server.log")
  const env = { ...process.env, TZ: "UTC", LC_ALL: "C", LANG: "C" }
  const asServerUser = (bin: string, args: ReadonlyArray<string>) =>
    root
      ? mustRun("runuser", ["-u", "postgres", "--", join(binDir, bin), ...args], { cwd: base, env })
      : mustRun(join(binDir, bin), args, { cwd: base, env })
  const pgCtlStopArgs = ["stop", "-D", data, "-m", "immediate", "-w", "-t", "30"]

  let stopped = false
  let watchdog: ChildProcess | undefined
  const pgCtlStop = [...(root ? ["runuser", "-u", "postgres", "--"] : []), join(binDir, "pg_ctl"), ...pgCtlStopArgs]
  const beginStop = (): boolean => {
    if (stopped) return false
    stopped = true
    removeExitHooks()
    if (watchdog?.pid !== undefined) {
      try {
        process.kill(-watchdog.pid, "SIGKILL")
      } catch {
        // already gone
      }
    }
    return true
  }
  const [pgCtlFile = "", ...pgCtlArgs] = pgCtlStop
  const stopSync = () => {
    if (!beginStop()) return
    try {
      execFileSync(pgCtlFile, pgCtlArgs, { stdio: "ignore", cwd: base })
    } catch {
      // not running
    }
    rmSync(base, { recursive: true, force: true })
  }
  const stop = async () => {
    if (!beginStop()) return
    await run(pgCtlFile, pgCtlArgs, { cwd: base })
    await rm(base, { recursive: true, force: true })
  }
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const
  const onSignal = (signal: NodeJS.Signals) => {
    stopSync()
    // Re-raise with the default behaviour when nobody else handles it.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
  }
  const removeExitHooks = () => {
    process.off("exit", stopSync)
    for (const signal of signals) process.off(signal, onSignal)
  }
  process.on("exit", stopSync)
  for (const signal of signals) process.once(signal, onSignal)

  try {
    if (root) await mustRun("chown", ["-R", "postgres:", base])
    await asServerUser("initdb", [
      "-D",
      data,
      "-A",
      "trust",
      "-U",
      "postgres",
      "--no-sync",
      "--no-instructions",
      "-E",
      "UTF8",
      "--locale=C",
    ])
    const settings: Record<string, string | number> = {
      listen_addresses: "127.0.0.1",
      fsync: "off",
      synchronous_commit: "off",
      full_page_writes: "off",
      max_connections: 200,
      ...options.settings,
    }
    let port = 0
    for (let attempt = 1; ; attempt++) {
      port = await freePort()
      const serverOptions = [
        `-p ${port}`,
        `-k ${shellQuote(base)}`,
        ...Object.entries(settings).map(([k, v]) => `-c ${k}=${shellQuote(String(v))}`),
      ].join(" ")
      try {
        await asServerUser("pg_ctl", ["start", "-w", "-t", "60", "-D", data, "-l", log, "-o", serverOptions])
        break
      } catch (error) {
        // Another process may have taken the port between our probe and the server's bind.
        if (attempt >= 3) {
          const tail = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").slice(-20).join("\n") : ""
          throw new Error(`PostgreSQL did not start: ${String(error)}\n${tail}`)
        }
      }
    }
    // Kills the server should this process die without running its exit hooks (SIGKILL, crash).
    watchdog = spawn(
      "sh",
      [
        "-c",
        `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ${pgCtlStop.map(shellQuote).join(" ")} >/dev/null 2>&1; rm -rf ${shellQuote(base)}`,
      ],
      { detached: true, stdio: "ignore", cwd: "/" },
    )
    watchdog.unref()
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}
