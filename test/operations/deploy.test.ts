import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createGatewayRuntime } from '@graphql-hive/gateway-runtime';
import { DockerfileParser } from 'dockerfile-ast';
import { Deployment as DeploymentModel } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler as AutoscalerModel } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget as DisruptionBudgetModel } from 'kubernetes-models/policy/v1';
import { ConfigMap as ConfigMapModel, Secret as SecretModel, Service as ServiceModel } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { propagateHeaders } from '../../examples/supergraph/forward-headers.ts';
import { startEmulator } from '../../src/chatbotkit/emulator.ts';
import { type Config, ConfigError, loadConfig, VARIABLE_NAMES } from '../../src/config.ts';
import { postGraphQL, type TestGateway, withGateway } from '../helpers/gateway.ts';

// Kubernetes and Docker are not available here: these checks stand in for `kubectl apply
// --dry-run` (the Kubernetes API's schemas and types, from kubernetes-models) and `docker compose
// config`, and go further by loading each configuration with the gateway's own loadConfig. Each
// check returns its problems, so that the last block can break a copy of the manifests and see
// every kind of check fail.

const root = fileURLToPath(new URL('../..', import.meta.url));
const kubernetesDir = join(root, 'deploy', 'kubernetes');

// ---- the shapes read below (only the fields the checks use) ----

type Labels = Record<string, string>;
interface Metadata {
  name?: string;
  labels?: Labels;
}
interface LabelSelector {
  matchLabels?: Labels;
}
interface Probe {
  httpGet?: { path?: string; port?: string | number };
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string };
  };
}
interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type?: string };
}
interface Container {
  name: string;
  image?: string;
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command?: string[] }; sleep?: { seconds?: number } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: SecurityContext;
}
interface PodSpec {
  containers: Container[];
  securityContext?: SecurityContext;
  automountServiceAccountToken?: boolean;
  terminationGracePeriodSeconds?: number;
  topologySpreadConstraints?: { topologyKey: string; labelSelector?: LabelSelector }[];
  affinity?: { podAntiAffinity?: unknown };
}
interface Deployment {
  kind: 'Deployment';
  metadata: Metadata;
  spec: { replicas?: number; selector: LabelSelector; template: { metadata: Metadata; spec: PodSpec } };
}
interface Service {
  kind: 'Service';
  metadata: Metadata;
  spec: { type?: string; selector?: Labels; ports: { name?: string; port: number; targetPort?: string | number }[] };
}
interface Autoscaler {
  kind: 'HorizontalPodAutoscaler';
  spec: {
    scaleTargetRef: { apiVersion?: string; kind: string; name: string };
    minReplicas?: number;
    maxReplicas: number;
    metrics?: { type: string; resource?: { name: string; target: { type: string; averageUtilization?: number } } }[];
  };
}
interface DisruptionBudget {
  kind: 'PodDisruptionBudget';
  spec: { selector?: LabelSelector; minAvailable?: number | string; maxUnavailable?: number | string };
}
interface DataObject {
  kind: 'ConfigMap' | 'Secret';
  metadata: Metadata;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}
interface Manifest {
  apiVersion?: string;
  kind?: string;
  metadata?: Metadata;
  file: string;
}
interface Kustomization {
  resources?: string[];
  images?: { name: string }[];
}

/** The API version each kind must use: the stable ones, none that has been removed. */
const API_VERSIONS: Record<string, string> = {
  Deployment: 'apps/v1',
  Service: 'v1',
  HorizontalPodAutoscaler: 'autoscaling/v2',
  PodDisruptionBudget: 'policy/v1',
  ConfigMap: 'v1',
  Secret: 'v1',
};
const REQUIRED_KINDS = ['Deployment', 'Service', 'HorizontalPodAutoscaler', 'PodDisruptionBudget'];
/** The `node` user of the node:24-slim image, which the Dockerfile's `USER node` selects. */
const NODE_USER_ID = 1000;
/** Variables that hold credentials: they must come from a Secret. */
const SENSITIVE = /SECRET|PASSWORD|TOKEN|API_KEY|KEY_HASHES|REDIS_URL/;

// ---- loading ----

function parseYaml(file: string): unknown[] {
  const documents = parseAllDocuments(readFileSync(file, 'utf8'));
  if (!Array.isArray(documents)) throw new Error(`${file}: not a YAML stream`);
  for (const document of documents) {
    if (document.errors.length > 0)
      throw new Error(`${file}: ${document.errors.map((error) => error.message).join('; ')}`);
  }
  return documents
    .map((document) => document.toJS() as unknown)
    .filter((value) => value !== null && value !== undefined);
}

const manifestFiles = readdirSync(kubernetesDir)
  .filter((file) => /\.ya?ml$/.test(file) && file !== 'kustomization.yaml')
  .sort();

function loadManifests(): Manifest[] {
  return manifestFiles.flatMap((file) =>
    parseYaml(join(kubernetesDir, file)).map((value) => ({ ...(value as object), file }) as Manifest),
  );
}

function ofKind<T>(manifests: Manifest[], kind: string): T[] {
  return manifests.filter((manifest) => manifest.kind === kind) as T[];
}

function only<T>(manifests: Manifest[], kind: string): T {
  const [first, ...rest] = ofKind<T>(manifests, kind);
  if (!first || rest.length > 0) throw new Error(`expected exactly one ${kind}`);
  return first;
}

/** `ENV` of the Dockerfile's final stage: what every container starts with. */
function imageEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  const instructions = DockerfileParser.parse(readFileSync(join(root, 'Dockerfile'), 'utf8')).getInstructions();
  const lastFrom = instructions.map((instruction) => instruction.getKeyword()).lastIndexOf('FROM');
  for (const instruction of instructions.slice(lastFrom)) {
    if (instruction.getKeyword() !== 'ENV') continue;
    for (const argument of instruction.getArguments().map((part) => part.getValue())) {
      const [name, ...value] = argument.split('=');
      if (name && value.length > 0) env[name] = value.join('=');
    }
  }
  return env;
}

