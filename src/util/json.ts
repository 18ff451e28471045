import { SmftError } from './errors.js';
import { readText } from '../data/csv.js';

/** Read a JSON file; a syntax error is one line naming the file. */
export function readJsonFile<T>(file: string): T {
  const text = readText(file);
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new SmftError(`not valid JSON (${(e as Error).message})`, file);
  }
}
