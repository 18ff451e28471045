import type { Command } from 'commander';
import { resolveDataDir } from '../../data/datadir.js';
import { fetchData } from '../../data/fetch.js';
import { SOURCES } from '../../data/sources.js';
import { action } from '../run.js';

export function registerData(program: Command): void {
  const data = program.command('data').description('norms files: download and list');
  data
    .command('fetch')
    .description('download the official norms (Lancaster CSV, Dutch XLSX from OSF) into the data directory, verifying SHA-256')
    .argument('[sources...]', `which: ${SOURCES.map((s) => s.id).join(', ')} (default all)`)
    .option('--data-dir <dir>', 'data directory (default: SMFT_DATA_DIR or ./data)')
    .action(action(async (ids: string[], f: { dataDir?: string }) => {
      const files = await fetchData(resolveDataDir(f.dataDir), ids.length ? ids : undefined);
      process.stdout.write(files.join('\n') + '\n');
    }));
  data
    .command('sources')
    .description('list the official sources with URLs, checksums and citations')
    .action(action(() => {
      for (const s of SOURCES) process.stdout.write(`${s.id}\t${s.file}\t${s.url}\t${s.sha256 ?? '(pinned on first download)'}\n  ${s.citation}\n`);
    }));
}
