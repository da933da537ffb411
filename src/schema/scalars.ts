import { GraphQLScalarType } from 'graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { builder } from './builder.ts';

// graphql-scalars parses RFC 3339 strictly, but its serializer turns an invalid Date or NaN
// into the string "Invalid Date"; this guard makes such a value an error instead.
const DateTime = new GraphQLScalarType({
  ...DateTimeResolver.toConfig(),
  description: 'A point in time as an ISO-8601 / RFC 3339 string in UTC, e.g. `2026-11-25T12:00:00.000Z`.',
  serialize(value) {
    const date = value instanceof Date ? value : typeof value === 'number' ? new Date(value) : undefined;
    if (date === undefined || Number.isNaN(date.getTime())) {
      throw new TypeError('DateTime cannot represent a value that is not a valid Date or epoch milliseconds');
    }
    return date.toISOString();
  },
});

builder.addScalarType('DateTime', DateTime);
