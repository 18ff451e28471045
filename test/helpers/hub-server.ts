/**
 * A local stand-in for the Hugging Face hub (node:http, port 0) with the endpoints smft uses
 * through @huggingface/hub: model info (`/api/models/<id>/revision/<rev>`), the file tree
 * (`/api/models/<id>/tree/<rev>`, LFS entries with their SHA-256) and `/<id>/resolve/<rev>/<path>`
 * with ETag / X-Linked-ETag / X-Linked-Size and HTTP Range. It can cut a connection mid-file,
 * serve bytes that do not match the announced hash, and refuse access (gated models).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';

export interface HubFile { path: string; content: Buffer; lfs: boolean }

export interface HubRepo {
  id: string;
  files: HubFile[];
  /** 401 for every request (a gated model without a token). */
  gated?: boolean;
}

export interface HubBehaviour {
  /** Cut the connection after `bytes` bytes of this file, the first `times` downloads. */
  cut?: { path: string; bytes: number; times: number };
  /** Serve this file with one byte changed (the tree still announces the true hash). */
  corrupt?: string;
}

export interface HubServer {
  url: string;
  /** Every request: method, path and Range header. */
  log: Array<{ method: string; url: string; range?: string }>;
  close(): Promise<void>;
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const gitOid = (b: Buffer): string => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
const COMMIT = 'c0ffee'.padEnd(40, '0');

/** The files of a local folder as a repo (`.safetensors` as LFS files), plus `extra` files. */
export function repoFromFolder(id: string, dir: string, extra: HubFile[] = []): HubRepo {
  const files: HubFile[] = [];
  const walk = (d: string): void => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f !== 'golden.json') files.push({ path: relative(dir, p), content: readFileSync(p), lfs: f.endsWith('.safetensors') });
    }
  };
  walk(dir);
  for (const e of extra) {
    const i = files.findIndex((f) => f.path === e.path);
    if (i >= 0) files[i] = e; else files.push(e);
  }
  return { id, files };
}

function pointer(f: HubFile): Buffer {
  return Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(f.content)}\nsize ${f.content.length}\n`);
}

export async function startHubServer(repos: HubRepo[], behaviour: HubBehaviour = {}): Promise<HubServer> {
  const log: HubServer['log'] = [];
  let cuts = 0;
  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const u = new URL(req.url ?? '/', 'http://x');
    const path = decodeURIComponent(u.pathname);
    log.push({ method: req.method ?? '', url: req.url ?? '', range: req.headers.range });
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/(revision|tree)\/([^/]+)\/?(.*)$/.exec(path);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    const repo = repos.find((r) => r.id === (api?.[1] ?? resolve?.[1]));
    if (!repo) return json(res, 404, { error: 'Repository not found' }, { 'X-Error-Code': 'RepoNotFound' });
    if (repo.gated) return json(res, 401, { error: 'Access to this model is restricted' }, { 'X-Error-Code': 'GatedRepo' });
    if (api?.[2] === 'revision') {
      return json(res, 200, { _id: 'x', id: repo.id, sha: COMMIT, private: false, gated: false, downloads: 0, likes: 0, lastModified: '2026-01-01T00:00:00.000Z', siblings: repo.files.map((f) => ({ rfilename: f.path })) });
    }
    if (api?.[2] === 'tree') {
      return json(res, 200, repo.files.map((f) => f.lfs
        ? { type: 'file', oid: gitOid(pointer(f)), size: pointer(f).length, path: f.path, lfs: { oid: sha256(f.content), size: f.content.length, pointerSize: pointer(f).length } }
        : { type: 'file', oid: gitOid(f.content), size: f.content.length, path: f.path }));
    }
    const file = repo.files.find((f) => f.path === resolve?.[3]);
    if (!file) return json(res, 404, { error: 'Entry not found' }, { 'X-Error-Code': 'EntryNotFound' });
    let body = file.content;
    if (behaviour.corrupt === file.path) { body = Buffer.from(body); body[body.length >> 1] ^= 0x5a; }
    const size = body.length;
    const headers: Record<string, string> = {
      'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream', 'X-Repo-Commit': COMMIT,
      ETag: `"${file.lfs ? sha256(file.content) : gitOid(file.content)}"`,
    };
    if (file.lfs) { headers['X-Linked-Etag'] = `"${sha256(file.content)}"`; headers['X-Linked-Size'] = String(size); }
    let start = 0, end = size - 1, status = 200;
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (m) {
      start = Number(m[1]);
      end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
      if (start >= size) { res.writeHead(416, { 'Content-Range': `bytes */${size}` }); return void res.end(); }
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    }
    const part = body.subarray(start, end + 1);
    headers['Content-Length'] = String(part.length);
    res.writeHead(status, headers);
    if (req.method === 'HEAD') return void res.end();
    const cut = behaviour.cut;
    if (cut && cut.path === file.path && part.length > 1 && cuts < cut.times) {
      cuts++;
      // Half of what was asked for arrives, then the connection drops.
      const n = Math.max(1, Math.min(cut.bytes, part.length - 1));
      res.write(part.subarray(0, n), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(part);
  };
  const server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