/** Every variable the gateway reads: the names in its schema of variables. */
// Set by the image for Node itself, not for the gateway: its compile cache (Dockerfile).
const READ_BY_NODE = ['NODE_COMPILE_CACHE'];

function variablesTheProcessReads(): Set<string> {
  return new Set([...VARIABLE_NAMES, ...READ_BY_NODE]);
}

function tryLoadConfig(env: Record<string, string>): { config?: Readonly<Config>; problems: string[] } {
  try {
    return { config: loadConfig(env), problems: [] };
  } catch (error) {
    if (error instanceof ConfigError) return { problems: error.problems.map((problem) => `loadConfig: ${problem}`) };
    throw error;
  }
}

// ---- the Kubernetes API's schema ----

/**
 * Each kind's schema from the Kubernetes API's OpenAPI definitions, as kubernetes-models compiles
 * them: field types, required fields, enums and quantity formats. Like Kubernetes' own schemas,
 * they accept fields they do not define; kustomize's Kustomization is not among them.
 */
const API_SCHEMAS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1 Deployment': DeploymentModel,
  'autoscaling/v2 HorizontalPodAutoscaler': AutoscalerModel,
  'policy/v1 PodDisruptionBudget': DisruptionBudgetModel,
  'v1 ConfigMap': ConfigMapModel,
  'v1 Secret': SecretModel,
  'v1 Service': ServiceModel,
};
/** The same kinds' TypeScript types in kubernetes-models: the module and the interface. */
const API_TYPES: Record<string, [module: string, type: string]> = {
  'apps/v1 Deployment': ['kubernetes-models/apps/v1', 'IDeployment'],
  'autoscaling/v2 HorizontalPodAutoscaler': ['kubernetes-models/autoscaling/v2', 'IHorizontalPodAutoscaler'],
  'policy/v1 PodDisruptionBudget': ['kubernetes-models/policy/v1', 'IPodDisruptionBudget'],
  'v1 ConfigMap': ['kubernetes-models/v1', 'IConfigMap'],
  'v1 Secret': ['kubernetes-models/v1', 'ISecret'],
  'v1 Service': ['kubernetes-models/v1', 'IService'],
};

function schemaProblems(manifests: Manifest[]): string[] {
  return manifests.flatMap(({ file, ...object }) => {
    const Model = API_SCHEMAS[`${object.apiVersion} ${object.kind}`];
    if (!Model) return [`${file}: no schema for ${object.apiVersion} ${object.kind}`];
    try {
      new Model(object as never).validate();
      return [];
    } catch (error) {
      if (!(error instanceof Error)) throw error;
      return [`${file}: ${error.message}`];
    }
  });
}

/**
 * Fields the Kubernetes API does not define, such as a misspelt `readinesProbe`: kubectl's strict
 * field validation refuses them, the schemas above let them through. TypeScript's excess-property
 * check does it offline: each manifest becomes an object literal typed with kubernetes-models'
 * interface for its kind, and tsc names every property that the type does not have.
 */
async function unknownFieldProblems(manifests: Manifest[]): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'manifests-'));
  try {
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    const compilerOptions = { strict: true, noEmit: true, module: 'nodenext', skipLibCheck: true, types: [] };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['*.ts'] }));
    manifests.forEach(({ file, ...object }, index) => {
      const [module, type] = API_TYPES[`${object.apiVersion} ${object.kind}`] ?? [];
      if (!module || !type) throw new Error(`${file}: no type for ${object.apiVersion} ${object.kind}`);
      const literal = `export const manifest: ${type} = ${JSON.stringify(object)};`;
      writeFileSync(join(dir, `${file}.${index}.ts`), `import type { ${type} } from '${module}';\n${literal}\n`);
    });
    const tsc = join(root, 'node_modules', '.bin', 'tsc');
    const failed = await promisify(execFile)(tsc, ['-p', dir]).then(
      () => undefined,
      (error: { stdout?: string; stderr?: string }) => `${error.stdout ?? ''}${error.stderr ?? ''}`,
    );
    if (failed === undefined) return [];
    const problems = [...failed.matchAll(/([^/\s]+)\.\d+\.ts\(\d+,\d+\): error TS\d+: (.+)/g)].map(
      ([, file, message]) => `${file}: ${message}`,
    );
    return problems.length > 0 ? problems : [`tsc failed: ${failed}`];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- Kubernetes checks ----

const isSubset = (labels: Labels | undefined, of: Labels | undefined) =>
  labels !== undefined &&
  Object.keys(labels).length > 0 &&
  Object.entries(labels).every(([key, value]) => of?.[key] === value);

function gatewayContainer(deployment: Deployment): Container {
  const [container, ...others] = deployment.spec.template.spec.containers;
  if (!container || others.length > 0) throw new Error('expected one container in the Deployment');
  return container;
}

/** A named or numbered port of the container, as a number. */
function containerPort(container: Container, port: string | number | undefined): number | undefined {
  if (typeof port === 'number')
    return container.ports?.some((declared) => declared.containerPort === port) ? port : undefined;
  return container.ports?.find((declared) => declared.name === port)?.containerPort;
}

