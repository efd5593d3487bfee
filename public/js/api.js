/** The Cheershare HTTP API, as the spec describes it: JSON in and out, errors as {"error", "code", "field"}. */

export class ApiError extends Error {
  /** status 0 means the server could not be reached; `code` is the API's stable name for the error. */
  constructor(status, message, { code = null, field = null, retryAfterSeconds = null } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

const UNREACHABLE = "Can't reach the server. Check your connection and try again.";

let token = null;
let onSessionEnded = () => {};

/** Protected calls carry this token; a 401 on one of them ends the session through `onEnded`. */
export function useToken(newToken, onEnded) {
  token = newToken;
  if (onEnded) onSessionEnded = onEnded;
}

function errorFrom(status, body, retryAfterHeader) {
  // Without its final full stop the message fits inside the client's own sentences.
  const message = body && typeof body.error === 'string' ? body.error.replace(/\.$/, '') : `the server answered ${status}`;
  return new ApiError(status, message, {
    code: typeof body?.code === 'string' ? body.code : null,
    field: typeof body?.field === 'string' ? body.field : null,
    retryAfterSeconds: parseRetryAfter(retryAfterHeader),
  });
}

/** Retry-After is seconds or an HTTP date; either way, whole seconds from now (at least 1). */
export function parseRetryAfter(value, now = Date.now()) {
  if (!value) return null;
  const seconds = /^\d+$/.test(value.trim()) ? Number(value) : Math.ceil((Date.parse(value) - now) / 1000);
  return Number.isFinite(seconds) ? Math.max(1, seconds) : null;
}

function endSessionOn(error, authenticated) {
  if (authenticated && error.status === 401) onSessionEnded(error);
  return error;
}

/** `request('POST', '/signup', body)`; resolves with the parsed body (null for 204). */
export async function request(method, path, body, { authenticated = true } = {}) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  const sendToken = authenticated && token;
  if (sendToken) headers.authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, UNREACHABLE);
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw endSessionOn(errorFrom(response.status, data, response.headers.get('retry-after')), sendToken);
  return data;
}

/**
 * POST /upload-creative through XMLHttpRequest, because fetch cannot report upload progress.
 * `onProgress(fraction)` follows the bytes sent; resolves with the creative.
 */
export function uploadCreative(file, scheduledAt, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/upload-creative');
    xhr.responseType = 'json';
    if (token) xhr.setRequestHeader('authorization', `Bearer ${token}`);
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.upload.addEventListener('load', () => onProgress(1));
    xhr.addEventListener('load', () => {
      if (xhr.status === 201) return resolve(xhr.response.creative);
      reject(endSessionOn(errorFrom(xhr.status, xhr.response, xhr.getResponseHeader('retry-after')), Boolean(token)));
    });
    // The server may close the connection while refusing a large body; the browser reports no status then.
    xhr.addEventListener('error', () => reject(new ApiError(0, UNREACHABLE)));
    const form = new FormData();
    form.append('scheduled_at', scheduledAt);
    form.append('file', file);
    xhr.send(form);
  });
}

/** Any other failure, in words a person can act on. */
export function plainError(error) {
  if (!(error instanceof ApiError)) return 'Something went wrong in this page. Reload it and try again.';
  if (error.status === 0) return error.message;
  if (error.status >= 500) return 'The server had a problem. Try again in a moment.';
  return `The server refused this: ${error.message}.`;
}
