/** Shared pieces of the benchmarks: command-line flags and the model shape they measure. */
import { parseConfig, type LmConfig } from '../../src/lm/config.js';

/** The value after `--name` on the command line, else `dflt`. */
export function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

/** Qwen2.5-0.5B's architecture (hidden 896, 14 heads, 2 KV heads, intermediate 4864, vocab 151 936) with `layers` decoder layers. */
export function qwen05Shape(layers = 24): LmConfig {
  return parseConfig({
    architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_size: 896, intermediate_size: 4864,
    num_hidden_layers: layers, num_attention_heads: 14, num_key_value_heads: 2, vocab_size: 151936,
    rms_norm_eps: 1e-6, rope_theta: 1000000, max_position_embeddings: 32768, tie_word_embeddings: true,
    use_sliding_window: false, sliding_window: 32768, hidden_act: 'silu',
  });
}