/** The container's environment as the kubelet would build it: image ENV, envFrom, then env. */
function resolveEnv(
  manifests: Manifest[],
  container: Container,
): { env: Record<string, string>; problems: string[]; fromSecret: Set<string> } {
  const problems: string[] = [];
  const fromSecret = new Set<string>();
  const dataOf = (kind: 'ConfigMap' | 'Secret', name: string): Record<string, string> | undefined => {
    const object = ofKind<DataObject>(manifests, kind).find((candidate) => candidate.metadata.name === name);
    if (!object) return undefined;
    // A Secret's `data` is base64; a ConfigMap's is plain text.
    const decode = (value: string) => (kind === 'Secret' ? Buffer.from(value, 'base64').toString('utf8') : value);
    const data = Object.fromEntries(Object.entries(object.data ?? {}).map(([key, value]) => [key, decode(value)]));
    return { ...data, ...object.stringData };
  };
  const env: Record<string, string> = { ...imageEnv() };
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef) {
      const data = dataOf('ConfigMap', source.configMapRef.name);
      if (!data) problems.push(`envFrom: no ConfigMap ${source.configMapRef.name}`);
      Object.assign(env, data);
    }
    if (source.secretRef) problems.push('envFrom secretRef: name each secret variable with secretKeyRef instead');
  }
  for (const variable of container.env ?? []) {
    const secretRef = variable.valueFrom?.secretKeyRef;
    const configMapRef = variable.valueFrom?.configMapKeyRef;
    if (variable.value !== undefined) {
      env[variable.name] = variable.value;
    } else if (secretRef) {
      // The example Secret's placeholder stands in for the real value.
      const value = dataOf('Secret', secretRef.name)?.[secretRef.key];
      fromSecret.add(variable.name);
      // As the kubelet does: an optional key that is missing leaves the variable unset.
      if (value === undefined && secretRef.optional === true) continue;
      if (value === undefined)
        problems.push(
          `${variable.name}: secretKeyRef ${secretRef.name}/${secretRef.key} is not in secret.example.yaml`,
        );
      env[variable.name] = value ?? '';
    } else if (configMapRef) {
      const value = dataOf('ConfigMap', configMapRef.name)?.[configMapRef.key];
      if (value === undefined)
        problems.push(`${variable.name}: configMapKeyRef ${configMapRef.name}/${configMapRef.key} does not exist`);
      env[variable.name] = value ?? '';
    } else {
      problems.push(`${variable.name}: neither a value nor a secretKeyRef/configMapKeyRef`);
    }
  }
  return { env, problems, fromSecret };
}

function kindProblems(manifests: Manifest[]): string[] {
  const problems: string[] = [];
  for (const manifest of manifests) {
    const expected = manifest.kind === undefined ? undefined : API_VERSIONS[manifest.kind];
    if (expected === undefined) problems.push(`${manifest.file}: unexpected kind ${manifest.kind}`);
    else if (manifest.apiVersion !== expected)
      problems.push(`${manifest.file}: ${manifest.kind} must use apiVersion ${expected} (got ${manifest.apiVersion})`);
    if (!manifest.metadata?.name) problems.push(`${manifest.file}: ${manifest.kind} has no metadata.name`);
  }
  for (const kind of REQUIRED_KINDS) {
    const count = ofKind(manifests, kind).length;
    if (count !== 1) problems.push(`expected one ${kind}, found ${count}`);
  }
  return problems;
}

/** The gateway's configuration as this Deployment gives it, or the problems that stop it. */
function deploymentConfig(manifests: Manifest[]): { config?: Readonly<Config>; problems: string[] } {
  const container = gatewayContainer(only<Deployment>(manifests, 'Deployment'));
  const { env, problems } = resolveEnv(manifests, container);
  const loaded = tryLoadConfig(env);
  return { ...(loaded.config && { config: loaded.config }), problems: [...problems, ...loaded.problems] };
}

function environmentProblems(manifests: Manifest[]): string[] {
  const deployment = only<Deployment>(manifests, 'Deployment');
  const container = gatewayContainer(deployment);
  const { env, fromSecret } = resolveEnv(manifests, container);
  const { config, problems } = deploymentConfig(manifests);
  const known = variablesTheProcessReads();
  for (const name of Object.keys(env))
    if (!known.has(name)) problems.push(`${name} is not a variable the gateway reads`);
  if (config) {
    if (!config.production) problems.push('NODE_ENV must be production');
    if (config.host !== '0.0.0.0') problems.push(`HOST must be 0.0.0.0 in a pod (got ${config.host})`);
    if (config.upstream.kind !== 'http' || config.upstream.secret === undefined)
      problems.push('CHATBOTKIT_SECRET must be set');
    if (config.auth.mode === 'none') problems.push('AUTH_MODE must not be none');
    if (config.limits.redisUrl === undefined)
      problems.push('REDIS_URL must be set so that replicas share rate-limit counters');
    // Users without Redis leave the key out of their Secret rather than invent a URL.
    const redis = container.env?.find((variable) => variable.name === 'REDIS_URL')?.valueFrom?.secretKeyRef;
    if (redis !== undefined && redis.optional !== true)
      problems.push('REDIS_URL must be an optional secretKeyRef, so that a Secret without it starts');
    if (config.logFormat !== 'json') problems.push('LOG_FORMAT must be json (pino-pretty is a dev dependency)');
  }
  // Credentials come from the Secret, never inline in the Deployment or the ConfigMap.
  const deploymentText = JSON.stringify(deployment);
  for (const secret of ofKind<DataObject>(manifests, 'Secret')) {
    for (const value of Object.values({ ...secret.stringData, ...secret.data })) {
      if (deploymentText.includes(value))
        problems.push(`the Deployment inlines the value of a Secret key ("${value}")`);
    }
  }
  for (const name of Object.keys(env)) {
    if (SENSITIVE.test(name) && !fromSecret.has(name)) problems.push(`${name} must come from a secretKeyRef`);
  }
  for (const configMap of ofKind<DataObject>(manifests, 'ConfigMap')) {
    for (const name of Object.keys({ ...configMap.data }))
      if (SENSITIVE.test(name)) problems.push(`ConfigMap holds ${name}: put it in the Secret`);
  }
  return problems;
}

