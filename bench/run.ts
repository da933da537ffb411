/**
 * `npm run bench`: the gateway against a raw proxy (floor), a hand-written Apollo Server + SDK
 * peer and the upstream itself (direct), on loopback, in alternating rounds; with `--baseline-ref`,
 * also against the gateway of another commit. See bench/README.md.
 *
 * The command line only: it parses the options and calls the scenarios. Importing it does nothing.
 */
import { fileURLToPath } from 'node:url';
import { checkoutBaseline } from './baseline.ts';
import { gatewayCommand } from './deployed.ts';
import { fixedRate } from './fixed-rate.ts';
import { describeMachine, machineInfo } from './machine.ts';
import { HELP, type Options, parseOptions, UsageError } from './options.ts';
import { ROOT_DIR } from './processes.ts';
import { perfUnavailable, profile } from './profile.ts';
import { printReport, writeReport } from './report.ts';
import type { ScenarioResult } from './results.ts';
import { withRunning } from './running.ts';
import { createSession, type Session } from './session.ts';
import { slowUpstream } from './slow-upstream.ts';
import { soak } from './soak.ts';
import { startup } from './startup.ts';
import { TARGET_KINDS, targetSpecs } from './targets.ts';
import { throughput } from './throughput.ts';

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

/** Runs the bench with these arguments; resolves to the exit code (2: a wrong command line). */
export async function main(args: string[]): Promise<number> {
  let options: Options | undefined;
  try {
    options = parseOptions(args);
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message} (npm run bench -- --help lists the options)\n`);
    return 2;
  }
  if (!options) {
    process.stdout.write(HELP);
    return 0;
  }
  const session = createSession(options, RESULTS_DIR);
  // A first Ctrl-C stops the children and removes the baseline worktree; a second one exits at once.
  const interrupted = (): void => void session.close().then(() => process.exit(130));
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    return await run(session);
  } catch (error) {
    process.stderr.write(`\nbench: ${error instanceof Error ? error.message : String(error)}\n`);
    return error instanceof UsageError ? 2 : 1;
  } finally {
    await session.close();
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
}

async function run(session: Session): Promise<number> {
  const { options, log } = session;
  const perfMissing = options.profile ? perfUnavailable() : undefined;
  if (perfMissing) throw new Error(perfMissing);
  if (options.baselineRef !== undefined) session.baseline = checkoutBaseline(session, options.baselineRef);
  const machine = await machineInfo();
  log(
    `bench: ${describeMachine(machine)}; ` +
      `load ${machine.loadAverage1m}, ${machine.backgroundBusyPercent}% busy before start`,
  );
  if (Number(process.versions.node.split('.')[0]) < 24)
    log('bench: warning: Node < 24; run it with `npm run bench` so the pinned Node is used');
  if (machine.backgroundBusyPercent > 20)
    log('bench: warning: the machine was already busy; numbers will be noisier than usual');
  prepareGateways(session);
  if (options.soak) return (await soak(session, machine)) ? 0 : 1;
  if (options.profile) return (await profile(session, machine)) ? 0 : 1;

  const started = new Date();
  const scenarios = [...(await atOnce(session)), ...(await slow(session))];
  const starts = options.scenarios.includes('startup') ? await startup(session, options.targets) : [];
  printReport(session, scenarios, starts);
  writeReport(session, machine, started, scenarios, starts);
  if (session.problems.length === 0) return 0;
  log(
    `\nFAIL: ${session.problems.length} measurement problems:\n${session.problems.map((p) => `  - ${p}`).join('\n')}`,
  );
  return 1;
}

/** Builds each gateway that will run before anything is timed, and says what it runs. */
function prepareGateways(session: Session): void {
  const { baseline, log } = session;
  for (const [name, root] of [['gateway', ROOT_DIR], ...(baseline ? [[baseline.name, baseline.root]] : [])]) {
    const { args, source, env } = gatewayCommand(root!);
    const environment = Object.entries(env).map(([key, value]) => `${key}=${value} `);
    log(`bench: ${name} runs ${source}'s command: ${environment.join('')}node ${args.join(' ')}`);
  }
}

/** Throughput and fixed rate share one set of processes, the upstream answering at once. */
async function atOnce(session: Session): Promise<ScenarioResult[]> {
  const { scenarios, targets } = session.options;
  const [wantThroughput, wantFixed] = [scenarios.includes('throughput'), scenarios.includes('fixed-rate')];
  if (!wantThroughput && !wantFixed) return [];
  const kinds = TARGET_KINDS.filter(
    (kind) => (wantThroughput && targets.includes(kind)) || (wantFixed && (kind === 'gateway' || kind === 'floor')),
  );
  const specs = targetSpecs(kinds, session.baseline);
  const { value, logNotes } = await withRunning(session, 'throughput', 0, specs, async (running) => {
    const closedLoop = wantThroughput ? await throughput(session, running) : undefined;
    const fixed = wantFixed ? await fixedRate(session, running, closedLoop) : undefined;
    return [closedLoop, fixed].filter((scenario) => scenario !== undefined);
  });
  return withNotes(value, logNotes);
}

async function slow(session: Session): Promise<ScenarioResult[]> {
  const { scenarios, slowLatencyMs } = session.options;
  if (!scenarios.includes('slow-upstream')) return [];
  const specs = targetSpecs(['direct', 'floor', 'gateway'], session.baseline);
  const { value, logNotes } = await withRunning(session, 'slow-upstream', slowLatencyMs, specs, (running) =>
    slowUpstream(session, running),
  );
  return withNotes([value], logNotes);
}

function withNotes(scenarios: ScenarioResult[], notes: readonly string[]): ScenarioResult[] {
  for (const scenario of scenarios) scenario.notes.push(...notes);
  return scenarios;
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
