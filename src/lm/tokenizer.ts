import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { PreTrainedTokenizer } from '@huggingface/transformers';
import { SmftError } from '../util/errors.js';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/**
 * The model folder's tokenizer (tokenizer.json + tokenizer_config.json) through
 * @huggingface/transformers, strictly offline, with the chat template when it has one
 * (tokenizer_config.json `chat_template` or a `chat_template.jinja` file).
 */
export class LmTokenizer {
  private constructor(
    private readonly tok: PreTrainedTokenizer,
    private readonly chatTemplate: string | null,
    readonly dir: string,
  ) {}

  static async load(dir: string): Promise<LmTokenizer> {
    const abs = resolve(dir);
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) {
      const p = join(abs, f);
      if (!existsSync(p)) throw new SmftError(`${f} not found (smft needs a fast tokenizer: tokenizer.json + tokenizer_config.json)`, abs);
      try {
        JSON.parse(readFileSync(p, 'utf8'));
      } catch (e) {
        throw new SmftError(`invalid JSON (${(e as Error).message.split('\n')[0]})`, p);
      }
    }
    const hf = await import('@huggingface/transformers');
    hf.env.allowRemoteModels = false;
    hf.env.allowLocalModels = true;
    let tok: PreTrainedTokenizer;
    try {
      tok = await hf.AutoTokenizer.from_pretrained(abs, { local_files_only: true });
    } catch (e) {
      throw new SmftError(`cannot load tokenizer: ${(e as Error).message.split('\n')[0]}`, abs);
    }
    let template: string | null = typeof tok.chat_template === 'string' && tok.chat_template ? tok.chat_template : null;
    const jinja = join(abs, 'chat_template.jinja');
    if (template === null && existsSync(jinja)) template = readFileSync(jinja, 'utf8');
    return new LmTokenizer(tok, template, abs);
  }

  get hasChatTemplate(): boolean {
    return this.chatTemplate !== null;
  }

  /** Token ids of `text`; `addSpecialTokens` adds what the post-processor adds (e.g. Llama's BOS). */
  encode(text: string, { addSpecialTokens = true }: { addSpecialTokens?: boolean } = {}): number[] {
    return this.tok.encode(text, { add_special_tokens: addSpecialTokens });
  }

  decode(ids: number[], { skipSpecialTokens = false }: { skipSpecialTokens?: boolean } = {}): string {
    return this.tok.decode(ids, { skip_special_tokens: skipSpecialTokens, clean_up_tokenization_spaces: false });
  }

  /** Render messages with the chat template (text, not ids); ends with the assistant prompt. */
  applyChatTemplate(messages: ChatMessage[], { addGenerationPrompt = true }: { addGenerationPrompt?: boolean } = {}): string {
    if (this.chatTemplate === null) throw new SmftError('the tokenizer has no chat template', this.dir);
    try {
      return this.tok.apply_chat_template(messages, {
        tokenize: false,
        add_generation_prompt: addGenerationPrompt,
        chat_template: this.chatTemplate,
      }) as unknown as string;
    } catch (e) {
      throw new SmftError(`chat template failed: ${(e as Error).message.split('\n')[0]}`, this.dir);
    }
  }

  /** The id of `text` when it encodes to exactly one token (no special tokens), else undefined. */
  singleTokenId(text: string): number | undefined {
    const ids = this.encode(text, { addSpecialTokens: false });
    return ids.length === 1 ? ids[0] : undefined;
  }

  /** Id to pad with (never attended to): pad, else eos, else 0. */
  get padTokenId(): number {
    return this.tok.pad_token_id ?? this.tok.eos_token_id ?? 0;
  }

  /** End-of-sequence token id, when the tokenizer has one. */
  get eosTokenId(): number | undefined {
    return this.tok.eos_token_id ?? undefined;
  }

  get vocabSize(): number {
    return this.tok.get_vocab().size;
  }
}