function podProblems(manifests: Manifest[]): string[] {
  const problems: string[] = [];
  const deployment = only<Deployment>(manifests, 'Deployment');
  const pod = deployment.spec.template.spec;
  const podLabels = deployment.spec.template.metadata.labels;
  const container = gatewayContainer(deployment);
  const { config } = deploymentConfig(manifests);
  const port = config?.port;

  if (!isSubset(deployment.spec.selector.matchLabels, podLabels))
    problems.push('the Deployment selector does not match the pod labels');
  if (!container.image || /:latest$|^[^:]+$/.test(container.image))
    problems.push(`image needs an explicit tag (got ${container.image})`);
  if (port === undefined || !container.ports?.some((declared) => declared.containerPort === port)) {
    problems.push(`no containerPort matches PORT (${port})`);
  }
  const probes: [string, Probe | undefined, string][] = [
    ['readinessProbe', container.readinessProbe, '/readyz'],
    ['livenessProbe', container.livenessProbe, '/healthz'],
  ];
  for (const [name, probe, path] of probes) {
    if (probe?.httpGet?.path !== path) problems.push(`${name} must GET ${path} (got ${probe?.httpGet?.path})`);
    if (port === undefined || containerPort(container, probe?.httpGet?.port) !== port)
      problems.push(`${name} must hit the PORT the gateway listens on (${port})`);
  }

  const cpuRequest = cpuCores(container.resources?.requests?.['cpu']);
  const memoryRequest = bytes(container.resources?.requests?.['memory']);
  const memoryLimit = bytes(container.resources?.limits?.['memory']);
  if (!(cpuRequest > 0)) problems.push('resources.requests.cpu must be set (the HPA measures utilization against it)');
  if (!(memoryRequest > 0)) problems.push('resources.requests.memory must be set');
  if (!(memoryLimit >= memoryRequest)) problems.push('resources.limits.memory must be set, at least the request');

  // Effective settings: the container's override the pod's.
  const security = { ...pod.securityContext, ...container.securityContext };
  if (security.runAsNonRoot !== true) problems.push('securityContext.runAsNonRoot must be true');
  if (security.runAsUser !== NODE_USER_ID)
    problems.push(`securityContext.runAsUser must be ${NODE_USER_ID} (the image's node user)`);
  if (security.readOnlyRootFilesystem !== true) problems.push('securityContext.readOnlyRootFilesystem must be true');
  if (security.allowPrivilegeEscalation !== false)
    problems.push('securityContext.allowPrivilegeEscalation must be false');
  if (security.privileged === true) problems.push('securityContext.privileged must not be set');
  if (!security.capabilities?.drop?.includes('ALL') || (security.capabilities.add ?? []).length > 0)
    problems.push('securityContext.capabilities must drop ALL and add none');
  if (security.seccompProfile?.type !== 'RuntimeDefault')
    problems.push('securityContext.seccompProfile.type must be RuntimeDefault');
  if (pod.automountServiceAccountToken !== false) problems.push('automountServiceAccountToken must be false');

  // SIGTERM comes after preStop; the gateway then drains for SHUTDOWN_TIMEOUT_MS, then closes
  // its upstream pool and Redis. All of it must fit in the grace period, with room to spare.
  const preStop = preStopSeconds(container);
  const grace = pod.terminationGracePeriodSeconds ?? 30;
  if (preStop < 1) problems.push('a preStop sleep must let the Service drop the endpoint before SIGTERM');
  if (config && grace < preStop + config.shutdownTimeoutMs / 1000 + 2) {
    problems.push(
      `terminationGracePeriodSeconds (${grace}) must exceed preStop (${preStop} s) + ` +
        `SHUTDOWN_TIMEOUT_MS (${config.shutdownTimeoutMs / 1000} s) + 2 s`,
    );
  }

  const autoscaler = ofKind<Autoscaler>(manifests, 'HorizontalPodAutoscaler')[0];
  const replicas = Math.min(deployment.spec.replicas ?? Infinity, autoscaler?.spec.minReplicas ?? 1);
  if (!(replicas >= 2)) problems.push(`at least 2 replicas (Deployment replicas and HPA minReplicas), got ${replicas}`);
  const spreads = (pod.topologySpreadConstraints ?? []).some(
    (constraint) =>
      constraint.topologyKey === 'kubernetes.io/hostname' && isSubset(constraint.labelSelector?.matchLabels, podLabels),
  );
  if (!spreads && !JSON.stringify(pod.affinity?.podAntiAffinity ?? {}).includes('kubernetes.io/hostname')) {
    problems.push(
      'replicas must spread across nodes (topologySpreadConstraints or podAntiAffinity on kubernetes.io/hostname)',
    );
  }
  return problems;
}

function preStopSeconds(container: Container): number {
  const preStop = container.lifecycle?.preStop;
  if (preStop?.sleep?.seconds !== undefined) return preStop.sleep.seconds;
  const command = preStop?.exec?.command ?? [];
  const seconds = Number(command.at(-1));
  return /(^|\/)sleep$/.test(command.at(-2) ?? '') && Number.isFinite(seconds) ? seconds : 0;
}

function cpuCores(quantity: string | undefined): number {
  const match = /^(\d+(?:\.\d+)?)(m?)$/.exec(quantity ?? '');
  return match ? Number(match[1]) / (match[2] === 'm' ? 1000 : 1) : NaN;
}

function bytes(quantity: string | undefined): number {
  const units: Record<string, number> = { '': 1, K: 1e3, M: 1e6, G: 1e9, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 };
  const match = /^(\d+)(Ki|Mi|Gi|K|M|G)?$/.exec(quantity ?? '');
  return match ? Number(match[1]) * (units[match[2] ?? ''] ?? NaN) : NaN;
}

function serviceProblems(manifests: Manifest[]): string[] {
  const problems: string[] = [];
  const deployment = only<Deployment>(manifests, 'Deployment');
  const service = only<Service>(manifests, 'Service');
  const container = gatewayContainer(deployment);
  const { config } = deploymentConfig(manifests);
  if ((service.spec.type ?? 'ClusterIP') !== 'ClusterIP')
    problems.push(`Service type must be ClusterIP (got ${service.spec.type})`);
  if (!isSubset(service.spec.selector, deployment.spec.template.metadata.labels))
    problems.push('the Service selector does not match the pod labels');
  const http = service.spec.ports.find((port) => port.name === 'http');
  if (http?.port !== 80) problems.push('the Service must expose port 80 named http');
  if (config === undefined || containerPort(container, http?.targetPort ?? http?.port) !== config.port) {
    problems.push(`the Service must target the container port the gateway listens on (${config?.port})`);
  }
  return problems;
}

