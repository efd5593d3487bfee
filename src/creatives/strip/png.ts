import { createInflate, crc32 } from 'node:zlib';
import { damaged, need, Parts, type StrippedImage } from './structure.ts';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Chunks that draw the image or say how its colours are meant: the header, palette, pixel data,
 * transparency, gamma and colour space (cHRM, gAMA, iCCP, sRGB, cICP, mDCV, cLLI), significant
 * bits, background, histogram, pixel size, suggested palettes, and APNG's animation. Text (tEXt,
 * zTXt, iTXt), EXIF (eXIf), the time (tIME) and any chunk a program made up are left out.
 */
const IMAGE_CHUNKS = new Set([
  'IHDR',
  'PLTE',
  'IDAT',
  'IEND',
  'tRNS',
  'cHRM',
  'gAMA',
  'iCCP',
  'sBIT',
  'sRGB',
  'cICP',
  'mDCV',
  'cLLI',
  'bKGD',
  'hIST',
  'pHYs',
  'sPLT',
  'acTL',
  'fcTL',
  'fdAT',
]);

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

interface Header {
  width: number;
  height: number;
  bitsPerPixel: number;
  interlaced: boolean;
}

/** One APNG frame after the first: its size and the zlib stream its fdAT chunks carry. */
interface LaterFrame {
  width: number;
  height: number;
  data: Uint8Array[];
}

/**
 * Keeps the chunks of IMAGE_CHUNKS, byte for byte, up to IEND; each kept chunk's CRC must match.
 * An APNG's frames after the first (which libvips does not decode) are checked to inflate to
 * exactly the rows their size needs.
 */
export function stripPng(bytes: Buffer): StrippedImage {
  need(bytes, SIGNATURE.length);
  if (!bytes.subarray(0, SIGNATURE.length).equals(SIGNATURE)) throw damaged('it does not start like a PNG');
  const parts = new Parts();
  parts.keep(bytes, 0, SIGNATURE.length);
  let header: Header | undefined;
  let declaredFrames = 1;
  const frames: LaterFrame[] = [];
  let seenImageData = false;
  let frameControls = 0;
  for (let at = SIGNATURE.length; ;) {
    need(bytes, at + 8);
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString('latin1', at + 4, at + 8);
    const end = at + 12 + length;
    need(bytes, end);
    const data = bytes.subarray(at + 8, at + 8 + length);
    if (header === undefined && type !== 'IHDR') throw damaged('a PNG must start with its header');
    if (IMAGE_CHUNKS.has(type)) {
      if (crc32(bytes.subarray(at + 4, at + 8 + length)) !== bytes.readUInt32BE(at + 8 + length))
        throw damaged(`a ${type} chunk's checksum does not match`);
      parts.keep(bytes, at, end);
    }
    if (type === 'IHDR') header = readHeader(data);
    else if (type === 'acTL') declaredFrames = data.readUInt32BE(0);
    else if (type === 'IDAT') seenImageData = true;
    else if (type === 'fcTL') {
      frameControls++;
      if (seenImageData) frames.push(laterFrame(data, header!));
    } else if (type === 'fdAT') (frames.at(-1) ?? failNoFrame()).data.push(data.subarray(4));
    if (type === 'IEND') break;
    at = end;
  }
  if (!seenImageData || !header) throw damaged('the PNG has no image data');
  const decodedHeader = header;
  return {
    parts: parts.done(),
    frames: Math.max(1, declaredFrames, frameControls),
    verify: () => Promise.all(frames.map((frame) => inflatesWhole(frame, decodedHeader))).then(() => {}),
  };
}

function failNoFrame(): never {
  throw damaged('animation data comes before its frame');
}

function laterFrame(control: Buffer, header: Header): LaterFrame {
  need(control, 26);
  const [width, height, x, y] = [0, 4, 8, 12].map((at) => control.readUInt32BE(4 + at)) as [number, number, number, number];
  if (x + width > header.width || y + height > header.height) throw damaged('an animation frame lies outside the image');
  return { width, height, data: [] };
}

function readHeader(data: Buffer): Header {
  need(data, 13);
  const channels = CHANNELS[data[9]!];
  if (channels === undefined) throw damaged('the PNG colour type is unknown');
  return {
    width: data.readUInt32BE(0),
    height: data.readUInt32BE(4),
    bitsPerPixel: channels * data[8]!,
    interlaced: data[12] === 1,
  };
}

/** Adam7's passes: first column and row, and the step between them. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/** Bytes of filtered scanlines (each with its filter byte) of a `width` × `height` image. */
function scanlineBytes(width: number, height: number, { bitsPerPixel, interlaced }: Header): number {
  const rows = (w: number, h: number) => (w === 0 || h === 0 ? 0 : h * (1 + Math.ceil((w * bitsPerPixel) / 8)));
  if (!interlaced) return rows(width, height);
  return ADAM7.reduce(
    (sum, [x, y, dx, dy]) => sum + rows(Math.max(0, Math.ceil((width - x) / dx)), Math.max(0, Math.ceil((height - y) / dy))),
    0,
  );
}

/** Streams the frame's data through zlib, counting what comes out without keeping it. */
function inflatesWhole(frame: LaterFrame, header: Header): Promise<void> {
  const expected = scanlineBytes(frame.width, frame.height, header);
  return new Promise((resolve, reject) => {
    const inflate = createInflate();
    let produced = 0;
    inflate.on('data', (chunk: Buffer) => {
      produced += chunk.length;
      if (produced > expected) inflate.destroy(damaged('an animation frame holds more data than its size'));
    });
    inflate.once('error', (error) =>
      reject(
        error instanceof Error && error.name === 'NotWholeImage' ? error : damaged('an animation frame does not decompress'),
      ),
    );
    inflate.once('end', () => (produced === expected ? resolve() : reject(damaged('an animation frame is incomplete'))));
    for (const part of frame.data) inflate.write(part);
    inflate.end();
  });
}
