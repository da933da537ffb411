// `npm start`'s entry, in plain JavaScript so that any Node can read it: it checks the Node
// version before loading TypeScript (which Node 20 cannot even load), then runs the sources in
// development and the compiled build (`npm run build`, dist/) with NODE_ENV=production.
// The image runs dist/server.js itself. It reads NODE_ENV here, before the configuration
// exists, only to choose which of the two to load; the configuration reads it again.
import { existsSync, readFileSync } from 'node:fs';

const NAME = 'chatbotkit-session-gateway';
const wanted = readFileSync(new URL('.nvmrc', import.meta.url), 'utf8').trim();

if (process.versions.node.split('.')[0] !== wanted) {
  refuse(
    `needs Node ${wanted} (.nvmrc) but runs on Node ${process.versions.node}: run \`npm rebuild node\` ` +
      `(npm ci --ignore-scripts leaves the pinned Node uninstalled), or start it with Node ${wanted}`,
  );
}

const production = process.env.NODE_ENV?.trim().toLowerCase() === 'production';
const compiled = new URL('dist/server.js', import.meta.url);
if (production && !existsSync(compiled)) {
  refuse('NODE_ENV=production runs the compiled build, and dist/ has none: run `npm run build` first');
}
await import(production ? compiled.href : new URL('src/server.ts', import.meta.url).href);

function refuse(line) {
  console.error(`${NAME}: ${line}`);
  process.exit(1);
}