function autoscalingProblems(manifests: Manifest[]): string[] {
  const problems: string[] = [];
  const deployment = only<Deployment>(manifests, 'Deployment');
  const autoscaler = only<Autoscaler>(manifests, 'HorizontalPodAutoscaler');
  const budget = only<DisruptionBudget>(manifests, 'PodDisruptionBudget');
  const target = autoscaler.spec.scaleTargetRef;
  if (target.kind !== 'Deployment' || target.apiVersion !== 'apps/v1' || target.name !== deployment.metadata.name) {
    problems.push(`the HPA must scale Deployment ${deployment.metadata.name} (got ${target.kind} ${target.name})`);
  }
  const minReplicas = autoscaler.spec.minReplicas ?? 1;
  if (minReplicas < 2) problems.push('HPA minReplicas must be at least 2');
  if (!(autoscaler.spec.maxReplicas > minReplicas)) problems.push('HPA maxReplicas must exceed minReplicas');
  const cpu = autoscaler.spec.metrics?.find((metric) => metric.type === 'Resource' && metric.resource?.name === 'cpu')
    ?.resource?.target;
  const utilization = cpu?.averageUtilization ?? 0;
  if (cpu?.type !== 'Utilization' || utilization <= 0 || utilization > 100)
    problems.push('the HPA must target a CPU utilization between 1 and 100 %');

  if (!isSubset(budget.spec.selector?.matchLabels, deployment.spec.template.metadata.labels))
    problems.push('the PDB selector does not match the pod labels');
  const { minAvailable, maxUnavailable } = budget.spec;
  if ((minAvailable === undefined) === (maxUnavailable === undefined))
    problems.push('the PDB needs exactly one of minAvailable and maxUnavailable');
  // A budget that can never be met blocks every node drain.
  if (typeof minAvailable === 'number' && minAvailable >= minReplicas)
    problems.push('PDB minAvailable must be below HPA minReplicas');
  if (maxUnavailable === 0 || maxUnavailable === '0%') problems.push('PDB maxUnavailable 0 blocks every node drain');
  return problems;
}

// ---- docker-compose.yml ----

interface ComposeService {
  build?: string | { context?: string; dockerfile?: string };
  image?: string;
  environment?: Record<string, string | number | boolean | null> | string[];
  stop_grace_period?: string;
  read_only?: boolean;
  depends_on?: string[] | Record<string, unknown>;
  volumes?: string[];
  configs?: { source: string; target: string }[];
}
interface Compose {
  services: Record<string, ComposeService>;
  configs?: Record<string, { content?: string; file?: string }>;
}

function loadCompose(): Compose {
  const [compose] = parseYaml(join(root, 'docker-compose.yml'));
  return compose as Compose;
}

/** The environment Compose gives a service, `${NAME:-default}` resolved as in an empty shell. */
function composeEnv(service: ComposeService): Record<string, string> {
  const entries = Array.isArray(service.environment)
    ? service.environment.map((entry) => entry.split(/=(.*)/s).slice(0, 2) as [string, string])
    : Object.entries(service.environment ?? {}).map(
        ([name, value]) => [name, value === null ? '' : String(value)] as [string, string],
      );
  const interpolate = (value: string) =>
    value.replace(/\$\{[A-Z0-9_]+(?::?-([^}]*))?\}/g, (_whole, fallback: string | undefined) => fallback ?? '');
  return Object.fromEntries(entries.map(([name, value]) => [name, interpolate(value ?? '')]));
}

function seconds(duration: string | undefined): number {
  const match = /^(\d+)(ms|s|m)?$/.exec(duration ?? '');
  if (!match) return 10; // Compose's default
  return Number(match[1]) * ({ ms: 0.001, s: 1, m: 60 }[match[2] ?? 's'] ?? 1);
}

function routerConfigText(compose: Compose): string {
  const mounted = compose.services['router']?.configs?.find((config) => config.target.endsWith('gateway.config.ts'));
  return (mounted && compose.configs?.[mounted.source]?.content) ?? '';
}

function composeProblems(compose: Compose): string[] {
  const problems: string[] = [];
  const { gateway, redis, router } = compose.services;
  if (!gateway || !redis || !router) return ['docker-compose.yml needs the services gateway, redis and router'];
  const context = typeof gateway.build === 'string' ? gateway.build : gateway.build?.context;
  const dockerfile = typeof gateway.build === 'object' ? gateway.build.dockerfile : undefined;
  if (context !== '.' || (dockerfile ?? 'Dockerfile') !== 'Dockerfile')
    problems.push('the gateway must be built from ./Dockerfile');

  const env = composeEnv(gateway);
  const known = variablesTheProcessReads();
  for (const name of Object.keys(env))
    if (!known.has(name)) problems.push(`${name} is not a variable the gateway reads`);
  const { config, problems: configProblems } = tryLoadConfig({ ...imageEnv(), ...env });
  problems.push(...configProblems);
  if (config) {
    if (config.host !== '0.0.0.0') problems.push('HOST must be 0.0.0.0 in a container');
    // The image is built with `npm ci --omit=dev`: pino-pretty is not there.
    if (config.logFormat !== 'json') problems.push('LOG_FORMAT must be json in the image');
    const redisUrl = config.limits.redisUrl === undefined ? undefined : new URL(config.limits.redisUrl);
    if (redisUrl?.hostname !== 'redis') problems.push('REDIS_URL must point at the redis service');
    if (seconds(gateway.stop_grace_period) <= config.shutdownTimeoutMs / 1000)
      problems.push('stop_grace_period must exceed SHUTDOWN_TIMEOUT_MS');
    // The router routes to the gateway by its service name and the port it listens on.
    const routed = /url:\s*'([^']+)'/.exec(routerConfigText(compose))?.[1];
    if (routed !== `http://gateway:${config.port}/graphql`)
      problems.push(`the router must route to http://gateway:${config.port}/graphql (got ${routed})`);
  }
  if (gateway.read_only !== true) problems.push('the gateway must run with a read-only root filesystem');

  // The router runs the same header forwarding the supergraph test checks.
  const routerConfig = routerConfigText(compose);
  if (!routerConfig.includes("from './forward-headers.ts'") || !/\bpropagateHeaders\b[,\s]*\}\);/.test(routerConfig)) {
    problems.push('the router config must use propagateHeaders from forward-headers.ts');
  }
  const mount = (router.volumes ?? []).find((volume) => volume.includes(':/gateway/forward-headers.ts'));
  const source = mount?.split(':')[0];
  if (source !== './examples/supergraph/forward-headers.ts' || !existsSync(join(root, source))) {
    problems.push('the router must mount examples/supergraph/forward-headers.ts');
  }
  const dependsOn = Array.isArray(router.depends_on) ? router.depends_on : Object.keys(router.depends_on ?? {});
  if (!dependsOn.includes('gateway')) problems.push('the router must wait for the gateway');
  return problems;
}

