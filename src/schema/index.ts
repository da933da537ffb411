import { builder } from './builder.ts';
import './scalars.ts';
import './errors.ts';
import './conversation-session.ts';
import './service.ts';

/** The public schema, built once at import. */
export const schema = builder.toSchema();
