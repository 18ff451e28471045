import type * as Ort from 'onnxruntime-node';
import { SmftError } from '../../util/errors.js';

let ortModule: Promise<typeof Ort> | undefined;

/** onnxruntime-node, imported on first use (its native library loads only when rating with it). */
export function loadOrt(): Promise<typeof Ort> {
  ortModule ??= import('onnxruntime-node')
    .then((m) => ((m as unknown as { default?: typeof Ort }).default ?? m) as typeof Ort)
    .catch((e: Error) => {
      ortModule = undefined;
      throw new SmftError(`ONNX Runtime (onnxruntime-node) cannot be loaded on this machine: ${e.message.split('\n')[0]}`);
    });
  return ortModule;
}

/** Whether onnxruntime-node loads here (for --backend auto). */
export async function ortAvailable(): Promise<boolean> {
  try {
    await loadOrt();
    return true;
  } catch {
    return false;
  }
}
