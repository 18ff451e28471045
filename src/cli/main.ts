#!/usr/bin/env node
import { Command } from 'commander';
import { smftVersion } from '../eval/provenance.js';
import { registerData } from './commands/data.js';
import { registerEvaluate } from './commands/evaluate.js';
import { registerReport } from './commands/report.js';
import { registerSplit } from './commands/split.js';
import { registerRate } from './commands/rate.js';
import { registerTrain } from './commands/train.js';
import { registerMerge, registerTrajectory } from './commands/train-lora.js';
import { registerReproduce } from './commands/reproduce.js';
import { registerServe } from './commands/serve.js';
import { registerExport } from './commands/export.js';
import { choiceOption } from './run.js';
import { configureLogging, LOG_FORMATS } from '../util/log.js';

/** The smft command line: a thin layer over the library in src/. */
const program = new Command();
program
  .name('smft')
  .description('Fine-tune LLMs on human sensorimotor norms and measure their alignment with RSA')
  .version(smftVersion())
  .showHelpAfterError(false)
  .configureOutput({ outputError: (str, write) => write(`smft: error: ${str.replace(/^error: /, '').trim()}\n`) })
  .exitOverride((err) => { process.exit(err.exitCode === 0 ? 0 : 2); })
  .option('--log-format <format>', 'log lines on stderr: pretty (for people), json (one object a line) or auto: pretty on a terminal, else json (also SMFT_LOG_FORMAT)', choiceOption('log-format', LOG_FORMATS))
  .option('--verbose', 'debug log lines, and what TF.js and the GPU probe print (also SMFT_LOG_LEVEL=debug)')
  .option('--quiet', 'warnings and errors only, no progress bars (also SMFT_LOG_LEVEL=warn)')
  .hook('preAction', () => {
    const o = program.opts<{ logFormat?: string; verbose?: boolean; quiet?: boolean }>();
    configureLogging({ format: o.logFormat, verbose: o.verbose, quiet: o.quiet });
  });

registerEvaluate(program);
registerData(program);
registerReport(program);
registerSplit(program);
registerRate(program);
registerTrain(program);
registerMerge(program);
registerTrajectory(program);
registerReproduce(program);
registerServe(program);
registerExport(program);

await program.parseAsync(process.argv);
