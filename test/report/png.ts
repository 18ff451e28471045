/** A minimal PNG reader for the tests (8-bit, non-interlaced greyscale/RGB/RGBA), and pixel stats. */
import { inflateSync } from 'node:zlib';

export interface Image { width: number; height: number; channels: number; data: Uint8Array }

const SIGNATURE = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);

export function isPng(buf: Uint8Array): boolean {
  return buf.length > 8 && Buffer.from(buf.subarray(0, 8)).equals(SIGNATURE);
}

export function decodePng(input: Uint8Array): Image {
  const buf = Buffer.from(input);
  if (!isPng(buf)) throw new Error('not a PNG (bad signature)');
  let off = 8, width = 0, height = 0, bitDepth = 0, colorType = 0, interlace = 0;
  const idat: Buffer[] = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('ascii', off + 4, off + 8);
    const body = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0); height = body.readUInt32BE(4);
      bitDepth = body[8]; colorType = body[9]; interlace = body[12];
    } else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    off += 12 + len;
  }
  const channels = ({ 0: 1, 2: 3, 4: 2, 6: 4 } as Record<number, number>)[colorType];
  if (bitDepth !== 8 || !channels || interlace !== 0) throw new Error(`unsupported PNG: depth ${bitDepth}, colour type ${colorType}, interlace ${interlace}`);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const data = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? data[y * stride + x - channels] : 0;
      const b = y > 0 ? data[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? data[(y - 1) * stride + x - channels] : 0;
      let v = line[x];
      switch (filter) {
        case 0: break;
        case 1: v += a; break;
        case 2: v += b; break;
        case 3: v += (a + b) >> 1; break;
        case 4: {
          const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
          v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default: throw new Error(`bad PNG filter ${filter}`);
      }
      data[y * stride + x] = v & 255;
    }
  }
  return { width, height, channels, data };
}

/** Pixels as packed 0xRRGGBB, alpha composited on white. */
function packed(img: Image): Uint32Array {
  const n = img.width * img.height, d = img.data, ch = img.channels;
  const out = new Uint32Array(n);
  for (let i = 0, o = 0; i < n; i++, o += ch) {
    let r: number, g: number, b: number, a = 255;
    if (ch <= 2) { r = g = b = d[o]; if (ch === 2) a = d[o + 1]; } else { r = d[o]; g = d[o + 1]; b = d[o + 2]; if (ch === 4) a = d[o + 3]; }
    if (a !== 255) {
      const f = a / 255;
      r = Math.round(r * f + 255 * (1 - f)); g = Math.round(g * f + 255 * (1 - f)); b = Math.round(b * f + 255 * (1 - f));
    }
    out[i] = (r << 16) | (g << 8) | b;
  }
  return out;
}

export interface PixelStats { nonWhite: number; distinct: number; count: (r: number, g: number, b: number, tol?: number) => number }

/** Share of pixels that are not (near) white, number of distinct colours, and a colour counter. */
export function pixelStats(img: Image): PixelStats {
  const px = packed(img);
  let nonWhite = 0;
  const colours = new Set<number>();
  for (const p of px) {
    if ((p >> 16) < 245 || ((p >> 8) & 255) < 245 || (p & 255) < 245) nonWhite++;
    colours.add(p);
  }
  return {
    nonWhite: nonWhite / px.length,
    distinct: colours.size,
    count(r0, g0, b0, tol = 12) {
      let c = 0;
      for (const p of px) {
        if (Math.abs((p >> 16) - r0) <= tol && Math.abs(((p >> 8) & 255) - g0) <= tol && Math.abs((p & 255) - b0) <= tol) c++;
      }
      return c;
    },
  };
}
