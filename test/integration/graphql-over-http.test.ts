import { type AuditResult, auditServer } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../src/chatbotkit/emulator.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';

let emulator: RunningEmulator;
let gateway: TestGateway;
let results: AuditResult[];

beforeAll(async () => {
  emulator = await startEmulator();
  gateway = await startGateway(emulator.url);
  results = await auditServer({ url: gateway.url });
});
afterAll(async () => {
  await gateway.close();
  await emulator.close();
});

describe('GraphQL over HTTP conformance (graphql-http audits)', () => {
  it('passes every MUST', () => {
    const failed = results.filter((result) => result.name.startsWith('MUST') && result.status !== 'ok');
    expect(failed.map((result) => `${result.id} ${result.name}: ${'reason' in result ? result.reason : ''}`)).toEqual(
      [],
    );
  });

  it('passes every SHOULD and MAY too (the README would list any that did not, with the reason)', () => {
    const notOk = results.filter((result) => result.status !== 'ok');
    expect(notOk.map((result) => `${result.id} ${result.name}`)).toEqual([]);
    expect(results.length).toBeGreaterThan(50);
  });
});