// ---- the tests ----

describe('Kubernetes manifests (deploy/kubernetes)', () => {
  const manifests = loadManifests();

  it('parse, with the stable apiVersion of each kind and one of each workload object', () => {
    expect(manifests.length).toBeGreaterThanOrEqual(REQUIRED_KINDS.length);
    expect(kindProblems(manifests)).toEqual([]);
  });

  it("match the Kubernetes API's schema of their kind, the example Secret included", () => {
    expect(manifests.some((manifest) => manifest.kind === 'Secret')).toBe(true);
    expect(schemaProblems(manifests)).toEqual([]);
  });

  it('hold no field the Kubernetes API does not define', async () => {
    expect(await unknownFieldProblems(manifests)).toEqual([]);
  });

  it('give the gateway a configuration loadConfig accepts, only variables it reads, credentials from a Secret', () => {
    const { config, problems } = deploymentConfig(manifests);
    expect(problems).toEqual([]);
    expect(config).toBeDefined();
    expect(environmentProblems(manifests)).toEqual([]);
  });

  it('start without Redis when the Secret has no REDIS_URL: each replica then limits on its own', () => {
    const withoutRedis = structuredClone(manifests);
    delete only<DataObject>(withoutRedis, 'Secret').stringData?.['REDIS_URL'];
    const { config, problems } = deploymentConfig(withoutRedis);
    expect(problems).toEqual([]);
    expect(config?.production).toBe(true);
    expect(config?.limits.redisUrl).toBeUndefined();
  });

  it('run the pod hardened, probed, sized and drained within its grace period', () => {
    expect(podProblems(manifests)).toEqual([]);
  });

  it('expose the pods through a ClusterIP Service on port 80', () => {
    expect(serviceProblems(manifests)).toEqual([]);
  });

  it('autoscale the Deployment on CPU and limit voluntary disruptions', () => {
    expect(autoscalingProblems(manifests)).toEqual([]);
  });

  it('are all listed in kustomization.yaml, except the example Secret', () => {
    const [kustomization] = parseYaml(join(kubernetesDir, 'kustomization.yaml')) as Kustomization[];
    const listed = [...(kustomization?.resources ?? [])].sort();
    expect(listed).toEqual(manifestFiles.filter((file) => file !== 'secret.example.yaml'));
    const images = (kustomization?.images ?? []).map((image) => image.name);
    const image = gatewayContainer(only<Deployment>(manifests, 'Deployment')).image ?? '';
    for (const name of images) expect(image.startsWith(`${name}:`)).toBe(true);
  });
});

describe('docker-compose.yml', () => {
  const compose = loadCompose();

  it('builds the gateway from the Dockerfile, configured as loadConfig accepts, beside Redis and a router', () => {
    expect(composeProblems(compose)).toEqual([]);
  });

  it('runs a router configuration that composes this subgraph and routes a mutation to it', async () => {
    // The router image's runtime (@graphql-hive/gateway 2.15.1 runs gateway-runtime 2.12.1,
    // the version installed here) with the compose file's `dev` supergraph source, pointed at
    // a real gateway on loopback instead of http://gateway:4000.
    const text = routerConfigText(compose);
    expect(text).toMatch(/type:\s*'dev'/);
    const emulator = await startEmulator();
    try {
      await withGateway(emulator.url, { upstream: 'EMULATOR' }, (sessions) => routeThroughRouter(text, sessions));
    } finally {
      await emulator.close();
    }
  });
});

/** The compose file's router, on its `dev` supergraph, in front of the gateway `sessions`. */
async function routeThroughRouter(text: string, sessions: TestGateway): Promise<void> {
  const router = createGatewayRuntime({
    supergraph: {
      type: 'dev',
      services: [{ name: /name:\s*'([^']+)'/.exec(text)?.[1] ?? 'sessions', url: sessions.url }],
    },
    propagateHeaders,
    logging: false,
  });
  try {
    const response = await router.fetch('http://router/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'compose-req-1' },
      body: JSON.stringify({
        query:
          'mutation { createConversationSession(input: { conversationId: "conv_compose" }) ' +
          '{ __typename ... on ConversationSession { conversationId } } }',
      }),
    });
    expect(await response.json()).toEqual({
      data: { createConversationSession: { __typename: 'ConversationSession', conversationId: 'conv_compose' } },
    });
    expect(sessions.logs.join('')).toContain('"requestId":"compose-req-1"');
    // The direct subgraph still answers, as the compose file's :4001 exposes it.
    expect((await postGraphQL(sessions.url, '{ sessionGateway { upstream } }')).body).toEqual({
      data: { sessionGateway: { upstream: 'EMULATOR' } },
    });
  } finally {
    await router.dispose();
  }
}

