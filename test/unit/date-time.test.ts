import { Kind } from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildSubgraphSchema } from '../../src/schema/index.ts';

const schema = buildSubgraphSchema();

const DateTime = schema.getType('DateTime') as import('graphql').GraphQLScalarType;

describe('the DateTime scalar', () => {
  it('serializes epoch milliseconds and Dates as ISO-8601 in UTC', () => {
    expect(DateTime.serialize(Date.UTC(2030, 0, 2, 3, 4, 5, 6))).toBe('2030-01-02T03:04:05.006Z');
    expect(DateTime.serialize(new Date('2030-01-02T03:04:05+02:00'))).toBe('2030-01-02T01:04:05.000Z');
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, 1e20, new Date('nope'), 'yesterday', null, {}])(
    'refuses to serialize %s',
    (value) => {
      expect(() => DateTime.serialize(value)).toThrow(/DateTime/);
    },
  );

  it('parses RFC 3339 strings from variables and literals', () => {
    expect(DateTime.parseValue('2030-01-02T03:04:05Z')).toEqual(new Date(Date.UTC(2030, 0, 2, 3, 4, 5)));
    expect(DateTime.parseLiteral({ kind: Kind.STRING, value: '2030-01-02T03:04:05.000+01:00' }, {})).toEqual(
      new Date(Date.UTC(2030, 0, 2, 2, 4, 5)),
    );
  });

  it.each(['2030-13-01T00:00:00Z', '2030-01-01', 'tomorrow', '1700000000000'])('refuses to parse %j', (value) => {
    expect(() => DateTime.parseValue(value)).toThrow();
    expect(() => DateTime.parseLiteral({ kind: Kind.STRING, value }, {})).toThrow();
  });

  it('refuses a non-string literal', () => {
    expect(() => DateTime.parseLiteral({ kind: Kind.INT, value: '1700000000000' }, {})).toThrow();
  });
});
