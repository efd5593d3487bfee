import { randomBytes } from 'node:crypto';

export interface FormPart {
  name: string;
  value: string | Buffer;
  /** Makes the part a file. */
  filename?: string;
  contentType?: string;
}

export interface MultipartBody {
  body: Buffer;
  headers: { 'content-type': string };
}

/** A multipart/form-data body with the parts in the order given, built by hand so tests can also break it. */
export function multipart(parts: FormPart[]): MultipartBody {
  const boundary = `----cheershare-test-${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`;
    if (part.filename !== undefined) head += `; filename="${part.filename}"`;
    head += '\r\n';
    if (part.contentType !== undefined || part.filename !== undefined) {
      head += `Content-Type: ${part.contentType ?? 'application/octet-stream'}\r\n`;
    }
    chunks.push(Buffer.from(`${head}\r\n`), Buffer.from(part.value), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

/** The two fields of an upload, in either order. */
export function uploadForm(
  file: Buffer,
  scheduledAt: string,
  options: { order?: 'file-first' | 'date-first'; filename?: string; contentType?: string } = {},
): MultipartBody {
  const filePart: FormPart = {
    name: 'file',
    value: file,
    filename: options.filename ?? 'creative.png',
    contentType: options.contentType ?? 'image/png',
  };
  const datePart: FormPart = { name: 'scheduled_at', value: scheduledAt };
  return multipart(options.order === 'file-first' ? [filePart, datePart] : [datePart, filePart]);
}