describe('the checks above catch a broken manifest', () => {
  type Mutation = [string, (manifests: Manifest[]) => void, (manifests: Manifest[]) => string[], string];
  const deployment = (manifests: Manifest[]) => only<Deployment>(manifests, 'Deployment');
  const container = (manifests: Manifest[]) => gatewayContainer(deployment(manifests));
  const setEnv = (manifests: Manifest[], name: string, value: string) => {
    const env = container(manifests).env ?? [];
    const index = env.findIndex((variable) => variable.name === name);
    env.splice(index < 0 ? env.length : index, index < 0 ? 0 : 1, { name, value });
    container(manifests).env = env;
  };
  const mutations: Mutation[] = [
    [
      'an old apiVersion',
      (m) => {
        only<Manifest>(m, 'PodDisruptionBudget').apiVersion = 'policy/v1beta1';
      },
      kindProblems,
      'policy/v1',
    ],
    [
      'a missing Service',
      (m) => {
        m.splice(
          m.findIndex((x) => x.kind === 'Service'),
          1,
        );
      },
      kindProblems,
      'one Service',
    ],
    ['an invalid setting', (m) => setEnv(m, 'SHUTDOWN_TIMEOUT_MS', 'ten'), environmentProblems, 'SHUTDOWN_TIMEOUT_MS'],
    [
      'a variable the gateway does not read',
      (m) => setEnv(m, 'SHUTDOWN_TIMEOUT', '10000'),
      environmentProblems,
      'SHUTDOWN_TIMEOUT is not',
    ],
    ['AUTH_MODE none', (m) => setEnv(m, 'AUTH_MODE', 'none'), environmentProblems, 'AUTH_MODE'],
    [
      'an inlined secret',
      (m) => setEnv(m, 'CHATBOTKIT_SECRET', 'sk-inline'),
      environmentProblems,
      'CHATBOTKIT_SECRET must come from a secretKeyRef',
    ],
    [
      'a secret in the ConfigMap',
      (m) => {
        only<DataObject>(m, 'ConfigMap').data = {
          ...only<DataObject>(m, 'ConfigMap').data,
          JWT_SECRET: 'x'.repeat(40),
        };
      },
      environmentProblems,
      'ConfigMap holds JWT_SECRET',
    ],
    ['a PORT the probes miss', (m) => setEnv(m, 'PORT', '8080'), podProblems, 'readinessProbe must hit'],
    [
      'a wrong probe path',
      (m) => {
        container(m).livenessProbe = { httpGet: { path: '/readyz', port: 'http' } };
      },
      podProblems,
      'livenessProbe must GET /healthz',
    ],
    [
      'no memory limit',
      (m) => {
        delete container(m).resources?.limits;
      },
      podProblems,
      'limits.memory',
    ],
    [
      'a writable root filesystem',
      (m) => {
        container(m).securityContext = { ...container(m).securityContext, readOnlyRootFilesystem: false };
      },
      podProblems,
      'readOnlyRootFilesystem',
    ],
    [
      'root',
      (m) => {
        container(m).securityContext = { ...container(m).securityContext, runAsUser: 0 };
      },
      podProblems,
      'runAsUser',
    ],
    [
      'an added capability',
      (m) => {
        container(m).securityContext = {
          ...container(m).securityContext,
          capabilities: { drop: ['ALL'], add: ['NET_ADMIN'] },
        };
      },
      podProblems,
      'capabilities',
    ],
    [
      'a mounted token',
      (m) => {
        deployment(m).spec.template.spec.automountServiceAccountToken = true;
      },
      podProblems,
      'automountServiceAccountToken',
    ],
    [
      'a drain longer than the grace period',
      (m) => setEnv(m, 'SHUTDOWN_TIMEOUT_MS', '30000'),
      podProblems,
      'terminationGracePeriodSeconds',
    ],
    [
      'no preStop sleep',
      (m) => {
        delete container(m).lifecycle;
      },
      podProblems,
      'preStop',
    ],
    [
      'one replica',
      (m) => {
        only<Autoscaler>(m, 'HorizontalPodAutoscaler').spec.minReplicas = 1;
      },
      podProblems,
      'at least 2 replicas',
    ],
    [
      'no spread across nodes',
      (m) => {
        delete deployment(m).spec.template.spec.topologySpreadConstraints;
      },
      podProblems,
      'spread across nodes',
    ],
    [
      'a Service port by the wrong name',
      (m) => {
        only<Service>(m, 'Service').spec.ports = [{ name: 'http', port: 80, targetPort: 'web' }];
      },
      serviceProblems,
      'must target the container port',
    ],
    [
      'a Service selecting other pods',
      (m) => {
        only<Service>(m, 'Service').spec.selector = { app: 'other' };
      },
      serviceProblems,
      'selector',
    ],
    [
      'an HPA aimed elsewhere',
      (m) => {
        only<Autoscaler>(m, 'HorizontalPodAutoscaler').spec.scaleTargetRef.name = 'other';
      },
      autoscalingProblems,
      'the HPA must scale',
    ],
    [
      'no REDIS_URL',
      (m) => {
        container(m).env = container(m).env?.filter((variable) => variable.name !== 'REDIS_URL') ?? [];
      },
      environmentProblems,
      'REDIS_URL must be set',
    ],
    [
      'a port as a string',
      (m) => {
        Object.assign(container(m).ports?.[0] ?? {}, { containerPort: '4000' });
      },
      schemaProblems,
      'deployment.yaml: data/spec/template/spec/containers/0/ports/0/containerPort must be integer',
    ],
    [
      'a misspelt pull policy',
      (m) => {
        Object.assign(container(m), { imagePullPolicy: 'IfNotPresnt' });
      },
      schemaProblems,
      'imagePullPolicy must be equal to one of the allowed values',
    ],
    [
      'a memory limit that is not a quantity',
      (m) => {
        Object.assign(container(m).resources?.limits ?? {}, { memory: '512 MiB' });
      },
      schemaProblems,
      'limits/memory must match format "quantity"',
    ],
    [
      'variables as a map instead of a list',
      (m) => {
        Object.assign(container(m), { env: { NODE_ENV: 'production' } });
      },
      schemaProblems,
      'containers/0/env must be array',
    ],
    [
      'an HPA without maxReplicas',
      (m) => {
        const spec: Partial<Autoscaler['spec']> = only<Autoscaler>(m, 'HorizontalPodAutoscaler').spec;
        delete spec.maxReplicas;
      },
      schemaProblems,
      'hpa.yaml: data/spec must have required property maxReplicas',
    ],
    [
      'a kind the schemas do not know',
      (m) => {
        only<Manifest>(m, 'Service').kind = 'Servce';
      },
      schemaProblems,
      'service.yaml: no schema for v1 Servce',
    ],
    [
      'a required REDIS_URL',
      (m) => {
        const redis = container(m).env?.find((variable) => variable.name === 'REDIS_URL')?.valueFrom?.secretKeyRef;
        if (redis) delete redis.optional;
      },
      environmentProblems,
      'REDIS_URL must be an optional secretKeyRef',
    ],
    [
      'a Secret key the example lacks',
      (m) => {
        container(m).env?.push({
          name: 'JWT_SECRET',
          valueFrom: { secretKeyRef: { name: 'chatbotkit-session-gateway', key: 'JWT_SECRET' } },
        });
      },
      environmentProblems,
      'not in secret.example.yaml',
    ],
    [
      'no CPU request',
      (m) => {
        delete container(m).resources?.requests?.['cpu'];
      },
      podProblems,
      'requests.cpu',
    ],
    [
      'an image without a tag',
      (m) => {
        container(m).image = 'chatbotkit-session-gateway';
      },
      podProblems,
      'explicit tag',
    ],
    [
      'privilege escalation',
      (m) => {
        container(m).securityContext = { ...container(m).securityContext, allowPrivilegeEscalation: true };
      },
      podProblems,
      'allowPrivilegeEscalation',
    ],
    [
      'no seccomp profile',
      (m) => {
        delete deployment(m).spec.template.spec.securityContext?.seccompProfile;
      },
      podProblems,
      'seccompProfile',
    ],
    [
      'a selector that misses the pods',
      (m) => {
        deployment(m).spec.selector = { matchLabels: { app: 'other' } };
      },
      podProblems,
      'Deployment selector',
    ],
    [
      'an HPA on memory only',
      (m) => {
        only<Autoscaler>(m, 'HorizontalPodAutoscaler').spec.metrics = [
          { type: 'Resource', resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: 80 } } },
        ];
      },
      autoscalingProblems,
      'CPU utilization',
    ],
    [
      'a PDB selecting other pods',
      (m) => {
        only<DisruptionBudget>(m, 'PodDisruptionBudget').spec.selector = { matchLabels: { app: 'other' } };
      },
      autoscalingProblems,
      'PDB selector',
    ],
    [
      'a PDB that blocks drains',
      (m) => {
        only<DisruptionBudget>(m, 'PodDisruptionBudget').spec = {
          ...only<DisruptionBudget>(m, 'PodDisruptionBudget').spec,
          maxUnavailable: 0,
        };
      },
      autoscalingProblems,
      'blocks every node drain',
    ],
  ];

  it.each(mutations)('%s', (_name, mutate, check, expected) => {
    const manifests = structuredClone(loadManifests());
    mutate(manifests);
    expect(check(manifests).join('\n')).toContain(expected);
  });

  it('misspelt fields, which the API schema lets through', async () => {
    const manifests = structuredClone(loadManifests());
    const container = gatewayContainer(only<Deployment>(manifests, 'Deployment'));
    const { readinessProbe, ...rest } = container;
    Object.assign(only<Deployment>(manifests, 'Deployment').spec.template.spec, {
      containers: [{ ...rest, readinesProbe: readinessProbe }],
    });
    Object.assign(only<Autoscaler>(manifests, 'HorizontalPodAutoscaler').spec, { minReplica: 2 });
    expect(schemaProblems(manifests)).toEqual([]);
    const problems = (await unknownFieldProblems(manifests)).join('\n');
    expect(problems).toContain(
      `deployment.yaml: Object literal may only specify known properties, and '"readinesProbe"'`,
    );
    expect(problems).toContain(`hpa.yaml: Object literal may only specify known properties, and '"minReplica"'`);
  });

  const composeMutations: [string, (compose: Compose) => void, string][] = [
    [
      'a pretty log format in the image',
      (c) => {
        Object.assign(c.services['gateway']?.environment ?? {}, { LOG_FORMAT: 'pretty' });
      },
      'LOG_FORMAT',
    ],
    [
      'an invalid setting',
      (c) => {
        Object.assign(c.services['gateway']?.environment ?? {}, { PORT: 'http' });
      },
      'PORT',
    ],
    [
      'a short stop grace period',
      (c) => {
        Object.assign(c.services['gateway'] ?? {}, { stop_grace_period: '5s' });
      },
      'stop_grace_period',
    ],
    [
      'a variable the gateway does not read',
      (c) => {
        Object.assign(c.services['gateway']?.environment ?? {}, { REDIS_HOST: 'redis' });
      },
      'REDIS_HOST is not',
    ],
    [
      'a router without the forwarded headers',
      (c) => {
        c.configs = { 'router-config': { content: routerConfigText(c).replace('propagateHeaders,', '') } };
      },
      'propagateHeaders',
    ],
    [
      'an image instead of the Dockerfile',
      (c) => {
        const gateway = c.services['gateway'];
        if (gateway) {
          delete gateway.build;
          gateway.image = 'chatbotkit-session-gateway';
        }
      },
      'built from ./Dockerfile',
    ],
    [
      'a router pointed at another port',
      (c) => {
        Object.assign(c.services['gateway']?.environment ?? {}, { PORT: '4100' });
      },
      'the router must route',
    ],
  ];

  it.each(composeMutations)('docker-compose.yml: %s', (_name, mutate, expected) => {
    const compose = structuredClone(loadCompose());
    mutate(compose);
    expect(composeProblems(compose).join('\n')).toContain(expected);
  });
});
