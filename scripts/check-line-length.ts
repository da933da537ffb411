import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/*
 * Biome's formatter keeps code within 120 columns but leaves long strings and comments as they
 * are, and it has no rule for them; this finds those lines in the TypeScript the project tracks.
 */
const MAX_COLUMNS = 120;
const GENERATED = /^examples\/generated\//;

const files = execFileSync('git', ['ls-files', '*.ts'], { encoding: 'utf8' })
  .split('\n')
  .filter((file) => file && !GENERATED.test(file));
const long = files.flatMap((file) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line, index) => ([...line].length > MAX_COLUMNS ? [`${file}:${index + 1}`] : [])),
);
if (long.length > 0) {
  console.error(`${long.length} lines over ${MAX_COLUMNS} characters:\n${long.join('\n')}`);
  process.exit(1);
}
